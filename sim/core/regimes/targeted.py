"""The register of 2014–2020 (建档立卡): the December assessment of exits, returns and new entries.

- A registered household exits (脱贫) when its net income per person is at or above the year's
  line (times 1 + ``register.exit_margin``) and the guarantees hold (housing, medical insurance,
  children in school: 两不愁三保障).
- An exited household returns (返贫) when its net income per person falls below the line.
- A household never registered enters (新发生贫困) when it falls below the line and is found
  (identification is imperfect: ``register.entry_detection_rate``).
- Programmes serve registered households, and exited ones within each programme's
  ``continue_after_exit_years`` (脱贫不脱政策).
"""

from __future__ import annotations

import numpy as np

from ..state import Households, Status
from .base import Decisions, Regime


class TargetedRegister(Regime):
    name = "targeted"
    label = "register of poor households, 2014–2020 (建档立卡)"

    def served(self, hh: Households) -> np.ndarray:
        return hh.status == Status.POOR

    def within_window(self, hh: Households, year: int, years_after_exit: float) -> np.ndarray:
        years_out = year - hh.exit_year
        return (hh.status == Status.POOR) | ((hh.status == Status.EXITED) & (years_out <= years_after_exit))

    def decide(self, hh: Households, net_pc: np.ndarray, line: float, u_entry: np.ndarray) -> Decisions:
        guarantees = hh.housing_safe & hh.insured & hh.school_ok
        below = net_pc < line
        above = net_pc >= line * (1 + self.r["exit_margin"])
        status = hh.status
        poor, exited, never = status == Status.POOR, status == Status.EXITED, status == Status.NEVER
        found = u_entry < self.r["entry_detection_rate"]
        return Decisions(poor=poor, exited=exited, exits=poor & above & guarantees,
                         returns=exited & below, entries=never & below & found)

    def apply(self, hh: Households, d: Decisions, year: int, net_pc: np.ndarray) -> None:
        hh.status[d.exits] = Status.EXITED
        hh.exit_year[d.exits] = year
        hh.status[d.returns] = Status.POOR
        hh.returns[d.returns] += 1
        hh.status[d.entries] = Status.POOR
        hh.entry_year[d.entries] = year
        hh.last_income_pc[:] = net_pc
