"""Calibration by approximate Bayesian computation with sequential Monte Carlo (ABC-SMC), the
resample-move kind (Del Moral, Doucet and Jasra 2012): particles are moved by Metropolis–Hastings
steps at each threshold, so they keep equal weights and the posterior does not collapse onto a few
of them.

The free parameters are assumptions with a documented plausible range (their ``range`` is the
prior: uniform on it); the rest stay at their values. Every candidate of a generation runs the
same few replicate seeds (common random numbers within a generation: its candidates meet the same
draws, so distances compare parameters, not luck), and each generation draws new ones, so that the
posterior is not fitted to one set of draws of the shocks that move a county's register in a year.
A candidate is measured by its distance to the targets (``sim/analysis/observe.py``).

- Generation 0 draws ``candidates`` sets from the prior and keeps the closest ``particles``.
- Each later generation lowers the threshold to the median distance of the particles (``KEEP``),
  drops the particles above it, copies the rest back to ``particles`` (each as often as the others,
  the remainder drawn at random), and moves every particle ``candidates // particles`` times: a
  Gaussian random-walk step (covariance ``MOVE_SCALE`` / d times the particles' covariance, the
  scaling that is optimal for a random walk in d dimensions, Roberts and Rosenthal 2001), reflected
  at the prior's bounds, and accepted when its distance is within the threshold. With a uniform prior and
  a symmetric step that is the Metropolis–Hastings rule for the ABC posterior at that threshold,
  so the particles stay a sample of it with equal weights.
- The posterior is the last generation's particles: the distinct parameter sets, each weighted by
  how many particles hold it (``weight``). Its effective size (Kish) counts how many sets count.

A whole-number parameter (a number of years, a first year) is searched as a real number and
rounded only when a model runs it (the posterior gives the rounded values), so that steps have a
density and particles sharing a whole value still move. The step's spread is kept above
``KERNEL_FLOOR`` of each range.

A move is accepted only if its distance is within the threshold, and the distance is a root mean
square of non-negative terms, so the terms known part way through a run bound it from below: a
move's replicates run side by side a year at a time, and one whose register already puts it beyond
the threshold (``observe.register_bound``) stops there, stored with missing values (NaN), rejected
as it would have been at the end. Generation 0 runs whole; accepted moves are runs to the end.

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
from concurrent.futures import Executor, as_completed
from contextlib import ExitStack, nullcontext
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
from ..model import TuopinModel
from .observe import distance, observe, register_bound
from .weights import effective_size

WHOLE_UNITS = ("years", "months", "year")
KEEP = 0.5                  # share of the particles whose distances set the next threshold (its quantile)
MOVE_SCALE = 2.38 ** 2      # a move's covariance is this / d times the particles' (optimal random-walk scaling)
KERNEL_FLOOR = 0.02         # a move's smallest standard deviation, as a share of the prior's range
EARLY_MARGIN = 1e-9         # a candidate stops early only when its bound exceeds the threshold by more
                            # than rounding (the bound sums in another order than the distance)
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


def evaluate(scenario: LoadedScenario, seeds: Sequence[int], overrides: dict, targets: Sequence[Target],
             threshold: float | None = None) -> np.ndarray:
    """One candidate: its simulated target values for each replicate seed (replicates × targets).

    With a ``threshold`` the replicates run side by side a year at a time, and a candidate whose
    register alone already puts it beyond the threshold (``register_bound``, a lower bound of its
    distance) stops there: its values are NaN, and it is rejected as it would have been at the end.
    Accepted candidates and their values are those of a run to the end. Without a threshold the
    replicates run one after another (one model in memory at a time)."""
    scenario = scenario.with_overrides(overrides)  # checked once for the replicates
    if threshold is None:
        return np.array([observe(TuopinModel(scenario, seed=seed, collect=False).run().register_tables(), targets)
                         for seed in seeds])
    models = [TuopinModel(scenario, seed=seed, collect=False) for seed in seeds]
    limit = threshold * (1 + EARLY_MARGIN)
    ends: dict[int, np.ndarray] = {}
    names = models[0].counties.names
    for year in models[0].spec.years[:-1]:  # a run that reaches its last year is observed whole
        ends[year] = np.mean([m.run_through(year).ledger.persons_end(year) for m in models], axis=0)
        if register_bound(ends, names, targets) > limit:
            return np.full((len(seeds), len(targets)), np.nan)
    return np.array([observe(m.run().register_tables(), targets) for m in models])


def run_candidates(scenario: LoadedScenario, seeds: Sequence[int], candidates: Sequence[dict],
                   targets: Sequence[Target], workers: int | None = None, dask: str | None = None,
                   done: Callable[[int, np.ndarray], None] | None = None,
                   threshold: float | None = None, pool: Executor | None = None) -> list[np.ndarray]:
    """Evaluate candidates (overrides) through the executor; results in candidate order.
    ``done(i, values)`` is called as each finishes (for saving and progress); ``threshold``
    lets ``evaluate`` stop candidates that cannot meet it. ``pool``: an executor already
    running (a calibration keeps one for all its generations), else one is started here."""
    results: list[np.ndarray | None] = [None] * len(candidates)
    w = local_workers(workers, len(candidates)) if candidates else 1
    if pool is None and dask is None and w <= 1:
        for i, c in enumerate(candidates):
            results[i] = evaluate(scenario, seeds, c, targets, threshold)
            if done:
                done(i, results[i])
        return results
    with ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(executor_for(w, dask))
        futures = {pool.submit(evaluate, scenario, list(seeds), c, list(targets), threshold): i for i, c in enumerate(candidates)}
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
    seeds: str = "per-generation"  # replicate seeds drawn anew each generation (CRN within one)

    def fingerprint(self) -> str:
        """The identity of the work kept on disk. The number of generations is left out: a
        generation depends only on those before it, so asking for more extends a calibration."""
        settings = {k: v for k, v in asdict(self).items() if k != "generations"}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Generation:
    """A generation's particles after its moves (equal weights), and what it took."""

    index: int
    params: np.ndarray         # particles × free parameters
    distances: np.ndarray      # particles
    values: np.ndarray         # particles × targets (mean over replicates)
    threshold: float           # the largest distance a particle may have
    simulated: int             # candidates simulated in the generation
    moved: int                 # moves accepted (0 in generation 0)

    @property
    def acceptance(self) -> float:
        """Share of the generation's simulated moves that were accepted."""
        return self.moved / self.simulated if self.index and self.simulated else float("nan")

    def sets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The distinct parameter sets (in order of first appearance), their distances, and their
        weights (the share of particles holding each)."""
        _, first, inverse = np.unique(self.params, axis=0, return_index=True, return_inverse=True)
        counts = np.bincount(inverse.ravel())
        order = np.argsort(first, kind="stable")
        idx = first[order]
        return self.params[idx], self.distances[idx], counts[order] / len(self.params)


@dataclass
class Calibration:
    settings: Settings
    free: list[FreeParameter]
    targets: list[Target]
    generations: list[Generation] = field(default_factory=list)

    @property
    def posterior(self) -> pd.DataFrame:
        """The last generation's distinct parameter sets, each weighted by the share of particles
        holding it, with its distance."""
        params, dist, weights = self.generations[-1].sets()
        df = pd.DataFrame({f.name: [f.value(x) for x in params[:, i]] for i, f in enumerate(self.free)})
        df["weight"] = weights
        df["distance"] = dist
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


def _bounds(free: Sequence[FreeParameter]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([f.low for f in free]), np.array([f.high for f in free])


def _rng(settings: Settings, gen: int, step: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(settings.root_seed, spawn_key=(gen, step))))


def _prior_draws(settings: Settings, free: Sequence[FreeParameter]) -> np.ndarray:
    """Generation 0's candidates: ``candidates`` draws from the uniform prior."""
    lo, hi = _bounds(free)
    return lo + (hi - lo) * _rng(settings, 0, 0).random((settings.candidates, len(free)))


def _move_cov(particles: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A move's covariance: ``MOVE_SCALE`` / d times the particles' covariance, each variance
    raised to at least (``KERNEL_FLOOR`` × the prior's range)², so that particles sharing a value
    (a whole number, or copies of one particle) still move."""
    d = particles.shape[1]
    cov = np.atleast_2d(np.cov(particles.T)) if len(particles) > 1 else np.zeros((d, d))
    cov = MOVE_SCALE / d * cov
    floor = (KERNEL_FLOOR * (hi - lo)) ** 2
    return cov + np.diag(np.maximum(floor - np.diag(cov), 0.0))


def _threshold(distances: np.ndarray) -> float:
    """The next threshold: the ``KEEP`` quantile of the particles' distances."""
    return float(np.quantile(distances, KEEP, method="inverted_cdf"))


def _resample(settings: Settings, gen: int, keep: np.ndarray) -> np.ndarray:
    """Indices of ``particles`` copies of the kept particles: each kept one as often as the others,
    the remainder drawn without replacement."""
    n, k = settings.particles, len(keep)
    extra = _rng(settings, gen, 0).choice(k, size=n % k, replace=False)
    return np.sort(np.concatenate([np.repeat(keep, n // k), keep[extra]]), kind="stable")


def _step(settings: Settings, gen: int, step: int, free: Sequence[FreeParameter], particles: np.ndarray,
          cov: np.ndarray) -> np.ndarray:
    """Every particle's proposed move in this step of the generation, reflected at the prior's
    bounds (a reflected Gaussian step is still symmetric, so the acceptance rule stays valid; a step
    cut off at the bounds instead was wasted for most particles in 20 dimensions)."""
    # The covariance is a sample covariance plus a non-negative diagonal, so positive semi-definite;
    # numpy's check (an absolute tolerance) misfires on parameters of large scale, and only warns.
    noise = _rng(settings, gen, step).multivariate_normal(np.zeros(len(free)), cov, size=len(particles),
                                                          check_valid="ignore")
    lo, hi = _bounds(free)
    return _reflect(particles + noise, lo, hi)


def _reflect(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``x`` folded into [lo, hi] by mirroring at the bounds (as often as needed)."""
    width = hi - lo
    t = np.mod(x - lo, 2 * width)
    return lo + np.where(t > width, 2 * width - t, t)


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

    def chunk_path(self, gen: int, step: int, chunk: int) -> Path:
        return self.dir / f"gen-{gen:02d}-step-{step:02d}-chunk-{chunk:04d}.parquet"

    def load_chunk(self, gen: int, step: int, chunk: int, n_targets: int) -> np.ndarray | None:
        """A chunk's values (candidates × replicates × targets), or None if absent or unreadable."""
        p = self.chunk_path(gen, step, chunk)
        if not p.exists():
            return None
        try:
            flat = pd.read_parquet(p).to_numpy()
            return flat.reshape(len(flat), self.settings.replicates, n_targets)
        except (OSError, ValueError):
            return None

    def save_chunk(self, gen: int, step: int, chunk: int, values: np.ndarray) -> None:
        flat = values.reshape(values.shape[0], -1)
        df = pd.DataFrame(flat, columns=[f"v{i}" for i in range(flat.shape[1])])
        atomic_write(self.chunk_path(gen, step, chunk), lambda fh: fh.write(table_bytes_parquet(df)))


def _fixed_digest(scenario: LoadedScenario, free: Sequence[FreeParameter]) -> str:
    """An id of the values of the parameters a calibration keeps fixed."""
    names = {f.name for f in free}
    items = sorted((p.name, repr(dict(p.values) if p.dated else p.value)) for p in scenario.params if p.name not in names)
    return hashlib.sha256(repr(items).encode()).hexdigest()[:16]


def calibrate(scenario: LoadedScenario, targets: Sequence[Target], out: Path, *, free_names: Sequence[str] | None = None,
              particles: int = 100, candidates: int = 300, generations: int = 4, replicates: int = 2,
              seed: int = 1, workers: int | None = None, dask: str | None = None,
              progress: Callable[[int, int], None] | None = None, pool: Executor | None = None) -> Calibration:
    """Run (or resume) a calibration of ``scenario`` against ``targets`` into the folder ``out``
    (through ``pool``, an executor already running, if given; else one started here).

    The scenario runs without its own parameter sets (a calibration makes them: the free
    parameters are drawn from their priors, the rest keep their values), and the calibration's
    identity leaves out the free parameters' values, which it does not use: a scenario whose
    defaults became an earlier calibration's medians resumes that calibration. Each generation
    after the first simulates ``candidates // particles`` moves of every particle."""
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
    steps = max(1, candidates // particles)
    count = {"done": 0, "total": candidates + (generations - 1) * steps * particles}
    # One pool of workers for the whole calibration (starting one costs a second or two, and a
    # calibration has two or three steps a generation); processes start at the first task.
    w = local_workers(workers, candidates)
    with _pool(pool, w, dask) as pool:

        def run(gen: int, step: int, proposals: np.ndarray, threshold: float | None = None) -> np.ndarray:
            """The mean target values of each proposal (all inside the prior: steps are reflected);
            NaN for a proposal stopped early as beyond ``threshold``."""
            values = _evaluate(scenario, generation_seeds(settings, gen), targets, store, gen, step,
                               [_overrides(free, x) for x in proposals], pool, count, progress, threshold)
            return values.mean(axis=1)

        _generations(cal, settings, free, targets, steps, run)
    return cal


def generation_seeds(settings: Settings, gen: int) -> list[int]:
    """The replicate seeds every candidate of generation ``gen`` runs."""
    root = np.random.SeedSequence(settings.root_seed, spawn_key=(10_000, gen)).generate_state(1)[0]
    return replicate_seeds(root, settings.replicates)


def _pool(pool: Executor | None, workers: int, dask: str | None):
    """The executor to use: ``pool`` if running, else one for ``workers`` (or Dask), else none."""
    if pool is not None:
        return nullcontext(pool)
    return executor_for(workers, dask) if (dask or workers > 1) else nullcontext()


def _generations(cal: Calibration, settings: Settings, free: Sequence[FreeParameter], targets: Sequence[Target],
                 steps: int, run: Callable[..., np.ndarray]) -> None:
    """Generation 0 from the prior, then each later generation's moves, into ``cal``."""
    particles, generations = settings.particles, settings.generations
    lo, hi = _bounds(free)
    prior = _prior_draws(settings, free)
    mean = run(0, 0, prior)
    dist = np.array([distance(m, targets) for m in mean])
    best = np.argsort(dist, kind="stable")[:particles]
    gen0 = Generation(0, prior[best], dist[best], mean[best], float(dist[best].max()), len(prior), 0)
    cal.generations.append(gen0)
    previous = gen0
    for gen in range(1, generations):
        eps = _threshold(previous.distances)
        keep = np.flatnonzero(previous.distances <= eps)
        pick = _resample(settings, gen, keep)
        params, dist, mean = previous.params[pick].copy(), previous.distances[pick].copy(), previous.values[pick].copy()
        cov = _move_cov(params, lo, hi)
        moved = simulated = 0
        for step in range(1, steps + 1):
            proposals = _step(settings, gen, step, free, params, cov)
            new_mean = run(gen, step, proposals, eps)
            new_dist = np.array([distance(m, targets) for m in new_mean])
            accept = new_dist <= eps  # NaN (stopped early) is not
            params[accept], dist[accept], mean[accept] = proposals[accept], new_dist[accept], new_mean[accept]
            moved += int(accept.sum())
            simulated += len(proposals)
        previous = Generation(gen, params, dist, mean, eps, simulated, moved)
        cal.generations.append(previous)


def _evaluate(scenario: LoadedScenario, seeds: Sequence[int], targets: Sequence[Target], store: _Store, gen: int,
              step: int, candidates: Sequence[dict], pool: Executor | None, count: dict,
              progress: Callable[[int, int], None] | None, threshold: float | None) -> np.ndarray:
    """Values (candidates × replicates × targets) of one step's candidates: chunks saved by an
    earlier, interrupted run are read back; the rest run through the executor, and each chunk is
    saved as soon as it is whole."""
    n = len(candidates)
    values = np.full((n, len(seeds), len(targets)), np.nan)
    pending: dict[int, set[int]] = {}
    for c0 in range(0, n, CHUNK):
        size = min(CHUNK, n - c0)
        saved = store.load_chunk(gen, step, c0 // CHUNK, len(targets))
        if saved is not None and saved.shape[0] == size:
            values[c0:c0 + size] = saved
            count["done"] += size
        else:
            pending[c0] = set(range(c0, c0 + size))
    if progress:
        progress(count["done"], count["total"])
    idx = sorted(i for chunk in pending.values() for i in chunk)

    def done(k: int, v: np.ndarray) -> None:
        i = idx[k]
        c0 = i - i % CHUNK
        values[i] = v
        pending[c0].discard(i)
        count["done"] += 1
        if not pending[c0]:  # the chunk is whole: keep it for a resume
            store.save_chunk(gen, step, c0 // CHUNK, values[c0:min(c0 + CHUNK, n)])
        if progress:
            progress(count["done"], count["total"])

    run_candidates(scenario, seeds, [candidates[i] for i in idx], targets, workers=1, done=done,
                   threshold=threshold, pool=pool)
    return values


def write_outputs(cal: Calibration, out: Path) -> list[Path]:
    """The posterior (Parquet), every generation's summary, and the calibrated parameters as a
    scenario overlay (TOML) that a scenario can extend."""
    out = Path(out)
    paths = []
    post = out / "posterior.parquet"
    atomic_write(post, lambda fh: fh.write(table_bytes_parquet(cal.posterior)))
    paths.append(post)
    rows = []
    for g in cal.generations:
        weights = g.sets()[2]
        rows.append({"generation": g.index, "threshold": g.threshold, "best": float(g.distances.min()),
                     "median_accepted": float(np.median(g.distances)), "simulated": g.simulated,
                     "acceptance": g.acceptance, "distinct": len(weights), "effective_size": effective_size(weights)})
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
    if scenario.parameter_sets is not None:
        # The calibration runs without them (it makes them), and so do its fit report and its
        # manifest: the report's runs draw every free parameter from the new posterior alone.
        scenario = scenario.with_changes({"scenario": {"parameter_sets": None}})
    w = local_workers(workers, candidates)
    with _pool(None, w, dask) as pool:  # one pool for the generations and the report's runs
        cal = calibrate(scenario, targets, out, free_names=free_names, particles=particles, candidates=candidates,
                        generations=generations, replicates=replicates, seed=seed, workers=workers, dask=dask,
                        progress=progress, pool=pool)
        outputs = write_outputs(cal, out)
        bounds = {f.name: (f.low, f.high) for f in cal.free}
        outputs += write_report(out / "fit", scenario, targets, cal.posterior, pd.read_csv(out / "generations.csv"),
                                bounds, runs=report_runs, seed=seed, title=f"Calibration of {scenario.name}", pool=pool)
    info = {"command": "calibrate", "scenario_name": scenario.name, "scenario": scenario.spec.model_dump(mode="json"),
            "scenario_files": [str(f) for f in scenario.files], "scenario_digest": scenario.spec.digest(),
            "parameters": {p.name: (dict(p.values) if p.dated else p.value) for p in scenario.params},
            "calibration": asdict(cal.settings), "targets_file": targets_file,
            "targets": [asdict(t) for t in targets], "root_seed": seed, "report_runs": report_runs,
            "elapsed_seconds": round(time.perf_counter() - started, 1)}
    manifest = write_manifest(out, info, outputs)
    return cal, manifest
