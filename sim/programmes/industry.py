"""Industry support (产业扶贫): grants and interest-subsidised microcredit for own production.

Needs labour; income flows after a start-up delay and is exposed to the county's market shock
that year; some projects fail (no income). Cost: one-off grant plus interest subsidy per year.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import BASE_PARAMETERS, NUMBER, Programme


class Industry(Programme):
    name = "industry"
    label = "产业扶贫 industry support and microcredit"
    development = True
    parameters = {**BASE_PARAMETERS, "failure_rate": NUMBER}
    streams = {"industry_failure": 11}

    def fits(self, hh):
        return hh.labour > 0

    def benefit_at_enrolment(self, hh, idx):
        base = super().benefit_at_enrolment(hh, idx)
        # One draw per household for the whole run, so that a household's project fails or not
        # whichever year a budget option enrols it (common random numbers).
        u = self.ctx.streams.uniform("industry_failure", -1, hh.n)
        failed = u[idx] < self.p["failure_rate"]
        return np.where(failed, np.float32(0), base)

    _base = None        # the base class's gain the cached product was made from
    _base_january = -1  # and the year (its January) whose market factors it holds

    def monthly_gain(self, hh, idx):
        # The market factors are set each January, so the product changes only with the base gain.
        base = super().monthly_gain(hh, idx)
        january = self.ctx.clock.january
        if base is not self._base or january != self._base_january:
            self._product = base * self.ctx.counties.market_factor.take(hh.county[idx])
            self._base, self._base_january = base, january
        return self._product

    def release_year(self):
        super().release_year()
        self._base = self._product = None
