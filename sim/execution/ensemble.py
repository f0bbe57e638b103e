"""Ensembles: many replicates of one scenario, their seeds derived from one root seed.

Replicate k's seed depends only on the root seed and k (``rng.replicate_seeds``), and tables are
assembled in replicate order, so results are the same with any number of workers or on a Dask
cluster. With an output folder, each finished replicate is written at once to ``replicates/``
and dropped from memory; the final tables are then assembled file by file, so memory does not
grow with the number of replicates. A worker process that dies is replaced and its replicates
are run again (they are deterministic), a bounded number of times.

Running the same command again resumes: a replicate on disk is reused only if its record
(``replicate-NNNNN.json``, written after its tables) carries the fingerprint this run would give
it — the resolved scenario's digest, the parameter-set id, the replicate and its seed, the
digest of the code and the versions that can change results — and the SHA-256 of each of its
tables, which must match the files. Anything else there (another scenario's or code version's
replicates, truncated or empty files, stray files) is ignored and replaced. ``Ensemble.reused``
says how many were reused.

With an output folder, ``run_ensemble`` holds the folder for the whole run and publishes the final
tables as one set with a manifest (``folder.py``); ``ensemble_to_set`` is the part that runs the
replicates and writes the tables into a set, for callers that add files of their own to it.
"""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import closing
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
from ..core.state import FIELDS
from ..core.streams import replicate_seeds
from ..inputs.arguments import check_replicates, check_seed, check_workers
from ..inputs.scenario import LoadedScenario
from ..model import simulate
from .errors import EnsembleError, OutputError
from .executors import check_dask_address, executor_for, local_workers
from .folder import locked, new_set, read_checked
from .output import (atomic_write, code_digest, remove_stale_temporaries, result_versions, sha256, sha256_bytes,
                     table_bytes_csv, table_bytes_parquet, write_bytes)

RETRIES = 2
OLD_STATE = "state.json"  # what replicates/ held before replicates carried fingerprints: removed


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
    """The tables of all replicates, in replicate order. With a results folder ``out``, they are
    read from the run's own set of final files, ``files``, each checked against its manifest;
    ``reused`` replicates were found on disk and not run again, ``replaced`` were on disk but
    could not be reused (another run's, or damaged) and were run again."""

    scenario: LoadedScenario
    root_seed: int
    seeds: list[int]
    out: Path | None = None
    files: Path | None = None
    reused: int = 0
    replaced: int = 0
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            if self.files is None:
                raise KeyError(name)
            self._tables[name] = pd.read_parquet(io.BytesIO(read_checked(self.files, f"{name}.parquet")))
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

    With ``out``, the folder is held for the run (another run writing it is refused), replicates
    stream to disk, a rerun resumes, and the final tables are published as one set with a
    manifest: ``out/{yearly,pathways,spending}.{csv,parquet}`` and ``out/manifest.json``.
    """
    root, replicates, workers = ensemble_arguments(scenario, seed, replicates, workers, dask, "run_ensemble")
    if out is None:
        seeds = replicate_seeds(root, replicates)
        memory: dict[int, dict[str, pd.DataFrame]] = {}
        with _progress(scenario, replicates, 0, progress) as bar, \
                closing(_execute(scenario, seeds, list(range(replicates)), workers, executor, dask)) as results:
            for k, tables in results:
                memory[k] = tables
                bar.update(1)
        ens = Ensemble(scenario, root, seeds)
        ens._tables = {name: pd.concat([memory[k][name] for k in range(replicates)], ignore_index=True)
                       for name in TABLES}
        return ens
    with locked(out, f"run_ensemble({scenario.name})"), new_set(out) as staged:
        ens = ensemble_to_set(scenario, root, replicates, Path(out), staged.folder, workers=workers,
                              progress=progress, executor=executor, dask=dask)
        staged.publish(manifest_info(ens, "run_ensemble"))
    return ens


def ensemble_to_set(scenario: LoadedScenario, root: int, replicates: int, out: Path, folder: Path, *,
                    workers: int | None = None, progress: bool = True, executor: Executor | None = None,
                    dask: str | None = None) -> Ensemble:
    """Run the replicates not already in ``out/replicates/`` (the caller holds ``out``), then write
    the final tables into ``folder``, a set not yet published. Arguments are checked already."""
    seeds = replicate_seeds(root, replicates)
    rep_dir = out / "replicates"
    identity = run_identity(scenario)
    found = _resume(rep_dir, identity, seeds)
    todo = [k for k in range(replicates) if k not in found.reused]
    # closing: an exception here (Ctrl-C while a replicate is saved) closes the generator at once,
    # so that its pool is stopped now; left to the interpreter's exit, the pool would first finish
    # every replicate it was given.
    with _progress(scenario, replicates, len(found.reused), progress) as bar, \
            closing(_execute(scenario, seeds, todo, workers, executor, dask)) as results:
        for k, tables in results:
            _save_replicate(rep_dir, k, tables, fingerprint(identity, k, seeds[k]))
            bar.update(1)
    for name in TABLES:
        assemble(rep_dir, name, replicates, folder)
    return Ensemble(scenario, root, seeds, out=out, files=folder, reused=len(found.reused),
                    replaced=len(found.replaced))


def _progress(scenario: LoadedScenario, total: int, done: int, shown: bool) -> tqdm:
    return tqdm(total=total, initial=done, desc=scenario.name, unit="replicate", disable=not shown)


def scenario_record(scenario: LoadedScenario) -> dict:
    """What a manifest records of the scenario: its files, its resolved content and digest, every
    parameter value in force, and its parameter sets (they travel with it: reproduce takes them
    from here)."""
    return {
        "scenario_name": scenario.name,
        "scenario_files": [str(f) for f in scenario.files],
        "scenario": scenario.spec.model_dump(mode="json"),
        "scenario_digest": scenario.spec.digest(),
        "parameters": {p.name: (dict(p.values) if p.dated else p.value) for p in scenario.params},
        "parameter_set_id": parameters_digest(scenario),
        "parameter_sets": scenario.parameter_sets.as_record() if scenario.parameter_sets else None,
    }


def manifest_info(ens: Ensemble, command: str) -> dict:
    """What a manifest records about the run beside the files, the versions and the platform."""
    return {
        "command": command,
        **scenario_record(ens.scenario),
        "root_seed": ens.root_seed,
        "replicate_seeds": ens.seeds,
        "replicates": len(ens.seeds),
        "state_columns": list(FIELDS),
    }


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


def _record_file(rep_dir: Path, k: int) -> Path:
    return rep_dir / f"replicate-{k:05d}.json"


def run_identity(scenario: LoadedScenario) -> dict:
    """What every replicate of a run shares in its fingerprint: what was run, and by what code."""
    return {"scenario_digest": scenario.spec.digest(), "parameter_set_id": parameters_digest(scenario),
            "code_digest": code_digest(), "versions": result_versions()}


def fingerprint(identity: dict, k: int, seed: int) -> dict:
    """What made replicate ``k``: its run's identity, the replicate and its seed."""
    return {**identity, "replicate": k, "seed": int(seed)}


def _save_replicate(rep_dir: Path, k: int, tables: dict[str, pd.DataFrame], made_by: dict) -> None:
    """The replicate's tables, then its record: the fingerprint and each table's checksum. The
    record comes last, so a replicate without one (a run killed in between) is not reused."""
    files = {}
    for name in TABLES:
        data = table_bytes_parquet(tables[name])
        path = _replicate_file(rep_dir, name, k)
        write_bytes(path, data)
        files[path.name] = sha256_bytes(data)
    record = {"fingerprint": made_by, "files": files}
    write_bytes(_record_file(rep_dir, k), json.dumps(record, indent=1, sort_keys=True).encode())


def assemble(rep_dir: Path, name: str, replicates: int, folder: Path) -> list[Path]:
    """Concatenate replicate files in replicate order into ``name``.csv and ``name``.parquet in
    ``folder``, one replicate in memory at a time."""
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

    paths = [folder / f"{name}.csv", folder / f"{name}.parquet"]
    atomic_write(paths[0], write_csv)
    atomic_write(paths[1], write_parquet)
    return paths


@dataclass
class _Found:
    reused: set[int]    # replicates on disk whose record matches this run and their files
    replaced: set[int]  # replicates with something on disk that cannot be reused


def _resume(rep_dir: Path, identity: dict, seeds: list[int]) -> _Found:
    """What in ``rep_dir`` this run can reuse; everything else there is left to be replaced."""
    try:
        rep_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(rep_dir)
        (rep_dir / OLD_STATE).unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{rep_dir}: cannot write here: {exc.strerror or exc}") from None
    found = _Found(set(), set())
    for k, seed in enumerate(seeds):
        state = _replicate_state(rep_dir, k, fingerprint(identity, k, seed))
        if state == "reusable":
            found.reused.add(k)
        elif state == "other":
            found.replaced.add(k)
    return found


def _replicate_state(rep_dir: Path, k: int, expected: dict) -> str:
    """"reusable", "other" (files there, not this run's or not whole) or "none"."""
    record_path = _record_file(rep_dir, k)
    tables = [_replicate_file(rep_dir, name, k) for name in TABLES]
    if not record_path.exists() and not any(t.exists() for t in tables):
        return "none"
    try:
        record = json.loads(record_path.read_bytes())
        files = record["files"]
        ok = (record["fingerprint"] == expected and set(files) == {t.name for t in tables}
              and all(sha256(t) == files[t.name] for t in tables))
    except (OSError, ValueError, KeyError, TypeError):  # missing, unreadable, not our JSON
        ok = False
    return "reusable" if ok else "other"


def parameters_digest(scenario: LoadedScenario) -> str:
    """An id of the parameter set in force: same values, same id."""
    items = sorted((p.name, repr(dict(p.values) if p.dated else p.value)) for p in scenario.params)
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]
