"""Ecological compensation (生态补偿): forest-ranger posts (生态护林员) for registered households
that live in ecological function areas and can work (000 ch. 48 names it as an exit pathway).

A post pays a yearly wage from the programme's budget for ``support_years``, renewed while the
household is served by the register or within ``continue_after_exit_years`` of its exit; the
wage is the programme's contribution. Which households live in such areas is drawn once at the
start, with the programme's own random stream, from ``area_share``.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import BASE_PARAMETERS, NUMBER, Programme
from ..core.state import Column


class Ecology(Programme):
    name = "ecology"
    label = "生态补偿 ecological compensation: forest-ranger posts"
    parameters = {**{k: v for k, v in BASE_PARAMETERS.items() if k not in ("effect", "effect_basis")},
                  "area_share": NUMBER}
    columns = {"ecological_area": Column("bool", "lives in an ecological function area with ranger posts")}
    streams = {"ecology_area": 15}

    def initialise(self, hh):
        hh.ecological_area[:] = self.ctx.streams.uniform("ecology_area", 0, hh.n) < self.p["area_share"]

    def reachable(self, hh):
        return super().reachable(hh) & hh.ecological_area

    def fits(self, hh):
        return hh.labour > 0

    def benefit_at_enrolment(self, hh, idx):
        """The post's wage is what the budget pays for it each year."""
        return self.annual_cost(hh, idx).astype(np.float32)
