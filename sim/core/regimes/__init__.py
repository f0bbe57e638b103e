"""Register regimes behind one interface (``Regime``), and the schedule of which is in force when."""

from .base import Decisions, Regime, Regimes
from .targeted import TargetedRegister

__all__ = ["Decisions", "Regime", "Regimes", "TargetedRegister"]
