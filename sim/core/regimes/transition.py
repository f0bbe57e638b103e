"""The transition period after 2020 (过渡期, 003): the register's rules, plus dynamic monitoring of
households at risk of (returning to) poverty and support on identification.

At risk (003 §二(二), §四(十一)): exited households and households never registered whose last
per-person net income is below ``transition.threshold`` × the line (unstably exited, marginal),
checked each January; households whose out-of-pocket medical cost in a month exceeds
``shock_cost_share`` of last year's net income, and households in a village hit by a disaster
whose income is below ``disaster_threshold`` × the line (shock-hit). A household at risk is found
by each identification channel — self-report, cadre visits, data matching — with the channel's hit
rate, after the channel's delay; it is identified by the first channel that finds it. Identified
households are monitored: the programmes serve them as they serve the registered poor for
``support_years``, and temporary assistance (临时救助) pays their shortfall below the line in
December from the welfare budget. Their risk is removed (风险消除) after ``removal_years``
assessments above the threshold. Relocated households keep their support (三个不减).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..state import MONTHS, Households, Status
from .base import Decisions, MonthEvents
from .targeted import TargetedRegister

CHANNELS = ("self_report", "cadre", "matching")


class TransitionRegister(TargetedRegister):
    name = "transition"
    label = "transition period 2021–2025: monitoring and support on identification (过渡期)"

    def __init__(self, r: Mapping[str, Any], t: Mapping[str, Any], clock, u_assist=None):
        super().__init__(r, clock, u_assist)
        self.t = dict(t)
        self.delays = np.array([t[f"{c}_delay_months"] for c in CHANNELS], dtype=np.int16)
        self.hits = np.array([t[f"{c}_hit_rate"] for c in CHANNELS], dtype=np.float32)

    # ---- who is served -----------------------------------------------------------------------
    def served(self, hh: Households) -> np.ndarray:
        since = self.clock.month - hh.identify_at.astype(np.int32)
        monitored = hh.monitored & (since < MONTHS * self.t["support_years"])
        return (hh.status == Status.POOR) | monitored

    def within_window(self, hh: Households, year: int, years_after_exit: float) -> np.ndarray:
        keep = super().within_window(hh, year, years_after_exit) | self.served(hh)
        if self.t["keep_relocated_support"]:
            keep |= hh.relocated
        return keep

    def assisted(self, hh: Households) -> np.ndarray:
        """The register period's assistance, and every monitored household (when monitoring
        gives temporary assistance)."""
        assisted = super().assisted(hh)
        if self.t["monitoring"] and self.t["assistance"]:
            assisted |= hh.monitored
        return assisted

    # ---- identification each month -------------------------------------------------------
    def draws_channels(self) -> int:
        return len(CHANNELS) if self.t["monitoring"] else 0

    def at_risk(self, hh: Households, month: int, line: float, events: MonthEvents) -> np.ndarray:
        risk = np.zeros(hh.n, dtype=bool)
        if month % MONTHS == 0:  # January: last year's income and this year's disasters
            unstable = (hh.status == Status.EXITED) | (hh.status == Status.NEVER)
            risk |= unstable & (hh.last_income_pc < self.t["threshold"] * line)
            risk |= events.disaster & (hh.last_income_pc < self.t["disaster_threshold"] * line)
        if events.ill.size:
            income = np.maximum(hh.last_income_pc[events.ill] * hh.size[events.ill], 1.0)
            risk[events.ill[events.ill_cost > self.t["shock_cost_share"] * income]] = True
        return risk

    def monthly(self, hh: Households, month: int, line: float, events: MonthEvents) -> None:
        if not self.t["monitoring"]:
            return
        new = self.at_risk(hh, month, line, events) & ~hh.monitored & (hh.identify_at < 0)
        idx = np.flatnonzero(new)
        if idx.size:
            found = events.u_channels[:, idx] < self.hits[:, None]
            delay = np.where(found, self.delays[:, None], np.iinfo(np.int16).max).min(axis=0)
            seen = found.any(axis=0)
            hh.identify_at[idx[seen]] = month + delay[seen]
        due = ~hh.monitored & (hh.identify_at >= 0) & (hh.identify_at <= month)
        hh.monitored[due] = True

    # ---- December ------------------------------------------------------------------------
    def decide(self, hh: Households, net_pc: np.ndarray, line: float, u_entry: np.ndarray,
               u_verify: np.ndarray, guaranteed: np.ndarray) -> Decisions:
        d = super().decide(hh, net_pc, line, u_entry, u_verify, guaranteed)
        january = self.clock.month - self.clock.month % MONTHS
        d.monitored = hh.monitored.copy()
        d.identified = hh.monitored & (hh.identify_at >= january)
        safe = net_pc >= self.t["threshold"] * line
        d.risk_removed = hh.monitored & safe & (hh.years_safe.astype(np.int32) + 1 >= self.t["removal_years"])
        return d

    def apply(self, hh: Households, d: Decisions, year: int, net_pc: np.ndarray, line: float) -> None:
        super().apply(hh, d, year, net_pc, line)
        safe = net_pc >= self.t["threshold"] * line
        hh.years_safe[:] = np.where(hh.monitored & safe, np.minimum(hh.years_safe.astype(np.int32) + 1, 255), 0)
        removed = d.risk_removed
        hh.monitored[removed] = False
        hh.identify_at[removed] = -1
        hh.years_safe[removed] = 0
