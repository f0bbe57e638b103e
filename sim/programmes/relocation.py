"""Relocation (易地扶贫搬迁) of households living where "the land cannot feed its people".

A large one-off cost per person (000 box 30); after the building delay the household moves:
housing becomes safe, part of its farm income is lost, and follow-up jobs add wage income
(后续扶持, 003 三个不减).
"""

from __future__ import annotations

import numpy as np

from ..state import Status
from .base import MONTHS, Programme


class Relocation(Programme):
    name = "relocation"
    label = "易地扶贫搬迁 relocation"

    def reachable(self, hh):
        return (hh.status == Status.POOR) & hh.relocation_area

    def tier(self, hh, idx):
        return np.zeros(len(idx), dtype=np.int8)

    def apply_month(self, hh):
        start = hh.enrolled_month[self.index].astype(np.int32)
        moving = np.flatnonzero((start >= 0) & (start + self.p["delay_months"] == self.model.month))
        if moving.size:
            hh.housing_safe[moving] = True
            hh.relocation_area[moving] = False
            kept = np.float32(1 - self.p["farm_income_lost"])
            hh.farm[moving] *= kept
            self.model.year_farm[moving] *= kept  # from next month's accrual on, this year too
        super().apply_month(hh)
        # The contribution is net: wages gained less the farm income given up by moving.
        idx = self.members(hh)
        moved = idx[start[idx] + self.p["delay_months"] < self.model.month]
        if moved.size:
            lost = self.p["farm_income_lost"]
            hh.contribution[self.index, moved] -= self.model.year_farm[moved] * np.float32(lost / (1 - lost) / MONTHS)
