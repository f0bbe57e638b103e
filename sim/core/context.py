"""What programmes and village projects see of a run besides the households they act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..inputs.params import ParameterSet
from .clock import Clock
from .regimes import Regimes
from .state import Counties, Villages
from .streams import Streams


@dataclass
class Context:
    """What a programme sees of the run besides the households it acts on."""

    clock: Clock
    streams: Streams
    regimes: Regimes              # the register's rules in force each year
    villages: Villages
    counties: Counties
    params: ParameterSet
    precise: bool                 # precision targeting (精准扶贫) rather than one untargeted queue
    scale: float                  # the simulated sample's share of the population
    line: Callable[[int], float]  # the poverty line in force in a year, yuan/person/year
    # While the counties fund the programmes (January), the register does not change: its masks
    # are made once then (``hold_register``), and each caller gets its own copy.
    _held: dict | None = None

    def served(self, hh) -> np.ndarray:
        """Households the register serves now (an array the caller may change)."""
        return self._register("served", lambda: self.regimes.now().served(hh))

    def within_window(self, hh, years_after_exit: float) -> np.ndarray:
        """Served, or exited no more than ``years_after_exit`` years before this year (the
        caller may change the array)."""
        return self._register(("window", years_after_exit),
                              lambda: self.regimes.now().within_window(hh, self.clock.year, years_after_exit))

    def hold_register(self, hold: bool) -> None:
        """From ``hold_register(True)`` to ``hold_register(False)`` the register's masks are made once."""
        self._held = {} if hold else None

    @property
    def held(self) -> dict | None:
        """While the register is held: a dict where a programme may keep what it works out from
        the households for the allocation (dropped with the register's masks); else None."""
        return self._held

    def _register(self, key, make: Callable[[], np.ndarray]) -> np.ndarray:
        if self._held is None:
            return make()
        if key not in self._held:
            self._held[key] = make()
        return self._held[key].copy()
