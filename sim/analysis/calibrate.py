"""Calibration by approximate Bayesian computation with sequential Monte Carlo (ABC-SMC).

The free parameters are assumptions with a documented plausible range (their ``range`` is the
prior: uniform on it); the rest stay at their values. Each generation proposes a fixed number of
candidate parameter sets, runs every candidate for the same few replicate seeds (common random
numbers: every candidate of the calibration meets the same draws, so distances compare
parameters, not luck), measures its distance to the targets (``sim/analysis/observe.py``) and
accepts the closest ``particles`` of them; the threshold is the largest accepted distance, and it
falls as the proposals concentrate where the distance is small. The first
generation samples the prior; later ones perturb accepted particles with a Gaussian kernel (twice
their weighted covariance) and weight each accepted particle by prior / proposal density, the
proposal being the weighted mixture of kernels around the previous particles (Beaumont et al.
2009, with quantile thresholds as in Del Moral et al. 2012). The weights are computed in logs, and
each generation's effective sample size (Kish: 1 / Σ w²) is recorded beside its threshold: the
accepted particles of the last generation, with their weights, are the posterior — a set of
plausible parameter sets, not one point — and its effective size says how many of them count.

Two things keep the weights from collapsing onto one particle (a posterior of one effective
particle, seen before they were done). No share of later candidates is drawn from the prior: with
20 free parameters a kernel's density near the particles is many orders of magnitude above the
uniform prior's, so an accepted prior draw took nearly all the weight. And a whole-number
parameter (a number of years, a first year) is searched as a real number and rounded only when a
model runs it (the posterior gives the rounded values): rounded proposals had no density, and
where every particle shared one value the kernel shrank onto it, so a particle with another value
took nearly all the weight. The kernel's spread is also kept above ``KERNEL_FLOOR`` of each range.

Everything is a pure function of the settings and the root seed: candidates are proposed in this
process, simulations run through the project's executor (this process, local worker processes or
a Dask cluster) and are gathered in candidate order, so the result does not depend on where or
how many workers ran them. Each finished chunk of evaluations is written to disk at once; a
calibration run again with the same settings resumes where it stopped.

Written for the project (no ABC library is used) because the libraries' parallel samplers
accept candidates in the order workers finish them, which would make results depend on the
number of workers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..core.streams import replicate_seeds
from ..execution.executors import executor_for, local_workers
from ..execution.output import atomic_write, table_bytes_parquet, write_bytes
from ..inputs.errors import InputError
from ..inputs.params import ParameterSet
from ..inputs.scenario import LoadedScenario
from ..inputs.targets import Target
from ..model import simulate
from .observe import distance, observe
from .weights import effective_size

WHOLE_UNITS = ("years", "months", "year")
KERNEL_SCALE = 2.0          # the perturbation kernel's covariance is this times the particles' (Beaumont et al.)
KERNEL_FLOOR = 0.02         # the kernel's smallest standard deviation, as a share of the prior's range
CHUNK = 16                  # candidates per task list written to disk at once (resume granularity)
STATE = "state.json"


@dataclass(frozen=True)
class FreeParameter:
    name: str
    low: float
    high: float
    whole: bool

    def value(self, x: float) -> float:
        return float(round(x)) if self.whole else float(x)


def free_parameters(params: ParameterSet, names: Sequence[str] | None = None) -> list[FreeParameter]:
    """Assumed parameters with a plausible range and a single number as value (dated values,
    switches and choices stay as they are). ``names`` picks some of them."""
    out = []
    for p in params:
        numeric = (not p.dated and isinstance(p.value, (int, float)) and not isinstance(p.value, bool))
        if not (p.is_assumption and p.range is not None and numeric):
            continue
        if names is not None and p.name not in names:
            continue
        out.append(FreeParameter(p.name, float(p.range[0]), float(p.range[1]), p.unit in WHOLE_UNITS))
    if names is not None:
        missing = sorted(set(names) - {f.name for f in out})
        if missing:
            raise InputError("<calibration>", "parameters", missing[0],
                             "not an assumed parameter with a plausible range", "see `tuopin params`")
    return out


def evaluate(scenario: LoadedScenario, seeds: Sequence[int], overrides: dict, targets: Sequence[Target]) -> np.ndarray:
    """One candidate: its simulated target values for each replicate seed (replicates × targets)."""
    return np.array([observe(simulate(scenario, seed, overrides).tables(), targets) for seed in seeds])


def run_candidates(scenario: LoadedScenario, seeds: Sequence[int], candidates: Sequence[dict],
                   targets: Sequence[Target], workers: int | None = None, dask: str | None = None,
                   done: Callable[[int, np.ndarray], None] | None = None) -> list[np.ndarray]:
    """Evaluate candidates (overrides) through the executor; results in candidate order.
    ``done(i, values)`` is called as each finishes (for saving and progress)."""
    results: list[np.ndarray | None] = [None] * len(candidates)
    w = local_workers(workers, len(candidates)) if candidates else 1
    if dask is None and w <= 1:
        for i, c in enumerate(candidates):
            results[i] = evaluate(scenario, seeds, c, targets)
            if done:
                done(i, results[i])
        return results
    from concurrent.futures import as_completed

    with executor_for(w, dask) as pool:
        futures = {pool.submit(evaluate, scenario, list(seeds), c, list(targets)): i for i, c in enumerate(candidates)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if done:
                done(i, results[i])
    return results


@dataclass
class Settings:
    """What a calibration is: everything that decides its result."""

    scenario_digest: str
    parameters_digest: str
    targets_digest: str
    free: list[str]
    root_seed: int
    particles: int = 100
    candidates: int = 300
    generations: int = 4
    replicates: int = 2

    def fingerprint(self) -> str:
        """The identity of the work kept on disk. The number of generations is left out: a
        generation depends only on those before it, so asking for more extends a calibration."""
        settings = {k: v for k, v in asdict(self).items() if k != "generations"}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Generation:
    index: int
    params: np.ndarray         # candidates × free parameters
    distances: np.ndarray      # candidates
    values: np.ndarray         # candidates × targets (mean over replicates)
    accepted: np.ndarray       # indices of the accepted candidates
    weights: np.ndarray        # weights of the accepted ones (sum 1)

    @property
    def threshold(self) -> float:
        return float(self.distances[self.accepted].max())


@dataclass
class Calibration:
    settings: Settings
    free: list[FreeParameter]
    targets: list[Target]
    generations: list[Generation] = field(default_factory=list)

    @property
    def posterior(self) -> pd.DataFrame:
        """The accepted parameter sets of the last generation, with their weights and distances."""
        g = self.generations[-1]
        df = pd.DataFrame({f.name: [f.value(x) for x in g.params[g.accepted, i]] for i, f in enumerate(self.free)})
        df["weight"] = g.weights
        df["distance"] = g.distances[g.accepted]
        return df

    def point(self) -> dict[str, float]:
        """Weighted posterior median of each free parameter (whole numbers rounded)."""
        post = self.posterior
        out = {}
        for f in self.free:
            order = np.argsort(post[f.name].values)
            cum = np.cumsum(post.weight.values[order])
            out[f.name] = f.value(float(post[f.name].values[order][np.searchsorted(cum, 0.5 * cum[-1])]))
        return out


def _overrides(free: Sequence[FreeParameter], row: np.ndarray) -> dict[str, float]:
    return {f.name: f.value(x) for f, x in zip(free, row)}


def _in_prior(free: Sequence[FreeParameter], x: np.ndarray) -> np.ndarray:
    lo = np.array([f.low for f in free])
    hi = np.array([f.high for f in free])
    return np.all((x >= lo) & (x <= hi), axis=-1)


def _propose(gen: int, settings: Settings, free: Sequence[FreeParameter], previous: Generation | None) -> np.ndarray:
    """This generation's candidates: from the prior first, then perturbed accepted particles."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(settings.root_seed, spawn_key=(gen,))))
    lo = np.array([f.low for f in free])
    hi = np.array([f.high for f in free])
    n = settings.candidates
    if previous is None:
        return lo + (hi - lo) * rng.random((n, len(free)))
    particles = previous.params[previous.accepted]
    cov = _kernel_cov(particles, previous.weights, lo, hi)
    out = np.empty((n, len(free)))
    filled = 0
    while filled < n:
        pick = rng.choice(len(particles), size=n - filled, p=previous.weights)
        draws = particles[pick] + rng.multivariate_normal(np.zeros(len(free)), cov, size=n - filled)
        ok = draws[_in_prior(free, draws)]
        out[filled:filled + len(ok)] = ok
        filled += len(ok)
    return out


def _kernel_cov(particles: np.ndarray, weights: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The perturbation kernel's covariance: ``KERNEL_SCALE`` times the particles' weighted
    covariance (unweighted if the weights leave fewer than two effective particles), each variance
    raised to at least (``KERNEL_FLOOR`` × the prior's range)², so that the kernel never collapses
    onto a value all particles share."""
    if effective_size(weights) >= 2:
        cov = np.cov(particles.T, aweights=weights)
    else:
        cov = np.cov(particles.T)
    cov = KERNEL_SCALE * np.atleast_2d(cov)
    floor = (KERNEL_FLOOR * (hi - lo)) ** 2
    return cov + np.diag(np.maximum(floor - np.diag(cov), 0.0))


def _weights(free: Sequence[FreeParameter], accepted: np.ndarray, previous: Generation | None) -> np.ndarray:
    """Importance weights of accepted particles: the uniform prior's density over the proposal's
    (the weighted mixture of Gaussian kernels around the previous particles), in logs."""
    from scipy.special import logsumexp

    if previous is None:
        return np.full(len(accepted), 1.0 / len(accepted))
    particles = previous.params[previous.accepted]
    lo = np.array([f.low for f in free])
    hi = np.array([f.high for f in free])
    cov = _kernel_cov(particles, previous.weights, lo, hi)
    inv = np.linalg.inv(cov)
    _, logdet = np.linalg.slogdet(cov)
    diff = accepted[:, None, :] - particles[None, :, :]
    log_kernel = -0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff) - 0.5 * (logdet + len(free) * np.log(2 * np.pi))
    log_proposal = logsumexp(log_kernel, b=previous.weights[None, :], axis=1)
    log_w = -log_proposal  # the uniform prior's density is the same for every particle
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


class _Store:
    """The calibration folder: settings, each generation, and evaluated chunks for a resume."""

    def __init__(self, out: Path, settings: Settings):
        self.out = Path(out)
        self.dir = self.out / "generations"
        self.settings = settings
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(self.out, "", str(self.out), f"cannot write here: {exc.strerror or exc}") from None
        state = self.out / STATE
        if state.exists():
            try:
                old = json.loads(state.read_text())
            except (OSError, ValueError):
                old = None
            if old != {"fingerprint": settings.fingerprint()}:
                for f in self.dir.glob("*.parquet"):
                    f.unlink()  # another calibration's work: start afresh
        write_bytes(state, json.dumps({"fingerprint": settings.fingerprint()}).encode())

    def chunk_path(self, gen: int, chunk: int) -> Path:
        return self.dir / f"gen-{gen:02d}-chunk-{chunk:04d}.parquet"

    def load_chunk(self, gen: int, chunk: int, n_targets: int) -> np.ndarray | None:
        """A chunk's values (candidates × replicates × targets), or None if absent or unreadable."""
        p = self.chunk_path(gen, chunk)
        if not p.exists():
            return None
        try:
            flat = pd.read_parquet(p).to_numpy()
            return flat.reshape(len(flat), self.settings.replicates, n_targets)
        except (OSError, ValueError):
            return None

    def save_chunk(self, gen: int, chunk: int, values: np.ndarray) -> None:
        flat = values.reshape(values.shape[0], -1)
        df = pd.DataFrame(flat, columns=[f"v{i}" for i in range(flat.shape[1])])
        atomic_write(self.chunk_path(gen, chunk), lambda fh: fh.write(table_bytes_parquet(df)))


def _fixed_digest(scenario: LoadedScenario, free: Sequence[FreeParameter]) -> str:
    """An id of the values of the parameters a calibration keeps fixed."""
    names = {f.name for f in free}
    items = sorted((p.name, repr(dict(p.values) if p.dated else p.value)) for p in scenario.params if p.name not in names)
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


def calibrate(scenario: LoadedScenario, targets: Sequence[Target], out: Path, *, free_names: Sequence[str] | None = None,
              particles: int = 100, candidates: int = 300, generations: int = 4, replicates: int = 2,
              seed: int = 1, workers: int | None = None, dask: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Run (or resume) a calibration of ``scenario`` against ``targets`` into the folder ``out``.

    The scenario runs without its own parameter sets (a calibration makes them: the free
    parameters are drawn from their priors, the rest keep their values), and the calibration's
    identity leaves out the free parameters' values, which it does not use: a scenario whose
    defaults became an earlier calibration's medians resumes that calibration."""
    if not 0 < particles <= candidates:
        raise InputError("<calibration>", "particles", particles, "must be between 1 and the candidates per generation",
                         f"1 to {candidates}")
    if scenario.parameter_sets is not None:
        scenario = scenario.with_changes({"scenario": {"parameter_sets": None}})
    free = free_parameters(scenario.params, free_names)
    targets = list(targets)
    tdigest = hashlib.sha256(repr([asdict(t) for t in targets]).encode()).hexdigest()[:16]
    settings = Settings(scenario.spec.digest(), _fixed_digest(scenario, free), tdigest, [f.name for f in free],
                        int(seed), particles, candidates, generations, replicates)
    store = _Store(out, settings)
    cal = Calibration(settings, free, targets)
    total = generations * candidates
    finished = 0
    previous = None
    for gen in range(generations):
        params = _propose(gen, settings, free, previous)
        seeds = replicate_seeds(np.random.SeedSequence(seed, spawn_key=(10_000,)).generate_state(1)[0], replicates)
        values = np.full((candidates, replicates, len(targets)), np.nan)
        pending: dict[int, set[int]] = {}
        for c0 in range(0, candidates, CHUNK):
            size = min(CHUNK, candidates - c0)
            saved = store.load_chunk(gen, c0 // CHUNK, len(targets))
            if saved is not None and saved.shape[0] == size:
                values[c0:c0 + size] = saved
                finished += size
            else:
                pending[c0] = set(range(c0, c0 + size))
        if progress:
            progress(finished, total)
        idx = sorted(i for chunk in pending.values() for i in chunk)

        def done(k: int, v: np.ndarray) -> None:
            nonlocal finished
            i = idx[k]
            c0 = i - i % CHUNK
            values[i] = v
            pending[c0].discard(i)
            finished += 1
            if not pending[c0]:  # the chunk is whole: keep it for a resume
                store.save_chunk(gen, c0 // CHUNK, values[c0:min(c0 + CHUNK, candidates)])
            if progress:
                progress(finished, total)

        run_candidates(scenario, seeds, [_overrides(free, params[i]) for i in idx], targets, workers, dask, done=done)
        mean = values.mean(axis=1)
        dist = np.array([distance(m, targets) for m in mean])
        accepted = np.argsort(dist, kind="stable")[:particles]
        weights = _weights(free, params[accepted], previous)
        previous = Generation(gen, params, dist, mean, accepted, weights)
        cal.generations.append(previous)
    return cal


def write_outputs(cal: Calibration, out: Path) -> list[Path]:
    """The posterior (Parquet), every generation's summary, and the calibrated parameters as a
    scenario overlay (TOML) that a scenario can extend."""
    out = Path(out)
    paths = []
    post = out / "posterior.parquet"
    atomic_write(post, lambda fh: fh.write(table_bytes_parquet(cal.posterior)))
    paths.append(post)
    rows = [{"generation": g.index, "threshold": g.threshold, "best": float(g.distances.min()),
             "median_accepted": float(np.median(g.distances[g.accepted])),
             "effective_size": effective_size(g.weights)} for g in cal.generations]
    summary = out / "generations.csv"
    write_bytes(summary, pd.DataFrame(rows).to_csv(index=False).encode())
    paths.append(summary)
    lines = ["# Calibrated parameters: the weighted posterior median of each free parameter",
             "# (posterior.parquet beside this file holds the whole posterior). A scenario takes them",
             "# with  extends = \"<this file>\"  or by copying the [parameters] table.", "", "[parameters]"]
    lines += [f'"{k}" = {v!r}' for k, v in cal.point().items()]
    toml = out / "parameters.toml"
    write_bytes(toml, ("\n".join(lines) + "\n").encode())
    paths.append(toml)
    return paths


def run_calibration(scenario: LoadedScenario, targets: Sequence[Target], out: Path, *,
                    free_names: Sequence[str] | None = None, particles: int = 100, candidates: int = 300,
                    generations: int = 4, replicates: int = 2, seed: int = 1, workers: int | None = None,
                    dask: str | None = None, report_runs: int = 20, targets_file: str = "",
                    progress: Callable[[int, int], None] | None = None) -> tuple[Calibration, Path]:
    """A whole calibration to a folder: the ABC-SMC (resumable), its outputs, the fit report and a
    manifest (``tuopin reproduce`` re-runs it and compares every file)."""
    from ..execution.output import write_manifest
    from .fit_report import write_report

    import time

    out = Path(out)
    started = time.perf_counter()
    cal = calibrate(scenario, targets, out, free_names=free_names, particles=particles, candidates=candidates,
                    generations=generations, replicates=replicates, seed=seed, workers=workers, dask=dask,
                    progress=progress)
    outputs = write_outputs(cal, out)
    bounds = {f.name: (f.low, f.high) for f in cal.free}
    outputs += write_report(out / "fit", scenario, targets, cal.posterior, pd.read_csv(out / "generations.csv"),
                            bounds, runs=report_runs, seed=seed, title=f"Calibration of {scenario.name}")
    info = {"command": "calibrate", "scenario_name": scenario.name, "scenario": scenario.spec.model_dump(mode="json"),
            "scenario_files": [str(f) for f in scenario.files], "scenario_digest": scenario.spec.digest(),
            "parameters": {p.name: (dict(p.values) if p.dated else p.value) for p in scenario.params},
            "calibration": asdict(cal.settings), "targets_file": targets_file,
            "targets": [asdict(t) for t in targets], "root_seed": seed, "report_runs": report_runs,
            "elapsed_seconds": round(time.perf_counter() - started, 1)}
    manifest = write_manifest(out, info, outputs)
    return cal, manifest
