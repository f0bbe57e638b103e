"""Employment support (就业扶贫): training and placement in jobs away from home, village workshops
(扶贫车间) and public-welfare posts (公益性岗位). Needs labour; wages flow while the job is held,
so the monthly job-loss shock ends them until the household finds work again.
"""

from __future__ import annotations

from ..core.programme import Programme


class Employment(Programme):
    name = "employment"
    label = "就业扶贫 employment: training and placement"

    def fits(self, hh):
        return hh.labour > 0

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.employed[idx] = True
        hh.had_job[idx] = True  # a placed worker who loses the job looks for another

    def monthly_gain(self, hh, idx):
        return super().monthly_gain(hh, idx) * hh.employed[idx]
