"""The six programmes. To add one: a module here with a ``Programme`` subclass, its parameter
file in ``sim/parameters/programmes/``, and its class in ``PROGRAMMES``."""

from .base import Programme
from .education import Education
from .employment import Employment
from .health import Health
from .industry import Industry
from .relocation import Relocation
from .welfare import Welfare

PROGRAMMES: tuple[type[Programme], ...] = (Industry, Employment, Relocation, Education, Health, Welfare)
PROGRAMME_NAMES: tuple[str, ...] = tuple(p.name for p in PROGRAMMES)

__all__ = ["PROGRAMMES", "PROGRAMME_NAMES", "Programme"]
