"""The assembled model: the Mesa model and its county agents, the month's stages, the DataCollector,
and the pure entry point ``simulate``."""

from .county import County
from .model import Model, TuopinModel
from .entry import simulate
from .stages import STAGES, Stage

__all__ = ["County", "Model", "STAGES", "Stage", "TuopinModel", "simulate"]
