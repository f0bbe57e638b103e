"""The programme interface: eligibility, unit cost, capacity, delay, effect, persistence.

A programme module subclasses ``Programme`` and overrides a few hooks; its numbers live in
``sim/parameters/programmes/<name>.toml`` (read here as ``self.p``). The model calls, each year,
``continuing`` / ``candidates`` / ``tier`` / costs for the county allocation, then ``enrol`` for the
funded newcomers; each month it calls ``apply_month``. A programme records how many yuan of net
income it added (or of cost it avoided) per household in ``hh.contribution[self.index]``: that is
how exits are attributed to pathways.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..state import MONTHS, Cause, Status
from ..villages import VillageProjects

if TYPE_CHECKING:
    from ..model import TuopinModel
    from ..state import Households



class Programme:
    """Base class. Subclasses set ``name`` and ``label`` and override the hooks they need."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    once: ClassVar[bool] = True      # a household is enrolled at most once

    def __init__(self, index: int, model: "TuopinModel"):
        self.index = index
        self.model = model
        self.p = model.params.group(f"programme.{self.name}")
        self.remaining = np.zeros(0)  # budget left per county after January's allocation
        self.villages = VillageProjects(self) if self.p.get("village_share", 0) > 0 else None
        self._members = np.zeros(0, dtype=np.int64)
        self._members_month = -1
        self._changes: set[int] = set()
        self._gain_month = -1
        self._gain = np.zeros(0, dtype=np.float32)
        self.matched = np.zeros(len(Cause), dtype=bool)
        for cause in self.p.get("matched_causes", []):
            self.matched[Cause[cause.upper()]] = True

    def at(self, key: str):
        """A (possibly dated) parameter of this programme, in force in the model's current year."""
        return self.model.params.value(f"programme.{self.name}.{key}", self.model.year)

    # ---- eligibility and targeting -------------------------------------------------------
    def reachable(self, hh: "Households") -> np.ndarray:
        """Households the programme can legally serve (untargeted rule): on the register."""
        return hh.status == Status.POOR

    def fits(self, hh: "Households") -> np.ndarray:
        """Households whose capacity suits the programme (precision rule, 因户施策)."""
        return np.ones(hh.n, dtype=bool)

    def candidates(self, hh: "Households", precise: bool) -> np.ndarray:
        mask = self.reachable(hh)
        if precise:
            mask &= self.fits(hh)
        if self.once:
            mask &= hh.enrolled_month[self.index] < 0
        else:
            mask &= ~self.supported(hh)
        return mask

    def tier(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        """Precision priority among new candidates: 0 = cause matches the programme, 1 = other."""
        return np.where(self.matched[hh.cause[idx]], 0, 1).astype(np.int8)

    def supported(self, hh: "Households") -> np.ndarray:
        month = self.model.month
        return (hh.enrolled_month[self.index] >= 0) & (month < hh.support_end[self.index])

    def within_exit_window(self, hh: "Households") -> np.ndarray:
        """Registered, or exited no more than ``continue_after_exit_years`` ago (脱贫不脱政策)."""
        years_out = self.model.year - hh.exit_year
        return (hh.status == Status.POOR) | (
            (hh.status == Status.EXITED) & (years_out <= self.p["continue_after_exit_years"]))

    def continuing(self, hh: "Households") -> np.ndarray:
        """Participants whose support runs on into this year (脱贫不脱政策 for a while)."""
        return self.supported(hh) & self.within_exit_window(hh)

    # ---- costs ----------------------------------------------------------------------------
    def basis(self, hh: "Households", idx: np.ndarray, basis: str) -> np.ndarray:
        if basis == "household":
            return np.ones(len(idx), dtype=np.float64)
        column = {"person": hh.size, "labourer": hh.labour, "pupil": hh.pupils}[basis]
        return column[idx].astype(np.float64)

    def first_year_cost(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        return (self.p["cost_one_off"] * self.basis(hh, idx, self.p["cost_basis"])
                + self.annual_cost(hh, idx))

    def annual_cost(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        return self.p["cost_per_year"] * self.basis(hh, idx, self.p["cost_basis"])

    def capacity_share(self) -> float:
        """Most new enrolments in a county-year, as a share of its registered households."""
        return self.p["capacity_share"]

    # ---- enrolment and effect ---------------------------------------------------------------
    def enrol(self, hh: "Households", idx: np.ndarray) -> None:
        """Start support for ``idx`` this January; the effect begins after the delay."""
        m = self.model.month
        hh.enrolled_month[self.index, idx] = m
        hh.support_end[self.index, idx] = m + MONTHS * self.p["support_years"]
        hh.benefit[self.index, idx] = self.benefit_at_enrolment(hh, idx)

    def renew(self, hh: "Households", idx: np.ndarray) -> None:
        """Funded continuing participants: refresh the yearly benefit if it depends on need."""

    def settle_year(self, hh: "Households", net: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """December, before the assessment: last payments against this year's actual net income,
        within what is left of the county budget, as (households, yuan), or None."""
        return None

    def stop(self, hh: "Households", idx: np.ndarray) -> None:
        """Continuing participants the budget could not fund: support ends now."""
        hh.support_end[self.index, idx] = self.model.month

    def benefit_at_enrolment(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        """Yearly effect in yuan fixed at enrolment."""
        return (self.p["effect"] * self.basis(hh, idx, self.p["effect_basis"])).astype(np.float32)

    def monthly_factor(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        """Share of the yearly benefit of ``idx`` that flows this month: 0 before the delay ends,
        1 while supported, ``persistence`` after support ends (the effect that outlasts the money)."""
        m = self.model.month
        started = m >= hh.enrolled_month[self.index, idx].astype(np.int32) + self.p["delay_months"]
        after = m >= hh.support_end[self.index, idx]
        return np.where(after, np.float32(self.p["persistence"]), np.float32(1.0)) * started

    def members(self, hh: "Households") -> np.ndarray:
        """Households ever enrolled (the only ones an effect can reach), refreshed each January,
        with the months in this year at which some member's flow changes (delay or support end)."""
        january = self.model.month - self.model.month % MONTHS
        if self._members_month != january:
            self._members = np.flatnonzero(hh.enrolled_month[self.index] >= 0).astype(np.int32)
            self._members_month = january
            starts = hh.enrolled_month[self.index, self._members].astype(np.int32) + self.p["delay_months"]
            ends = hh.support_end[self.index, self._members]
            self._changes = {int(m) for m in np.unique(np.concatenate([starts, ends]))
                             if january < m < january + MONTHS}
            self._gain_month = -1
        return self._members

    def apply_month(self, hh: "Households") -> None:
        """Add this month's income effect to the household's year and to the contribution."""
        idx = self.members(hh)
        gain = self.monthly_gain(hh, idx)
        hh.income_year[idx] += gain
        hh.contribution[self.index, idx] += gain

    def monthly_gain(self, hh: "Households", idx: np.ndarray) -> np.ndarray:
        """This month's flow for ``idx`` (the members); recomputed only when it can change."""
        m = self.model.month
        if self._gain_month < 0 or m in self._changes:  # members() resets it each January
            self._gain = hh.benefit[self.index, idx] * (self.monthly_factor(hh, idx) / MONTHS)
            self._gain_month = m
        return self._gain
