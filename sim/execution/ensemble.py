"""Ensembles: many replicates of one scenario, their seeds derived from one root seed.

Replicate k's seed depends only on the root seed and k (``rng.replicate_seeds``), and tables are
assembled in replicate order, so results are the same with any number of workers or on a Dask
cluster. With an output folder, each finished replicate is written at once to ``replicates/``
and dropped from memory; the final tables are then assembled file by file, so memory does not
grow with the number of replicates. Running the same command again skips the replicates already
on disk: an interrupted ensemble resumes. A worker process that dies is replaced and its
replicates are run again (they are deterministic), a bounded number of times.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from ..core.budget import TOTAL
from ..core.results import TABLES
from ..core.streams import replicate_seeds
from ..inputs.arguments import check_replicates, check_seed, check_workers
from ..inputs.scenario import LoadedScenario
from ..model import simulate
from .errors import EnsembleError, OutputError
from .executors import check_dask_address, executor_for, local_workers
from .output import atomic_write, remove_stale_temporaries, table_bytes_csv, table_bytes_parquet, write_bytes

STATE = "state.json"
RETRIES = 2


def run_replicate(scenario: LoadedScenario, seed: int, replicate: int) -> dict[str, pd.DataFrame]:
    """One replicate's tables, each with ``replicate`` and ``seed`` columns first."""
    results = simulate(scenario, seed)
    out = {}
    for name, df in results.tables().items():
        df = df.copy()
        df.insert(0, "seed", np.uint64(seed))
        df.insert(0, "replicate", replicate)
        out[name] = df
    return out


@dataclass
class Ensemble:
    """The tables of all replicates, in replicate order (read from ``out`` when there is one)."""

    scenario: LoadedScenario
    root_seed: int
    seeds: list[int]
    out: Path | None = None
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            if self.out is None:
                raise KeyError(name)
            self._tables[name] = pd.read_parquet(self.out / f"{name}.parquet")
        return self._tables[name]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: self.table(name) for name in TABLES}

    @property
    def yearly(self) -> pd.DataFrame:
        return self.table("yearly")

    @property
    def pathways(self) -> pd.DataFrame:
        return self.table("pathways")

    @property
    def spending(self) -> pd.DataFrame:
        return self.table("spending")

    def summary(self, county: str = TOTAL, low: float = 0.05, high: float = 0.95) -> pd.DataFrame:
        """Mean and interval over replicates of the main yearly figures, beside the targets."""
        df = self.yearly[self.yearly.county == county]
        cols = ["poor_households_end", "poor_persons_end", "exits_persons", "returns_persons",
                "entries_persons", "return_rate", "spent", "villages_exited"]
        g = df.groupby("year")[cols]
        out = g.mean().add_suffix("_mean")
        if len(self.seeds) > 1:
            out = (out.join(g.quantile(low).add_suffix(f"_p{round(low * 100):02d}"))
                   .join(g.quantile(high).add_suffix(f"_p{round(high * 100):02d}")))
        out = out.join(plan_targets(self.scenario, county), how="left")
        return out.reset_index()


def plan_targets(scenario: LoadedScenario, county: str = TOTAL) -> pd.Series:
    """Registered poor persons at the end of each year implied by the plan's reductions."""
    spec = scenario.spec
    counties = [c for c in spec.population.counties if county in (TOTAL, c.name)]
    if not any(c.reductions for c in counties):
        return pd.Series(dtype=float, name="target_poor_persons_end")
    years = list(spec.years)
    target = [sum(c.poor_persons - sum(v for yr, v in c.reductions.items() if yr <= y) for c in counties)
              for y in years]
    return pd.Series(target, index=pd.Index(years, name="year"), name="target_poor_persons_end", dtype=float)


def run_ensemble(scenario: LoadedScenario, *, seed: int | None = None, replicates: int = 1,
                 workers: int | None = None, out: Path | None = None, progress: bool = True,
                 executor: Executor | None = None, dask: str | None = None) -> Ensemble:
    """Run ``replicates`` replicates locally, on ``executor``, or on the Dask cluster at ``dask``.

    With ``out``, replicates stream to disk, a rerun resumes, and the final tables are written to
    ``out/{yearly,pathways,spending}.{csv,parquet}``.
    """
    root, replicates, workers = ensemble_arguments(scenario, seed, replicates, workers, dask, "run_ensemble")
    seeds = replicate_seeds(root, replicates)
    out = Path(out) if out is not None else None
    rep_dir = out / "replicates" if out is not None else None
    done = _resume(rep_dir, scenario, root) if rep_dir is not None else set()
    todo = [k for k in range(replicates) if k not in done]
    memory: dict[int, dict[str, pd.DataFrame]] = {}

    def keep(k: int, tables: dict[str, pd.DataFrame]) -> None:
        if rep_dir is None:
            memory[k] = tables
        else:
            for name in TABLES:
                write_bytes(_replicate_file(rep_dir, name, k), table_bytes_parquet(tables[name]))

    bar = tqdm(total=replicates, initial=len(done), desc=scenario.name, unit="replicate", disable=not progress)
    try:
        for k, tables in _execute(scenario, seeds, todo, workers, executor, dask):
            keep(k, tables)
            bar.update(1)
    finally:
        bar.close()

    ens = Ensemble(scenario, root, seeds, out=out)
    if rep_dir is None:
        ens._tables = {name: pd.concat([memory[k][name] for k in range(replicates)], ignore_index=True)
                       for name in TABLES}
    else:
        for name in TABLES:
            assemble(rep_dir, name, replicates, out)
    return ens


def ensemble_arguments(scenario: LoadedScenario, seed, replicates, workers, dask,
                       origin: str) -> tuple[int, int, int | None]:
    """(root seed, replicates, workers) checked, and the Dask address if there is one; the root
    seed is the scenario's when ``seed`` is None. ``origin`` is the function the caller called."""
    root = scenario.spec.scenario.seed if seed is None else check_seed(seed, origin, "seed")
    if dask is not None:
        check_dask_address(dask, origin, "dask")
    return root, check_replicates(replicates, origin, "replicates"), check_workers(workers, origin, "workers")


def _execute(scenario, seeds, todo, workers, executor, dask) -> Iterator[tuple[int, dict]]:
    """Yield (replicate, tables) as they finish; replace a pool whose worker died and rerun."""
    if not todo:
        return
    workers = local_workers(workers, len(todo))
    if executor is None and dask is None and workers <= 1:
        for k in todo:
            yield k, run_replicate(scenario, seeds[k], k)
        return
    pending = list(todo)
    for attempt in range(RETRIES + 1):
        try:
            if executor is not None:
                yield from _drain(executor, scenario, seeds, pending)
            else:
                with executor_for(workers, dask) as pool:
                    yield from _drain(pool, scenario, seeds, pending)
            return
        except BrokenProcessPool:
            if attempt == RETRIES or executor is not None:
                raise EnsembleError(
                    f"a worker process died {attempt + 1} time(s); {len(pending)} replicate(s) not run "
                    "(finished ones are kept: run the same command again to resume)") from None


def _drain(pool: Executor, scenario, seeds, pending: list[int]) -> Iterator[tuple[int, dict]]:
    """Submit ``pending`` and yield results; finished replicates leave ``pending`` as they come."""
    futures = {pool.submit(run_replicate, scenario, seeds[k], k): k for k in pending}
    for fut in as_completed(futures):
        k = futures[fut]
        tables = fut.result()
        pending.remove(k)
        yield k, tables


def _replicate_file(rep_dir: Path, name: str, k: int) -> Path:
    return rep_dir / f"{name}-{k:05d}.parquet"


def assemble(rep_dir: Path, name: str, replicates: int, out: Path) -> list[Path]:
    """Concatenate replicate files in replicate order into ``name``.csv and ``name``.parquet,
    one replicate in memory at a time."""
    files = [_replicate_file(rep_dir, name, k) for k in range(replicates)]

    def frames() -> Iterator[pd.DataFrame]:
        for f in files:
            yield pd.read_parquet(f)

    def write_csv(fh) -> None:
        for i, df in enumerate(frames()):
            data = table_bytes_csv(df)
            fh.write(data if i == 0 else data[data.index(b"\n") + 1:])

    def write_parquet(fh) -> None:
        writer = None
        for df in frames():
            table = pa.Table.from_pandas(df, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(fh, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is not None:
            writer.close()

    paths = [out / f"{name}.csv", out / f"{name}.parquet"]
    atomic_write(paths[0], write_csv)
    atomic_write(paths[1], write_parquet)
    return paths


def _resume(rep_dir: Path, scenario: LoadedScenario, root: int) -> set[int]:
    """Replicates already on disk from an interrupted run of the same scenario and seed."""
    state = {"scenario_digest": scenario.spec.digest(), "parameters_digest": parameters_digest(scenario),
             "root_seed": root}
    state_file = rep_dir / STATE
    try:
        if state_file.exists():
            try:
                old = json.loads(state_file.read_text())
            except (OSError, ValueError):
                old = None
            if old != state:
                shutil.rmtree(rep_dir)  # another scenario or seed: its replicates do not belong here
        rep_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(rep_dir)
    except OSError as exc:
        raise OutputError(f"{rep_dir}: cannot write here: {exc.strerror or exc}") from None
    write_bytes(state_file, json.dumps(state, sort_keys=True).encode())
    done = set()
    for path in rep_dir.glob("yearly-*.parquet"):
        k = int(path.stem.split("-")[1])
        if all(_replicate_file(rep_dir, name, k).exists() for name in TABLES):
            done.add(k)
    return done


def parameters_digest(scenario: LoadedScenario) -> str:
    """An id of the parameter set in force: same values, same id."""
    items = sorted((p.name, repr(dict(p.values) if p.dated else p.value)) for p in scenario.params)
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]

