"""The register regime interface: who the programmes serve, how long support lasts after an exit,
what the December assessment decides, and what the regime does each month.

A regime is in force for a span of years (``Regimes``). The 2014–2020 register of poor households
(``targeted.py``) is the first; the 2021–2025 transition period (``transition.py``) follows it.
The budget year, the programmes and the assessment ask the regime in force, never the status
codes directly, so a regime is added without changing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import numpy as np

from ..state import Households


@dataclass
class Decisions:
    """What one December assessment decided, as masks over households (before status changes)."""

    poor: np.ndarray       # on the register during the year
    exited: np.ndarray     # exited and not returned at the start of the assessment
    exits: np.ndarray
    returns: np.ndarray
    entries: np.ndarray
    false_exits: np.ndarray  # exits short of the standard that verification let through (错退)
    # Monitoring (transition period); None where the regime does not monitor.
    monitored: np.ndarray | None = None      # monitored at the assessment
    identified: np.ndarray | None = None     # identified this year
    risk_removed: np.ndarray | None = None   # risk removed at this assessment


@dataclass
class MonthEvents:
    """What a regime's monthly step may look at besides the households: this month's illnesses
    (households and their out-of-pocket cost) and the month's draws for identification."""

    ill: np.ndarray
    ill_cost: np.ndarray            # out-of-pocket, yuan
    disaster: np.ndarray            # lives in a village hit by a disaster this year
    u_channels: np.ndarray | None   # one uniform per identification channel and household


class Regime:
    """Base class of register regimes: ``r`` holds its parameters (the ``register.*`` group and,
    for later regimes, their own)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(self, r: Mapping[str, Any]):
        self.r = dict(r)

    def served(self, hh: Households) -> np.ndarray:
        """Households the programmes serve as the register's poor."""
        raise NotImplementedError

    def within_window(self, hh: Households, year: int, years_after_exit: float) -> np.ndarray:
        """Served, or exited no more than ``years_after_exit`` years before ``year``."""
        raise NotImplementedError

    def assisted(self, hh: Households) -> np.ndarray:
        """Households whose December shortfall the safety net pays besides its own roll."""
        return np.zeros(hh.n, dtype=bool)

    def monthly(self, hh: Households, month: int, line: float, events: MonthEvents) -> None:
        """Anything the regime does each month (e.g. identify households at risk)."""

    def draws_channels(self) -> int:
        """How many identification uniforms per household this regime needs each month."""
        return 0

    def decide(self, hh: Households, net_pc: np.ndarray, line: float, u_entry: np.ndarray,
               u_verify: np.ndarray, guaranteed: np.ndarray) -> Decisions:
        """December: exits, returns and entries from per-person net income against ``line``;
        ``guaranteed`` marks households whose income the safety net holds at the line."""
        raise NotImplementedError

    def apply(self, hh: Households, d: Decisions, year: int, net_pc: np.ndarray, line: float) -> None:
        """Record the decisions in the households' state."""
        raise NotImplementedError


class Regimes:
    """The regime in force each year: ``spans`` maps a first year to a regime."""

    def __init__(self, spans: Mapping[int, Regime], clock):
        self.spans = dict(sorted(spans.items()))
        self.clock = clock

    def at(self, year: int) -> Regime:
        first = [y for y in self.spans if y <= year]
        return self.spans[max(first)] if first else next(iter(self.spans.values()))

    def now(self) -> Regime:
        return self.at(self.clock.year)
