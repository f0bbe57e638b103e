"""Employment support (就业扶贫): training and placement in jobs away from home or in village
workshops (扶贫车间) for households with labour; public-welfare posts (公益性岗位: cleaners, road
keepers, school helpers) for households whose members can do only light work (001 §二(一)7).

A market job's wage flows while the job is held, so the monthly job-loss shock ends it until the
household finds work again; the training is paid once. A post is stable (003 §二(四) keeps posts
from falling: 三个不减): it is renewed every January while the household is served or within its
exit window, its wage is what the programme pays for it, and it ends when the money stops.
"""

from __future__ import annotations

import numpy as np

from ..core import kernels
from ..core.programme import BASE_PARAMETERS, NUMBER, Programme
from ..core.state import MONTHS, Column


class Employment(Programme):
    name = "employment"
    label = "就业扶贫 employment: training and placement, public-welfare posts"
    development = True
    parameters = {**BASE_PARAMETERS, "post_wage": NUMBER}
    columns = {"post": Column("bool", "placed in a public-welfare post (公益性岗位) rather than a market job; paid while supported")}

    def fits(self, hh):
        return (hh.labour > 0) | (hh.light_work > 0)

    def _is_post(self, hh, idx):
        """Post holders, and newcomers without full labour (who are offered a post)."""
        return hh.post[idx] | ((hh.enrolled_month[self.index][idx] < 0) & (hh.labour[idx] == 0))

    def _post_cost(self):
        return self.p["post_wage"] * self.price_index()

    def first_year_cost(self, hh, idx):
        return np.where(self._is_post(hh, idx), self._post_cost(), super().first_year_cost(hh, idx))

    def annual_cost(self, hh, idx):
        return np.where(self._is_post(hh, idx), self._post_cost(), super().annual_cost(hh, idx))

    def continuing(self, hh):
        """Placed workers within their support, and post holders whose post ran to this January."""
        holding = hh.post & (hh.support_end[self.index] >= self.ctx.clock.month)
        return (self.supported(hh) | holding) & self.within_exit_window(hh)

    def benefit_at_enrolment(self, hh, idx):
        return np.where(self._is_post(hh, idx), np.float32(self.p["post_wage"]),
                        super().benefit_at_enrolment(hh, idx)).astype(np.float32)

    def enrol(self, hh, idx):
        post = self._is_post(hh, idx)
        hh.post[idx[post]] = True  # before the benefit is set: it depends on the kind of placement
        super().enrol(hh, idx)
        market = idx[~post]
        hh.employed[market] = True
        hh.had_job[market] = True  # a placed worker who loses the job looks for another

    def renew(self, hh, idx):
        held = idx[hh.post[idx]]
        hh.support_end[self.index][held] = self.ctx.clock.month + MONTHS

    def stop(self, hh, idx):
        super().stop(hh, idx)
        hh.post[idx] = False

    def flow_month(self, hh):
        # A post pays while the programme pays for it; a market job while it is held, which the
        # job shocks change from month to month: the members' wages are added where they flow
        # in one compiled pass (a gain made and filtered anew each month cost several).
        idx = self.members(hh)
        kernels.wage_flow(idx, self.monthly_gain(hh, idx), hh.post, hh.employed, hh.support_end[self.index],
                          self.ctx.clock.month, hh.income_year, hh.contribution[self.index])
