"""The register regime interface: who the programmes serve, how long support lasts after an exit,
and what the December assessment decides.

A regime is in force for a span of years (``Regimes``). The 2014–2020 register of poor households
(``targeted.py``) is the first; a regime for the 2021–2025 transition period goes beside it without
changing the modules that use the interface: the budget year, the programmes and the assessment
stage ask the regime in force, never the status codes directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

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


class Regime:
    """Base class of register regimes."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""

    def __init__(self, register: Mapping[str, float]):
        self.r = dict(register)

    def served(self, hh: Households) -> np.ndarray:
        """Households the programmes serve as the register's poor."""
        raise NotImplementedError

    def within_window(self, hh: Households, year: int, years_after_exit: float) -> np.ndarray:
        """Served, or exited no more than ``years_after_exit`` years before ``year``."""
        raise NotImplementedError

    def decide(self, hh: Households, net_pc: np.ndarray, line: float, u_entry: np.ndarray) -> Decisions:
        """December: exits, returns and entries from per-person net income against ``line``."""
        raise NotImplementedError

    def apply(self, hh: Households, d: Decisions, year: int, net_pc: np.ndarray) -> None:
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
