"""What the model's ``mesa.DataCollector`` collects every step.

Model-level series (full size): registered poor households and persons (those the register serves),
households under monitoring, and the mean per-person net income of registered households (as of
the last assessment), the last assessment's exits,
returns and new entries (persons), and this year's spending so far per programme. County agents
report their year's budget and January spending. The values are kept in ``Tally``, which the
stages update when they change (January and December), so collecting costs nothing per household.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import mesa
import numpy as np

from ..core.regimes import Decisions
from ..core.state import Households

if TYPE_CHECKING:
    from .model import TuopinModel


@dataclass
class Tally:
    """The model-level figures the DataCollector reads (full size), for the month just simulated
    (at set-up: December of the base year)."""

    year: int = 0
    month: int = 12
    registered_households: float = 0.0
    registered_persons: float = 0.0
    monitored_households: float = 0.0              # under return-risk monitoring (transition period)
    mean_income_registered: float = float("nan")   # yuan/person/year, at the last assessment
    exits_persons: float = 0.0
    returns_persons: float = 0.0
    entries_persons: float = 0.0
    spent: dict[str, float] = field(default_factory=dict)  # yuan this year, by programme

    def register(self, hh: Households, served: np.ndarray, scale: float) -> None:
        served = np.flatnonzero(served)  # by index: faster than a scattered mask, same order
        size = hh.size[served].astype(np.float64)
        self.registered_households = len(served) / scale
        self.monitored_households = int(hh.monitored.sum()) / scale
        self.registered_persons = float(size.sum()) / scale
        self.mean_income_registered = (float((hh.last_income_pc[served] * size).sum() / size.sum())
                                       if size.size else float("nan"))

    def assessment(self, hh: Households, d: Decisions, scale: float) -> None:
        size = hh.size.astype(np.float64)
        self.exits_persons = float(size[np.flatnonzero(d.exits)].sum()) / scale
        self.returns_persons = float(size[np.flatnonzero(d.returns)].sum()) / scale
        self.entries_persons = float(size[np.flatnonzero(d.entries)].sum()) / scale


def _tally(name: str, model: "TuopinModel") -> float:
    return getattr(model.tally, name)


def _spent(programme: str, model: "TuopinModel") -> float:
    return model.tally.spent.get(programme, 0.0)


SERIES = ("year", "month", "registered_households", "registered_persons", "monitored_households", "mean_income_registered", "exits_persons",
          "returns_persons", "entries_persons")


def datacollector(programmes: list[str]) -> mesa.DataCollector:
    reporters = {name: partial(_tally, name) for name in SERIES}
    reporters.update({f"spent_{p}": partial(_spent, p) for p in programmes})
    return mesa.DataCollector(model_reporters=reporters,
                              agent_reporters={"county": "name", "budget": "budget", "spent": "spent"})
