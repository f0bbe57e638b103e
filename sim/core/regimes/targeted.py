"""The register of 2014–2020 (建档立卡): the December assessment of exits, returns and new entries.

- A registered household exits (脱贫) when the guarantees hold (housing, medical insurance,
  children in school: 两不愁三保障) and its income is stably above the line (the 2016 exit
  opinion): per-person net income at or above the line × (1 + ``exit_margin``) — or at or above
  the line when the safety net guarantees it there (兜底) — for ``exit_years_above`` consecutive
  assessments. From the plan's deadline on (the scenario's ``exit_deadline``: the year by which
  the plan has everyone out, e.g. 2018 in Sanming, 001 §一(一)) there is no time left for that
  stability: a household exits at the line itself, the exit opinion's standard. Verification
  errs: of the registered households at or above the line but short of that standard, a share
  ``false_exit_rate`` is exited anyway (错退).
- An exited household returns (返贫) when its net income per person falls below the line and the
  year's review finds it: re-registration goes through application and village review as entry
  does, with its own rate ``return_detection_rate`` (an exited household short in a year that is
  not found stays exited, and may be found in a later year or caught by temporary assistance).
- A household never registered enters (新发生贫困) when it falls below the line and is found
  (identification is imperfect: ``entry_detection_rate``).
- Programmes serve registered households, and exited ones within each programme's
  ``continue_after_exit_years`` (脱贫不脱政策).
- From ``assistance_from`` on, temporary assistance (临时救助) and the dibao pay the December
  shortfall of a household off the register (exited, or never registered) that falls below the
  line, if they find it (a share ``assistance_reach``, one draw per household and year): it then
  neither returns nor enters.
"""

from __future__ import annotations

import numpy as np

from ..state import Households, Status
from .base import Decisions, Regime


class TargetedRegister(Regime):
    name = "targeted"
    label = "register of poor households, 2014–2020 (建档立卡)"

    def __init__(self, r, clock=None, u_assist=None, deadline: int | None = None):
        super().__init__(r)
        self.clock = clock
        self.u_assist = u_assist  # (year) -> one uniform per household: is a short household found
        self.deadline = deadline  # the plan's year to have everyone out (None: no deadline)

    def exit_standard(self) -> tuple[float, int]:
        """This year's (margin above the line, assessments above it) for an exit: the stability
        asked while there is time, the line itself from the plan's deadline on."""
        if self.clock is not None and self.clock.reached(self.deadline):
            return 0.0, 1
        return self.r["exit_margin"], self.r["exit_years_above"]

    def served(self, hh: Households) -> np.ndarray:
        return hh.status == Status.POOR

    def assisted(self, hh: Households) -> np.ndarray:
        """Households off the register that temporary assistance finds this year (from
        ``assistance_from`` on)."""
        if self.clock is None or self.clock.year < self.r["assistance_from"] or self.r["assistance_reach"] <= 0:
            return np.zeros(hh.n, dtype=bool)
        found = self.u_assist(self.clock.year) < self.r["assistance_reach"]
        found &= hh.status != Status.POOR
        return found

    def within_window(self, hh: Households, year: int, years_after_exit: float) -> np.ndarray:
        years_out = year - hh.exit_year
        return (hh.status == Status.POOR) | ((hh.status == Status.EXITED) & (years_out <= years_after_exit))

    def decide(self, hh: Households, net_pc: np.ndarray, line: float, u_entry: np.ndarray,
               u_verify: np.ndarray, guaranteed: np.ndarray) -> Decisions:
        # Masks are built in place, one at a time: at province scale this is a peak of memory.
        margin, years_above = self.exit_standard()
        below = net_pc < line
        stable = net_pc >= line * (1 + margin)
        stable |= guaranteed & ~below
        stable &= hh.years_above >= years_above - 1  # this year above makes one more
        stable &= ~below
        false = ~below & ~stable
        false &= u_verify < self.r["false_exit_rate"]
        status = hh.status
        poor = status == Status.POOR
        exits = hh.housing_safe & hh.insured
        exits &= hh.school_ok
        exits &= poor
        exits &= stable | false
        false &= exits
        exited = status == Status.EXITED
        entries = status == Status.NEVER
        entries &= below
        entries &= u_entry < self.r["entry_detection_rate"]
        below &= exited
        below &= u_entry < self.r["return_detection_rate"]  # same uniform: exited and never-registered are apart
        return Decisions(poor=poor, exited=exited, exits=exits, returns=below, entries=entries, false_exits=false)

    def apply(self, hh: Households, d: Decisions, year: int, net_pc: np.ndarray, line: float) -> None:
        # By index: setting through a scattered boolean mask is several times slower.
        exits, returns, entries = np.flatnonzero(d.exits), np.flatnonzero(d.returns), np.flatnonzero(d.entries)
        hh.status[exits] = Status.EXITED
        hh.exit_year[exits] = year
        hh.status[returns] = Status.POOR
        hh.returns[returns] += 1
        hh.status[entries] = Status.POOR
        hh.entry_year[entries] = year
        hh.last_income_pc[:] = net_pc
        hh.years_above += hh.years_above < np.iinfo(np.uint8).max  # one more year, saturating
        hh.years_above[np.flatnonzero(net_pc < line)] = 0
