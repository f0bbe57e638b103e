"""Relocation (易地扶贫搬迁) of households living where "the land cannot feed its people".

A large one-off cost per person (000 box 30); after the building delay the household moves:
housing becomes safe, part of its farm income is lost, and follow-up jobs add wage income that
grows over ``maturity_years`` as employment at the site takes hold (后续扶持, 003 §二(四)). The exits of relocated households are the relocation's pathway.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import BASE_PARAMETERS, NUMBER, Programme
from ..core.state import MONTHS


class Relocation(Programme):
    name = "relocation"
    label = "易地扶贫搬迁 relocation"
    development = True
    parameters = {**BASE_PARAMETERS, "farm_income_lost": NUMBER}

    def reachable(self, hh):
        return super().reachable(hh) & hh.relocation_area

    def tier(self, hh, idx):
        return np.zeros(len(idx), dtype=np.int8)

    def claims_exit(self, hh, idx):
        """A relocated household's exit is the relocation's: the move gave it safe housing and a
        place where work can be had (001 §二(一)9 counts the exits of those moved)."""
        return hh.relocated[idx]

    def flow_month(self, hh):
        month = self.ctx.clock.month
        idx = self.members(hh)  # the households ever enrolled, in household order
        start = hh.enrolled_month[self.index][idx].astype(np.int32)
        moving = idx[start + self.p["delay_months"] == month]
        if moving.size:
            hh.housing_safe[moving] = True
            hh.relocation_area[moving] = False
            hh.relocated[moving] = True
            kept = np.float32(1 - self.p["farm_income_lost"])
            hh.farm[moving] *= kept
            hh.year_farm[moving] *= kept  # from next month's accrual on, this year too
        super().flow_month(hh)
        # The contribution is net: wages gained less the farm income given up by moving.
        moved = idx[start + self.p["delay_months"] < month]
        if moved.size:
            lost = self.p["farm_income_lost"]
            hh.contribution[self.index][moved] -= hh.year_farm[moved] * np.float32(lost / (1 - lost) / MONTHS)
