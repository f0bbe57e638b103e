"""A whole run to a results folder: tables (CSV and Parquet), plots, the seed file and the manifest,
published together as one set (``execution/folder.py``) while the run holds the folder.

``tuopin run`` and notebooks share ``run_scenario``; ``tuopin reproduce`` re-runs a manifest.
Before anything is written, a run that would not fit in memory is refused (``check_memory``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import psutil

from ..analysis.plots import plot_all
from ..execution.ensemble import Ensemble, ensemble_arguments, ensemble_to_set, manifest_info
from ..execution.executors import local_workers
from ..execution.folder import locked, new_set
from ..execution.output import MANIFEST, write_bytes, write_table
from ..inputs.arguments import check_replicates, check_seed
from ..inputs.errors import InputError
from ..inputs.scenario import LoadedScenario, load_scenario

# Bytes per simulated household while running: state columns, per-programme arrays and the
# temporaries of a month's vectorized rules (`tuopin bench` measures 215–245; rounded up).
BYTES_PER_HOUSEHOLD = 400
# Bytes per village: its columns (county, population, listed: 17 B; a project month per programme:
# 4 B each) and the build's int64/float64 lists before they are joined (core/population.py); rounded up.
BYTES_PER_VILLAGE = 128
# Villages are numbered by an int32 (a household's village, core/state.py): no run has more.
MAX_VILLAGES_IN_RUN = 2**31 - 1
SEEDS_FILE = "seeds.toml"


def estimated_households(scenario: LoadedScenario) -> int:
    spec, p = scenario.spec, scenario.params
    persons = sum(c.poor_persons for c in spec.population.counties) * spec.scenario.population_scale
    cats = spec.population.categories.values()
    mean_size = sum(g.persons for g in cats) / max(1.0, sum(g.households for g in cats))
    registered = persons / max(mean_size, 1.0)
    return int(registered * (1 + p.value("population.near_line_ratio")))


def estimated_villages(scenario: LoadedScenario) -> int:
    """Villages the run builds: whole at any population scale, one per ``village_population`` rural
    persons and at least one more than the county's listed poor villages (core/population.py)."""
    spec, p = scenario.spec, scenario.params
    per_village = p.value("population.village_population")
    counties = spec.population.counties
    listed_total = spec.population.poor_villages
    poor_total = sum(c.poor_persons for c in counties)
    villages = 0
    for c in counties:
        rural = c.rural_population or c.poor_persons / (c.incidence or p.value("population.initial_incidence"))
        listed = c.poor_villages if c.poor_villages is not None else listed_total * c.poor_persons / poor_total
        villages += max(int(listed) + 2, int(rural / per_village) + 1)
    return villages


def estimated_bytes(scenario: LoadedScenario) -> int:
    """Memory one replicate needs while it runs (each worker process runs one at a time)."""
    return (estimated_households(scenario) * BYTES_PER_HOUSEHOLD
            + estimated_villages(scenario) * BYTES_PER_VILLAGE)


def check_memory(scenario: LoadedScenario, workers: int) -> None:
    """Refuse up front a run that would not fit in this machine's memory."""
    households, villages = estimated_households(scenario), estimated_villages(scenario)
    size = f"{households:,} households, {villages:,} villages"
    if villages > MAX_VILLAGES_IN_RUN:
        raise InputError(scenario.path, "population", size, "more villages than a run can number",
                         f"at most {MAX_VILLAGES_IN_RUN:,}: a larger population.village_population")
    need = estimated_bytes(scenario) * max(1, workers)
    have = psutil.virtual_memory().available
    if need > have:
        raise InputError(scenario.path, "population", size,
                         f"needs about {need / 2**30:.1f} GiB with {workers} worker(s), "
                         f"{have / 2**30:.1f} GiB available",
                         "a smaller scenario.population_scale or fewer workers")


def read_seed_file(path: Path) -> tuple[int, int]:
    """(root seed, replicates) from a seed file written by a run."""
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise InputError(path, "", None, f"cannot read the seed file: {exc}") from None
    return check_seed(raw.get("root_seed"), path, "root_seed"), check_replicates(raw.get("replicates"), path, "replicates")


def seed_file_text(ens: Ensemble) -> str:
    seeds = ", ".join(str(s) for s in ens.seeds)
    return (f"# Seeds of run {ens.scenario.name}: rerun with\n"
            f"#   tuopin run SCENARIO --seed-file {SEEDS_FILE}\n"
            f"root_seed = {ens.root_seed}\nreplicates = {len(ens.seeds)}\n"
            f"replicate_seeds = [{seeds}]  # derived from root_seed; for reference\n")


def default_out(scenario: LoadedScenario) -> Path:
    return Path("results") / scenario.name


def _published_run(out: Path) -> dict | None:
    """What made the run published in ``out`` (its manifest's identity fields), or None."""
    import json

    from ..execution.folder import published

    folder = published(out)
    if folder is None:
        return None
    try:
        info = json.loads((folder / MANIFEST).read_text())
        return {k: info.get(k) for k in ("scenario_name", "scenario_digest", "parameter_set_id", "root_seed")}
    except (OSError, ValueError):
        return None


def settle_out(scenario: LoadedScenario, seed: int, out: Path | None, replace: bool = False) -> Path:
    """The folder a run writes: never another run's silently. A folder that holds a run of the same
    scenario, parameters and seed is resumed (more or fewer replicates included); one that holds
    another run is refused if it was asked for, and passed over for a new ``<name>-N`` beside it
    if it was the default — unless ``replace``."""
    from ..execution.ensemble import parameters_digest
    from ..execution.folder import free_folder

    mine = {"scenario_name": scenario.name, "scenario_digest": scenario.spec.digest(),
            "parameter_set_id": parameters_digest(scenario), "root_seed": seed}

    def refusal(folder: Path) -> str:
        theirs = _published_run(folder) or {}
        return (f"{folder} holds another run ({theirs.get('scenario_name')}, seed {theirs.get('root_seed')}, "
                "other settings): give another --out, or --replace to replace it")

    return free_folder(default_out(scenario), out, replace,
                       same=lambda folder: _published_run(folder) in (None, mine), refusal=refusal)


def run_scenario(scenario: LoadedScenario | str | Path, *, seed: int | None = None, replicates: int = 1,
                 workers: int | None = None, out: Path | None = None, plots: bool = True,
                 progress: bool = True, dask: str | None = None, command: str = "run",
                 replace: bool = False) -> tuple[Ensemble, Path]:
    """Run (or resume) the ensemble into ``out`` and publish its final files; returns the
    ensemble and the manifest's path. Another run writing ``out`` is an OutputError, and so is a
    folder that holds another run (``settle_out``) unless ``replace``."""
    if not isinstance(scenario, LoadedScenario):
        scenario = load_scenario(scenario)
    seed, replicates, workers = ensemble_arguments(scenario, seed, replicates, workers, dask, "run_scenario")
    out = settle_out(scenario, seed, out, replace)
    check_memory(scenario, 1 if dask else local_workers(workers, replicates))
    with locked(out), new_set(out) as staged:
        ens = ensemble_to_set(scenario, seed, replicates, out, staged.folder, workers=workers,
                              progress=progress, dask=dask)
        write_table(staged.folder, "summary", ens.summary())
        write_bytes(staged.folder / SEEDS_FILE, seed_file_text(ens).encode())
        if plots:
            plot_all(ens, staged.folder)
        manifest = staged.publish(manifest_info(ens, command))
    return ens, manifest


__all__ = ["run_scenario", "read_seed_file", "MANIFEST", "SEEDS_FILE"]
