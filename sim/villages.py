"""Village-level projects of a programme: an industry base or solar (PV) station whose income goes
to the village collective, a poverty-alleviation workshop (扶贫车间) that employs villagers.

A programme whose parameter file sets ``village_share`` > 0 spends that share of each county's
budget on projects, one-off ``village_project_cost`` each: listed poor villages first (precision
targeting) or any village (untargeted), in village order, while the county's budget lasts. After
``village_delay_months`` a project yields ``village_income`` yuan a year, shared equally among
the village's eligible households (registered, or exited within the programme's
``continue_after_exit_years``, and fit for the programme), at most ``village_max_per_household``
each. That income counts as the programme's contribution, so exits it carries are attributed to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .allocation import allocate
from .state import MONTHS

if TYPE_CHECKING:
    from .programmes.base import Programme


class VillageProjects:
    def __init__(self, programme: "Programme"):
        self.prog = programme
        self.model = programme.model
        self.p = programme.p
        self.started = np.full(len(self.model.geo.village_county), -1, dtype=np.int32)
        self._refreshed = -1
        self._changes: set[int] = set()
        self._idx = np.zeros(0, dtype=np.int64)
        self._gain = np.zeros(0, dtype=np.float32)

    @property
    def scale(self) -> float:
        return self.model.spec.scenario.population_scale

    @property
    def share(self) -> float:
        return self.p["village_share"]

    def allocate(self, budget: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fund new projects from ``budget`` (per county). Returns (spent, new projects) per county."""
        geo, n_c = self.model.geo, self.model.geo.n_counties
        mask = self.started < 0
        if self.model.precise:
            mask &= self.model.village_listed
        cand = np.flatnonzero(mask)
        # Villages are whole at any population_scale; their cost and income scale with the sample,
        # as budgets do, so that a sampled village's households share a sampled income.
        cost = np.full(len(cand), float(self.p["village_project_cost"]) * self.scale)
        none = np.zeros(0, dtype=np.int64)
        result = allocate(geo.village_county, n_c, none, np.zeros(0), cand, cost,
                          np.zeros(len(cand), np.int8), budget, np.full(n_c, len(cand)))
        self.started[result.new] = self.model.month
        self._refreshed = -1
        return result.spent, result.new_count

    def eligible(self, hh) -> np.ndarray:
        return self.prog.within_exit_window(hh) & self.prog.fits(hh)

    def apply_month(self, hh) -> None:
        m = self.model.month
        if self._refreshed < 0 or m % MONTHS == 0 or m in self._changes:
            self._refresh(hh, m)
        if self._idx.size:
            hh.income_year[self._idx] += self._gain
            hh.contribution[self.prog.index, self._idx] += self._gain

    def _refresh(self, hh, m: int) -> None:
        """Who draws project income this month and how much (changes only when a project starts
        paying, or in January when the register has changed)."""
        delay = self.p["village_delay_months"]
        funded = self.started >= 0
        active = funded & (m >= self.started + delay)
        year_start = m - m % MONTHS
        self._changes = {int(s) + delay for s in self.started[funded]
                         if year_start < int(s) + delay < year_start + MONTHS}
        self._refreshed = m
        if not active.any():
            self._idx, self._gain = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            return
        idx = np.flatnonzero(active[hh.village] & self.eligible(hh))
        per_village = np.bincount(hh.village[idx], minlength=len(self.started))
        share = np.minimum(self.p["village_max_per_household"],
                           self.p["village_income"] * self.scale / np.maximum(per_village, 1))
        self._idx = idx
        self._gain = (share[hh.village[idx]] / MONTHS).astype(np.float32)
