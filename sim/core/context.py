"""What programmes and village projects see of a run besides the households they act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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
