"""The one pure entry point: ``simulate(scenario, seed, overrides) -> RunResults``.

Ensembles, calibration, comparison, the optimiser and the dashboard all run the model through
this function: the same scenario, seed and overrides always give the same tables. Its arguments
are small (a scenario, an integer, a dict of dotted keys), so it is cheap to send to a worker
process or a Dask worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..core.results import RunResults
from ..inputs.scenario import LoadedScenario, load_scenario
from .checkpoint import Checkpoint
from .model import TuopinModel


def simulate(scenario: LoadedScenario | str | Path, seed: int | None = None,
             overrides: Mapping[str, Any] | None = None, start: Checkpoint | str | Path | None = None) -> RunResults:
    """Run ``scenario`` (with ``overrides`` laid over it) once with ``seed`` (default: the
    scenario's, or the checkpoint's) and return its tables; with ``start``, take up a checkpoint
    and run from it. Bad overrides raise InputError before anything runs."""
    if not isinstance(scenario, LoadedScenario):
        scenario = load_scenario(scenario)
    scenario = scenario.with_overrides(overrides)
    if seed is None and start is None:
        seed = scenario.spec.scenario.seed
    return TuopinModel(scenario, seed=seed, start=start).run().results
