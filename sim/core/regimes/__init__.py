"""Register regimes behind one interface (``Regime``), and the schedule of which is in force when."""

from .base import Decisions, MonthEvents, Regime, Regimes
from .targeted import TargetedRegister
from .transition import TransitionRegister

__all__ = ["Decisions", "MonthEvents", "Regime", "Regimes", "TargetedRegister", "TransitionRegister"]
