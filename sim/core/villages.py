"""Village projects: what programmes fund in villages, and who shares their income.

Village-level projects of a programme: an industry base or solar (PV) station whose income goes
to the village collective, a poverty-alleviation workshop (扶贫车间) that employs villagers.
A programme whose parameter file sets ``village_share`` > 0 spends that share of each county's
budget on projects, one-off ``village_project_cost`` each: listed poor villages first (precision
targeting) or any village (untargeted), in village order, while the county's budget lasts (the
budget year, ``sim/core/budget.py``, has the counties fund them). After ``village_delay_months`` a
project yields ``village_income`` yuan a year, shared equally among the village's eligible
households (served by the register, or exited within the programme's ``continue_after_exit_years``,
and fit for the programme), at most ``village_max_per_household`` each. That income counts as the
programme's contribution, so exits it carries are attributed to it.

Villages are whole at any population scale; project costs and incomes scale with the sample, as
budgets do, so that a sampled village's households share a sampled income.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from .context import Context
from .state import MONTHS, Households
from .vector import Flow


class VillageProjects:
    """The village projects of programme ``index``, whose parameters are ``p``; ``eligible`` gives
    the households that share a project's income (the programme's rule)."""

    def __init__(self, index: int, p: Mapping[str, Any], ctx: Context,
                 eligible: Callable[[Households], np.ndarray]):
        self.index = index
        self.ctx = ctx
        self.p = p
        self.eligible = eligible
        self.started = ctx.villages.project_started[index]
        self._refreshed = -1
        self._changes: set[int] = set()
        self._idx = np.zeros(0, dtype=np.int64)
        self._gain = np.zeros(0, dtype=np.float32)
        self._flow: Flow | None = None  # made from _idx and _gain when they are first added

    @property
    def share(self) -> float:
        return self.p["village_share"]

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Villages that could get a project this January, in village order, and the cost of each."""
        mask = self.started < 0
        if self.ctx.precise:
            mask &= self.ctx.villages.listed
        cand = np.flatnonzero(mask)
        return cand, np.full(len(cand), float(self.p["village_project_cost"]) * self.ctx.scale)

    def start(self, villages: np.ndarray) -> None:
        """Projects funded this January."""
        self.started[villages] = self.ctx.clock.month
        self._refreshed = -1

    def release_year(self) -> None:
        """December, after the year's last flows: the households drawing project income are
        found again in January (as they would be anyway)."""
        self._refreshed = -1
        self._changes = set()
        self._flow = None
        self._idx = np.zeros(0, dtype=np.int64)
        self._gain = np.zeros(0, dtype=np.float32)

    def flow_month(self, hh: Households) -> None:
        m = self.ctx.clock.month
        if self._refreshed < 0 or m % MONTHS == 0 or m in self._changes:
            self._refresh(hh, m)
        if self._idx.size:
            if self._flow is None:
                self._flow = Flow(hh.n, self._idx, self._gain)
            self._flow.add_to(hh.income_year, hh.contribution[self.index])

    def _refresh(self, hh: Households, m: int) -> None:
        """Who draws project income this month and how much (changes only when a project starts
        paying, or in January when the register has changed)."""
        delay = self.p["village_delay_months"]
        funded = self.started >= 0
        active = funded & (m >= self.started + delay)
        year_start = m - m % MONTHS
        paying = self.started[funded].astype(np.int64) + delay
        self._changes = set(np.unique(paying[(paying > year_start) & (paying < year_start + MONTHS)]).tolist())
        self._refreshed = m
        self._flow = None
        if not active.any():
            self._idx, self._gain = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            return
        # take: a faster gather than indexing with int32 household villages (the same values)
        idx = np.flatnonzero(active.take(hh.village) & self.eligible(hh))
        per_village = np.bincount(hh.village[idx], minlength=len(self.started))
        share = np.minimum(self.p["village_max_per_household"],
                           self.p["village_income"] * self.ctx.scale / np.maximum(per_village, 1))
        self._idx = idx
        self._gain = (share.take(hh.village[idx]) / MONTHS).astype(np.float32)

