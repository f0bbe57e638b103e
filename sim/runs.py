"""A whole run to a results folder: tables (CSV and Parquet), plots and the manifest.

The CLI's ``tuopin run`` and notebooks share this function.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from .ensemble import TABLES, Ensemble, run_ensemble
from .errors import InputError
from .output import write_manifest, write_table
from .plots import plot_all
from .scenario import LoadedScenario, load_scenario
from .state import FIELDS

# Bytes per simulated household while running: state columns, per-programme arrays and the
# temporaries of a month's vectorized rules (measured by `tuopin bench`, rounded up).
BYTES_PER_HOUSEHOLD = 400


def estimated_households(scenario: LoadedScenario) -> int:
    spec, p = scenario.spec, scenario.params
    persons = sum(c.poor_persons for c in spec.population.counties) * spec.scenario.population_scale
    cats = spec.population.categories.values()
    mean_size = sum(g.persons for g in cats) / max(1.0, sum(g.households for g in cats))
    registered = persons / max(mean_size, 1.0)
    return int(registered * (1 + p.value("population.near_line_ratio")))


def check_memory(scenario: LoadedScenario, workers: int) -> None:
    """Refuse up front a run that would not fit in this machine's memory."""
    need = estimated_households(scenario) * BYTES_PER_HOUSEHOLD * max(1, workers)
    have = psutil.virtual_memory().available
    if need > have:
        raise InputError(scenario.path, "population", f"{estimated_households(scenario):,} households",
                         f"needs about {need / 2**30:.1f} GiB with {workers} worker(s), "
                         f"{have / 2**30:.1f} GiB available",
                         "a smaller scenario.population_scale or fewer workers")


def default_out(scenario: LoadedScenario) -> Path:
    return Path("results") / scenario.name


def run_scenario(scenario: LoadedScenario | str | Path, *, seed: int | None = None, replicates: int = 1,
                 workers: int | None = None, out: Path | None = None, plots: bool = True,
                 progress: bool = True) -> tuple[Ensemble, Path]:
    if not isinstance(scenario, LoadedScenario):
        scenario = load_scenario(scenario)
    out = Path(out) if out is not None else default_out(scenario)
    check_memory(scenario, min(workers or 1, replicates))
    ens = run_ensemble(scenario, seed=seed, replicates=replicates, workers=workers, out=out,
                       progress=progress)
    outputs = []
    for name in TABLES:
        outputs += write_table(out, name, ens.tables[name])
    outputs += write_table(out, "summary", ens.summary())
    if plots:
        outputs += plot_all(ens, out)
    info = {
        "command": "run",
        "scenario_name": scenario.name,
        "scenario_files": [str(f) for f in scenario.files],
        "scenario": scenario.spec.model_dump(mode="json"),
        "scenario_digest": scenario.spec.digest(),
        "parameters": {p.name: (dict(p.values) if p.dated else p.value) for p in scenario.params},
        "root_seed": ens.root_seed,
        "replicate_seeds": ens.seeds,
        "replicates": replicates,
        "state_columns": list(FIELDS),
    }
    manifest = write_manifest(out, info, outputs)
    return ens, manifest
