"""The programmes, in the order they run (allocation, cost cover, flows, pathway ties).

To add one: a module here with a ``Programme`` subclass, its parameter file in
``sim/inputs/parameters/programmes/<name>.toml``, and one line in ``REGISTRY``. A scenario runs the
programmes its ``[budgets]`` table names.
"""

from __future__ import annotations

from functools import cache

from ..core.programme import Programme
from ..core.streams import CORE_STREAMS, merge_stream_ids
from ..inputs.errors import InputError
from ..inputs.params import ParameterSet, programme_names
from .ecology import Ecology
from .education import Education
from .employment import Employment
from .health import Health
from .industry import Industry
from .relocation import Relocation
from .welfare import Welfare

REGISTRY: tuple[type[Programme], ...] = (
    Industry,
    Employment,
    Relocation,
    Education,
    Health,
    Welfare,
    Ecology,
)
PROGRAMMES = REGISTRY
PROGRAMME_NAMES: tuple[str, ...] = tuple(p.name for p in REGISTRY)
STREAM_IDS: dict[str, int] = merge_stream_ids(CORE_STREAMS, *(p.streams for p in REGISTRY))


@cache
def checked_registry() -> tuple[type[Programme], ...]:
    """The registry after checking each programme's declaration against its parameter file (once
    per process): a missing, misspelt or mistyped key is an InputError naming the file and key."""
    files = set(programme_names())
    names = set(PROGRAMME_NAMES)
    if files != names:
        odd = sorted(files ^ names)[0]
        where = "a parameter file without a programme" if odd in files else "a programme without a parameter file"
        raise InputError(f"sim/inputs/parameters/programmes/{odd}.toml", "", odd, where)
    defaults = ParameterSet.defaults()
    for programme in REGISTRY:
        programme.check_parameters(defaults)
    return REGISTRY


def programmes_for(budget_names) -> tuple[type[Programme], ...]:
    """The programmes a scenario runs (those its budgets name), in registry order."""
    return tuple(p for p in checked_registry() if p.name in budget_names)


__all__ = ["PROGRAMMES", "PROGRAMME_NAMES", "REGISTRY", "STREAM_IDS", "Programme", "checked_registry",
           "programmes_for"]
