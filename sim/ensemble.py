"""Ensembles: many replicates of one scenario, their seeds derived from one root seed.

Replicate k's seed depends only on the root seed and k (``rng.replicate_seeds``), and the final
tables are assembled in replicate order, so results are the same with any number of workers.
With an output folder, each finished replicate is written at once (``replicates/``), and running
the same command again skips the replicates already there: an interrupted ensemble resumes.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .model import TuopinModel
from .output import table_bytes_parquet, write_bytes
from .results import TOTAL
from .rng import replicate_seeds
from .scenario import LoadedScenario

TABLES = ("yearly", "pathways", "spending")
STATE = "state.json"


def run_replicate(scenario: LoadedScenario, seed: int, replicate: int) -> dict[str, pd.DataFrame]:
    """One replicate's tables, each with ``replicate`` and ``seed`` columns first."""
    results = TuopinModel(scenario, seed=seed).run().results
    out = {}
    for name, df in results.tables().items():
        df = df.copy()
        df.insert(0, "seed", np.uint64(seed))
        df.insert(0, "replicate", replicate)
        out[name] = df
    return out


@dataclass
class Ensemble:
    """The tables of all replicates, concatenated in replicate order."""

    scenario: LoadedScenario
    root_seed: int
    seeds: list[int]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def yearly(self) -> pd.DataFrame:
        return self.tables["yearly"]

    @property
    def pathways(self) -> pd.DataFrame:
        return self.tables["pathways"]

    @property
    def spending(self) -> pd.DataFrame:
        return self.tables["spending"]

    def summary(self, county: str = TOTAL, low: float = 0.05, high: float = 0.95) -> pd.DataFrame:
        """Mean and interval over replicates of the main yearly figures, beside the targets."""
        df = self.yearly[self.yearly.county == county]
        cols = ["poor_households_end", "poor_persons_end", "exits_persons", "returns_persons",
                "entries_persons", "return_rate", "spent", "villages_exited"]
        g = df.groupby("year")[cols]
        out = g.mean().add_suffix("_mean")
        if len(self.seeds) > 1:
            out = out.join(g.quantile(low).add_suffix("_p05")).join(g.quantile(high).add_suffix("_p95"))
        targets = plan_targets(self.scenario, county)
        out = out.join(targets, how="left")
        return out.reset_index()


def plan_targets(scenario: LoadedScenario, county: str = TOTAL) -> pd.Series:
    """Registered poor persons at the end of each year implied by the plan's reductions."""
    spec = scenario.spec
    counties = [c for c in spec.population.counties if county in (TOTAL, c.name)]
    years = list(spec.years)
    if not any(c.reductions for c in counties):
        return pd.Series(dtype=float, name="target_poor_persons_end")
    target = []
    for y in years:
        target.append(sum(c.poor_persons - sum(v for yr, v in c.reductions.items() if yr <= y)
                          for c in counties))
    return pd.Series(target, index=pd.Index(years, name="year"), name="target_poor_persons_end", dtype=float)


def run_ensemble(scenario: LoadedScenario, *, seed: int | None = None, replicates: int = 1,
                 workers: int | None = None, out: Path | None = None, progress: bool = True,
                 executor: Executor | None = None) -> Ensemble:
    """Run ``replicates`` replicates; with ``out``, stream them to disk and resume if interrupted."""
    root = int(scenario.spec.scenario.seed if seed is None else seed)
    seeds = replicate_seeds(root, replicates)
    ens = Ensemble(scenario, root, seeds)
    done: dict[int, dict[str, pd.DataFrame]] = {}
    rep_dir = Path(out) / "replicates" if out is not None else None
    if rep_dir is not None:
        done = _resume(rep_dir, scenario, root)
    todo = [k for k in range(replicates) if k not in done]

    bar = tqdm(total=replicates, initial=len(done), desc=scenario.name, unit="replicate",
               disable=not progress)
    try:
        for k, tables in _execute(scenario, seeds, todo, workers, executor):
            if rep_dir is not None:
                for name in TABLES:
                    write_bytes(rep_dir / f"{name}-{k:05d}.parquet", table_bytes_parquet(tables[name]))
            done[k] = tables
            bar.update(1)
    finally:
        bar.close()
    for name in TABLES:
        ens.tables[name] = pd.concat([done[k][name] for k in range(replicates)], ignore_index=True)
    return ens


def _execute(scenario, seeds, todo, workers, executor):
    if not todo:
        return
    workers = workers or min(len(todo), os.cpu_count() or 1)
    if executor is None and workers <= 1:
        for k in todo:
            yield k, run_replicate(scenario, seeds[k], k)
        return
    own = executor is None
    # forkserver: workers start from a clean process, not a fork of a threaded one.
    pool = executor or ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
    try:
        futures = {pool.submit(run_replicate, scenario, seeds[k], k): k for k in todo}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()
    finally:
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def _resume(rep_dir: Path, scenario: LoadedScenario, root: int) -> dict[int, dict[str, pd.DataFrame]]:
    """Replicates already on disk from an interrupted run of the same scenario and seed."""
    state = {"scenario_digest": scenario.spec.digest(),
             "parameters_digest": _params_digest(scenario), "root_seed": root}
    state_file = rep_dir / STATE
    if state_file.exists():
        try:
            old = json.loads(state_file.read_text())
        except (OSError, ValueError):
            old = None
        if old != state:
            shutil.rmtree(rep_dir)
    write_bytes(state_file, json.dumps(state, sort_keys=True).encode())
    done = {}
    for path in sorted(rep_dir.glob("yearly-*.parquet")):
        k = int(path.stem.split("-")[1])
        files = {name: rep_dir / f"{name}-{k:05d}.parquet" for name in TABLES}
        if all(f.exists() for f in files.values()):
            done[k] = {name: pd.read_parquet(f) for name, f in files.items()}
    return done


def _params_digest(scenario: LoadedScenario) -> str:
    import hashlib

    items = sorted((p.name, repr(p.values if p.dated else p.value)) for p in scenario.params)
    return hashlib.sha256(repr(items).encode()).hexdigest()
