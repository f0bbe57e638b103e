"""The budget optimiser: how to split a total budget across a scenario's programmes.

This module owns the search for a split (``optimize``), the trade-off between the total budget
and sustained exits, the confirmation of the best split on fresh replicates, and the results
folder of ``tuopin optimize`` (``run_optimisation``, ``write_outputs``).

**A split** is one share per programme the scenario funds (the programmes its ``[budgets]`` names,
in registry order), each within its bounds (``bounds``: 0 to 1 unless given), summing to 1. It is
applied to a total ``total`` (yuan over the whole run): programme *p* gets ``total × share_p`` over
the run, spread over the years in proportion to the scenario's own yearly profile of its total
budget (``profile="total"``, the default: every year's envelope keeps the scenario's proportions)
or of that programme's own budget (``profile="own"``: the baseline split at the scenario's own
total is then the scenario exactly). Amounts are whole yuan per programme and year. A candidate
is the scenario with these budgets laid over it as dotted overrides, checked whole like any
scenario before it runs. The *baseline split* is the scenario's own shares of its run total.

**Objectives.**

- ``sustained-exits`` (default): maximise sustained exits at the given total: persons in
  households that exited during the run and had not returned by its end
  (``sim/analysis/compare.py: outcomes``), the mean over the search replicates.
- ``cost-to-target``: minimise spending (yuan actually spent over the run, the mean over the
  search replicates) subject to meeting the scenario's registered-poor targets, searching the
  split and the total together, the total between ``min_total_share × total`` and ``total``.
  The targets are the registered poor persons at the end of each year that the plan's reductions
  imply for the whole area (``population.counties.*.reductions``, as ``plan_targets`` computes
  them), each met when the mean over replicates is at most the target plus ``target_slack`` × the
  registered poor persons at the start; and the scenario's own ``[[observations]]`` of registered
  persons or households at the end of a year, each met when the mean is at most its value plus
  its tolerance. If no candidate meets every target, the result says so (``feasible`` False, no
  best split) and names the candidate that came closest.

**Method.** A seeded Tree-structured Parzen Estimator (optuna's ``TPESampler``, multivariate)
proposes candidates in batches of ``batch``; every candidate runs on the same ``replicates``
replicate seeds derived from the root seed (common random numbers: replicate *k* of every
candidate meets the same households and shocks, so differences between candidates are the
budgets, not chance). A batch is evaluated through the project's executor (this process, local
worker processes or a Dask cluster) and told to the sampler in candidate order before the next
batch is proposed, so the result is a pure function of the scenario and the settings, whatever
the number of workers. The baseline split is the first candidate (when it is within the
bounds), so the best split is never worse than the baseline on the search replicates. Shares are
drawn as normalised exponentials (uniform on the simplex before the sampler learns), then put
within their bounds.

**Confirmation and intervals.** The best split of a search is chosen on the search replicates,
which flatters it (the best of many noisy estimates). So the best split and the baseline split
are run again on ``confirm_replicates`` fresh replicates (replicates ``replicates`` to
``replicates + confirm_replicates − 1`` of the same root seed); the means, 5–95 % intervals and
paired differences reported come from those.

**Trade-off.** For each fraction of the total in ``tradeoff`` (default 60 % to 140 %), a search of
``tradeoff_evaluations`` candidates for the most sustained exits at that total, started from the
main search's best split and the baseline split; each level's best and the baseline split at that
total are confirmed as above.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import time
import warnings
from concurrent.futures import Executor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core.budget import TOTAL
from ..core.streams import replicate_seeds
from ..execution.ensemble import Ensemble, parameters_digest, plan_targets, scenario_record
from ..execution.errors import EnsembleError
from ..execution.executors import executor_for, local_workers
from ..execution.folder import free_folder, locked, new_set, published
from ..execution.output import MANIFEST, table_bytes_csv, write_bytes
from ..inputs.arguments import COMMAND_LINE, MAX_REPLICATES, check_seed, check_workers, whole_number
from ..inputs.errors import InputError
from ..inputs.scenario import MAX_BUDGET, SCENARIO_OVERRIDABLE, LoadedScenario, load_scenario
from ..inputs.targets import Target
from ..model import simulate
from ..programmes import PROGRAMME_NAMES
from .compare import HIGH, LOW, outcomes
from .observe import observe

SUSTAINED = "sustained-exits"
COST = "cost-to-target"
OBJECTIVES = {SUSTAINED: "most sustained exits (persons) at the given total",
              COST: "least spending that meets the registered-poor targets, total at most the given one"}
PROFILES = {"total": "every programme follows the yearly profile of the scenario's total budget",
            "own": "every programme follows the yearly profile of its own budget in the scenario"}

# Settings and their defaults (each is an argument of ``optimize`` and an option of the command).
DEFAULT_EVALUATIONS = 48          # candidates of the main search (the baseline split included)
DEFAULT_REPLICATES = 4            # search replicates per candidate (common random numbers)
DEFAULT_BATCH = 8                 # candidates proposed together, then run in parallel
DEFAULT_STARTUP_SHARE = 0.25      # share of a search's candidates drawn at random before the sampler models
DEFAULT_CONFIRM_REPLICATES = 10   # fresh replicates for the best and the baseline split
DEFAULT_TRADEOFF = (0.6, 0.8, 1.0, 1.2, 1.4)   # fractions of the given total on the trade-off curve
DEFAULT_TRADEOFF_EVALUATIONS = 12  # candidates per trade-off level (1.0 reuses the main search)
# A zero target is met within 2 % of the register at the start: returners and new entries of the
# last December stay registered (the same allowance as calibration/targets/sanming.csv gives the
# plan's zero targets; an assumption of that file).
DEFAULT_TARGET_SLACK = 0.02
DEFAULT_MIN_TOTAL_SHARE = 0.5     # cost-to-target searches totals from this share of the given total up
DEFAULT_PROFILE = "total"
DEFAULT_SPREAD = 3.0              # a programme's weight ranges from a third to three times its baseline weight
MAX_SPREAD = 1e6

# Limits of the settings (beyond them a setting describes no useful search).
MAX_EVALUATIONS = 10_000
MAX_BATCH = 1_000
MAX_TRADEOFF_FRACTION = 100.0
SAMPLER_KEY = 20_517              # spawn key of the samplers' seeds (apart from the replicate seeds)
EDGE = 0.02                       # a point this near 0 or 1 is at the edge of the search range
ZERO_CENTRE = 0.01                # centre weight of a free programme the baseline gives nothing (share of the rest)
FILES = ("evaluations.csv", "tradeoff.csv", "confirmation.csv", "best.toml", "tradeoff.png")

MEASURES = ("sustained_exits_persons", "exits_persons", "returns_persons", "registered_persons_end",
            "person_years_registered", "spent")


# ---- settings -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """What an optimisation is, apart from the scenario: everything that decides its result."""

    total: float                                   # yuan over the whole run
    objective: str = SUSTAINED
    seed: int = 0                                  # root seed of every replicate
    evaluations: int = DEFAULT_EVALUATIONS
    replicates: int = DEFAULT_REPLICATES
    batch: int = DEFAULT_BATCH
    startup_share: float = DEFAULT_STARTUP_SHARE
    confirm_replicates: int = DEFAULT_CONFIRM_REPLICATES
    tradeoff: tuple[float, ...] = DEFAULT_TRADEOFF
    tradeoff_evaluations: int = DEFAULT_TRADEOFF_EVALUATIONS
    bounds: tuple[tuple[str, float, float], ...] = ()   # (programme, lowest share, highest share)
    profile: str = DEFAULT_PROFILE
    target_slack: float = DEFAULT_TARGET_SLACK
    min_total_share: float = DEFAULT_MIN_TOTAL_SHARE
    spread: float = DEFAULT_SPREAD

    def as_record(self) -> dict:
        d = asdict(self)
        d["tradeoff"] = list(self.tradeoff)
        d["bounds"] = {p: [lo, hi] for p, lo, hi in self.bounds}
        return d


def _key(name: str, origin: str) -> str:
    """An argument as the caller knows it: ``--total`` on the command line, ``total`` in Python."""
    return f"--{name.replace('_', '-')}" if origin == COMMAND_LINE else name


def _number(value: Any, origin: str, name: str, low: float, high: float, what: str,
            low_open: bool = False) -> float:
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (value > low if low_open else value >= low) and value <= high)
    if not ok:
        raise InputError(origin, _key(name, origin), value, f"{what} must be a finite number in range",
                         f"{'>' if low_open else '>='} {low:g} and <= {high:g}")
    return float(value)


def parse_bound(text: str, origin: str = COMMAND_LINE) -> tuple[str, float, float]:
    """``PROGRAMME=LOW:HIGH`` (either side may be left out: ``welfare=0.3:``, ``relocation=:0.2``)."""
    programme, sep, span = str(text).partition("=")
    low, colon, high = span.partition(":")
    try:
        if not sep or not colon or not programme.strip():
            raise ValueError
        return programme.strip(), float(low) if low.strip() else 0.0, float(high) if high.strip() else 1.0
    except ValueError:
        raise InputError(origin, _key("bound", origin), text, "a bound is PROGRAMME=LOW:HIGH (shares of the total)",
                         "e.g. welfare=0.3:1 or relocation=:0.2") from None


def check_settings(scenario: LoadedScenario, *, total: Any, objective: Any = SUSTAINED, seed: Any = None,
                   evaluations: Any = DEFAULT_EVALUATIONS, replicates: Any = DEFAULT_REPLICATES,
                   batch: Any = DEFAULT_BATCH, startup_share: Any = DEFAULT_STARTUP_SHARE,
                   confirm_replicates: Any = DEFAULT_CONFIRM_REPLICATES, tradeoff: Any = DEFAULT_TRADEOFF,
                   tradeoff_evaluations: Any = DEFAULT_TRADEOFF_EVALUATIONS,
                   bounds: Mapping[str, Sequence[float]] | None = None, profile: Any = DEFAULT_PROFILE,
                   target_slack: Any = DEFAULT_TARGET_SLACK, min_total_share: Any = DEFAULT_MIN_TOTAL_SHARE,
                   spread: Any = DEFAULT_SPREAD, origin: str = "optimize") -> Settings:
    """Every setting checked, as one InputError naming the argument (the option, on the command
    line) and the value; the root seed defaults to the scenario's."""
    if objective not in OBJECTIVES:
        raise InputError(origin, _key("objective", origin), objective, "unknown objective", ", ".join(OBJECTIVES))
    if profile not in PROFILES:
        raise InputError(origin, _key("profile", origin), profile, "unknown yearly profile", ", ".join(PROFILES))
    levels = tuple(sorted({_number(f, origin, "tradeoff", 0, MAX_TRADEOFF_FRACTION, "a fraction of the total",
                                   low_open=True) for f in (tradeoff or ())}))
    largest = max((1.0, *levels))
    total = _number(total, origin, "total", 0, MAX_BUDGET / largest, "the total (yuan over the run)", low_open=True)
    seed = scenario.spec.scenario.seed if seed is None else check_seed(seed, origin, _key("seed", origin))
    settings = Settings(
        total=total, objective=objective, seed=seed,
        evaluations=whole_number(evaluations, origin, _key("evaluations", origin), 1, MAX_EVALUATIONS,
                                 "the number of evaluations"),
        replicates=whole_number(replicates, origin, _key("replicates", origin), 1, MAX_REPLICATES,
                                "the number of replicates"),
        batch=whole_number(batch, origin, _key("batch", origin), 1, MAX_BATCH, "the batch size"),
        startup_share=_number(startup_share, origin, "startup_share", 0, 1, "the startup share"),
        confirm_replicates=whole_number(confirm_replicates, origin, _key("confirm_replicates", origin), 1,
                                        MAX_REPLICATES, "the number of confirmation replicates"),
        tradeoff=levels,
        tradeoff_evaluations=whole_number(tradeoff_evaluations, origin, _key("tradeoff_evaluations", origin), 1,
                                          MAX_EVALUATIONS, "the number of evaluations per trade-off level"),
        bounds=_check_bounds(scenario, bounds or {}, origin),
        profile=profile,
        target_slack=_number(target_slack, origin, "target_slack", 0, 1, "the target slack"),
        min_total_share=_number(min_total_share, origin, "min_total_share", 0, 1, "the lowest share of the total",
                                low_open=True),
        spread=_number(spread, origin, "spread", 1, MAX_SPREAD, "the spread"),
    )
    if settings.replicates + settings.confirm_replicates > MAX_REPLICATES:
        raise InputError(origin, _key("confirm_replicates", origin), settings.confirm_replicates,
                         "search and confirmation replicates together exceed the limit",
                         f"at most {MAX_REPLICATES - settings.replicates:,}")
    if objective == COST and not registered_targets(scenario, settings.target_slack):
        raise InputError(origin, _key("objective", origin), objective,
                         f"{scenario.name} has no registered-poor targets (no plan reductions in "
                         "population.counties, no [[observations]] of registered persons or households at the end of a year)",
                         SUSTAINED)
    return settings


def _check_bounds(scenario: LoadedScenario, bounds: Mapping[str, Sequence[float]], origin: str
                  ) -> tuple[tuple[str, float, float], ...]:
    funded = funded_programmes(scenario)
    key = _key("bound", origin)
    out = []
    for programme, span in bounds.items():
        try:
            low, high = (float(v) for v in span)
        except (TypeError, ValueError):
            raise InputError(origin, key, {programme: span}, "a bound is a pair of shares (lowest, highest)") from None
        shown = f"{programme}={low:g}:{high:g}"
        if programme not in funded:
            raise InputError(origin, key, shown, f"unknown programme: {scenario.name} funds only these",
                             ", ".join(funded))
        if not (math.isfinite(low) and math.isfinite(high) and 0 <= low <= high <= 1):
            raise InputError(origin, key, shown, "bounds are shares with 0 <= LOW <= HIGH <= 1")
        out.append((programme, low, high))
    out.sort(key=lambda b: funded.index(b[0]))
    lows = sum(b[1] for b in out)
    highs = sum(b[2] for b in out) + (len(funded) - len(out))
    if lows > 1 + 1e-9 or highs < 1 - 1e-9:
        raise InputError(origin, key, ", ".join(f"{p}={lo:g}:{hi:g}" for p, lo, hi in out),
                         "no split meets these bounds: the lowest shares add up to more than 1, "
                         "or the highest to less than 1")
    return tuple(out)


# ---- splits -------------------------------------------------------------------------------------

def funded_programmes(scenario: LoadedScenario) -> list[str]:
    """The programmes the scenario's ``[budgets]`` names, in registry (run) order."""
    return [p for p in PROGRAMME_NAMES if p in scenario.spec.budgets]


@dataclass(frozen=True)
class Space:
    """The splits a search may propose, and how a split becomes yearly budgets.

    The sampler proposes one number x in [0, 1] per free programme (one whose bounds leave it a
    choice). Programme *p* gets the weight ``centre_p × spread ** (2x − 1)``, from ``centre_p /
    spread`` to ``centre_p × spread``, and the free programmes share what the lowest shares
    leave in proportion to their weights. The centre is the baseline split (what it leaves above
    the lowest shares), so x = ½ everywhere is the baseline split, and random draws are
    reallocations around it on a log scale. A share above its highest is cut to it, the excess
    going to the others in proportion to their weights."""

    programmes: tuple[str, ...]
    years: tuple[int, ...]
    low: np.ndarray          # lowest share per programme
    high: np.ndarray         # highest share per programme
    baseline: np.ndarray     # the scenario's own shares of its run total
    centre: np.ndarray       # the weights at x = ½ (sum 1 over the free programmes)
    spread: float            # a weight moves from centre / spread to centre × spread
    profile: np.ndarray      # programmes × years: each row the spread of a programme's run amount over years
    scenario_total: float    # the scenario's own budgets over the run, yuan

    @classmethod
    def of(cls, scenario: LoadedScenario, settings: Settings) -> "Space":
        spec = scenario.spec
        programmes = tuple(funded_programmes(scenario))
        years = tuple(spec.years)
        b = np.array([[spec.budget(p, y) for y in years] for p in programmes], dtype=np.float64).reshape(
            len(programmes), len(years))
        total = float(b.sum())
        # A scenario whose budgets are all zero has no proportions: an even split and an even spread.
        baseline = b.sum(axis=1) / total if total > 0 else np.full(len(programmes), 1.0 / len(programmes))
        by_year = b.sum(axis=0) / total if total > 0 else np.full(len(years), 1.0 / len(years))
        rows = []
        for row in b:
            own = settings.profile == "own" and row.sum() > 0
            rows.append(row / row.sum() if own else by_year)
        bounds = {p: (lo, hi) for p, lo, hi in settings.bounds}
        low = np.array([bounds.get(p, (0.0, 1.0))[0] for p in programmes])
        high = np.array([bounds.get(p, (0.0, 1.0))[1] for p in programmes])
        free = high > low
        centre = np.where(free, np.maximum(baseline - low, 0.0), 0.0)
        # A free programme the baseline leaves nothing above its lowest share gets a small weight
        # at the centre (a weight of zero could never grow).
        centre = np.where(free & (centre <= 0), ZERO_CENTRE * max(centre.sum(), 1e-300), centre)
        centre = centre / centre.sum() if centre.sum() > 0 else centre
        return cls(programmes, years, low, high, baseline, centre, settings.spread,
                   np.array(rows).reshape(b.shape), total)

    @property
    def free(self) -> list[int]:
        """Programmes whose share the search chooses (the others are fixed by their bounds)."""
        return [i for i in range(len(self.programmes)) if self.high[i] > self.low[i]]

    def within(self, shares: np.ndarray, tol: float = 1e-9) -> bool:
        return bool(np.all(shares >= self.low - tol) and np.all(shares <= self.high + tol))

    def shares(self, x: Sequence[float]) -> np.ndarray:
        """The split for a point of the sampler's space (class docstring)."""
        k = len(self.programmes)
        free = self.free
        weights = np.zeros(k)
        weights[free] = self.centre[free] * self.spread ** (2.0 * np.asarray(x, dtype=np.float64) - 1.0)
        raw = weights / weights.sum() if free else weights
        s = self.low + (1.0 - self.low.sum()) * raw
        capped = np.zeros(k, dtype=bool)
        for _ in range(k):
            over = s > self.high
            if not over.any():
                break
            excess = float((s - self.high)[over].sum())
            s[over] = self.high[over]
            capped |= over
            open_ = [i for i in free if not capped[i]]
            w = raw[open_] if raw[open_].sum() > 0 else (self.high - s)[open_]
            s[open_] += excess * w / w.sum()
        return s

    def point(self, shares: np.ndarray) -> list[float] | None:
        """The sampler's point that gives ``shares``, or None if no point gives it (a share of
        zero above its lowest, or shares further apart than the spread allows)."""
        free = self.free
        if not free:
            return []
        room = 1.0 - self.low.sum()
        raw = (np.asarray(shares, dtype=np.float64) - self.low)[free] / room
        if np.any(raw <= 0):
            return None
        ratio = np.log(raw / self.centre[free]) / np.log(self.spread) if self.spread > 1 else np.zeros(len(free))
        x = 0.5 + (ratio - (ratio.max() + ratio.min()) / 2) / 2   # weights are relative: centre the point
        if np.any(x < -1e-9) or np.any(x > 1 + 1e-9):
            return None
        x = np.clip(x, 0.0, 1.0)
        return [float(v) for v in x] if np.allclose(self.shares(x), shares, rtol=0, atol=1e-9) else None

    def budgets(self, shares: np.ndarray, total: float) -> dict[str, dict[int, float]]:
        """Yuan per programme and year (whole yuan)."""
        amounts = np.round(total * shares[:, None] * self.profile)
        return {p: {y: float(a) for y, a in zip(self.years, row)} for p, row in zip(self.programmes, amounts)}

    def overrides(self, shares: np.ndarray, total: float) -> dict[str, dict[str, float]]:
        return {f"budgets.{p}": {str(y): a for y, a in table.items()}
                for p, table in self.budgets(shares, total).items()}


# ---- targets ------------------------------------------------------------------------------------

def registered_targets(scenario: LoadedScenario, slack: float) -> list[Target]:
    """The registered-poor targets of cost-to-target: the plan's (whole area, each year the run
    has) with ``slack`` × the register at the start as their allowance, and the scenario's own
    observations of registered persons or households at the end of a year with their tolerance."""
    start = sum(c.poor_persons for c in scenario.spec.population.counties)
    out = [Target("registered_persons_end", TOTAL, int(y), int(y), float(v), max(slack * start, 0.0),
                  tolerance_reason=f"target_slack {slack:g} × {start:,} registered poor persons at the start",
                  source="the plan's reductions (population.counties.*.reductions)")
           for y, v in plan_targets(scenario).items()]
    out += [t for t in scenario.targets() if t.quantity in ("registered_persons_end", "registered_households_end")]
    return out


def _violations(mean_observed: np.ndarray, targets: Sequence[Target]) -> np.ndarray:
    """Persons (or households) above each target's allowance; <= 0 where it is met."""
    return np.array([m - (t.value + t.tolerance) for m, t in zip(mean_observed, targets)], dtype=np.float64)


def _shortfall(violations: np.ndarray, targets: Sequence[Target]) -> float:
    """How far a candidate is from meeting every target: the excesses in units of each allowance
    (of one person where the allowance is zero), added up."""
    scale = np.array([max(t.tolerance, 1.0) for t in targets])
    return float((np.maximum(violations, 0.0) / scale).sum()) if len(targets) else 0.0


# ---- evaluation -----------------------------------------------------------------------------------

def evaluate(scenario: LoadedScenario, seed: int, overrides: Mapping[str, Any], targets: Sequence[Target]
             ) -> np.ndarray:
    """One candidate on one replicate seed: ``MEASURES`` then the simulated value of each target."""
    results = simulate(scenario, seed, overrides)
    yearly = results.yearly.copy()
    yearly.insert(0, "replicate", 0)
    ens = Ensemble(scenario, int(seed), [int(seed)], _tables={"yearly": yearly})
    row = outcomes(ens, "").iloc[0]
    observed = observe(results.tables(), targets) if targets else np.zeros(0)
    return np.concatenate([np.array([float(row[m]) for m in MEASURES]), observed])


class _Runner:
    """Runs (candidate, seed) jobs through the executor and returns their values in job order;
    a job run before (the same budgets and seed) is not run again."""

    def __init__(self, scenario: LoadedScenario, targets: Sequence[Target], pool: Executor | None,
                 progress: Callable[[int, int], None] | None, planned: int):
        self.scenario, self.targets, self.pool = scenario, list(targets), pool
        self.progress, self.planned = progress, planned
        self.cache: dict[str, np.ndarray] = {}
        self.simulations = 0

    @staticmethod
    def _id(overrides: Mapping, seed: int) -> str:
        return json.dumps([overrides, int(seed)], sort_keys=True)

    def __call__(self, jobs: Sequence[tuple[Mapping, int]]) -> list[np.ndarray]:
        todo: dict[str, tuple[Mapping, int]] = {}
        for ov, seed in jobs:
            key = self._id(ov, seed)
            if key not in self.cache:
                todo.setdefault(key, (ov, seed))
        if self.pool is None:
            for key, (ov, seed) in todo.items():
                self._done(key, evaluate(self.scenario, seed, ov, self.targets))
        elif todo:
            try:
                futures = {self.pool.submit(evaluate, self.scenario, seed, ov, self.targets): key
                           for key, (ov, seed) in todo.items()}
                for fut in as_completed(futures):
                    self._done(futures[fut], fut.result())
            except BrokenProcessPool:
                raise EnsembleError("a worker process died during the optimisation; nothing was written "
                                    "(run the command again)") from None
        return [self.cache[self._id(ov, seed)] for ov, seed in jobs]

    def _done(self, key: str, values: np.ndarray) -> None:
        self.cache[key] = values
        self.simulations += 1
        if self.progress:
            self.progress(self.simulations, max(self.planned, self.simulations))


# ---- searches -----------------------------------------------------------------------------------

@dataclass
class Candidate:
    """One proposed split at one total, and its values on the search replicates."""

    search: str                 # "main" or "tradeoff"
    level: float                # the total as a fraction of the given total (the search's)
    number: int                 # the candidate's number in its search
    origin: str                 # "baseline", "start" (warm start), "sampler", or "reference" (not told)
    shares: np.ndarray
    total: float                # yuan over the run
    overrides: dict
    values: np.ndarray | None = None   # replicates × (MEASURES + targets)
    point: list[float] | None = None   # the sampler's point (None for a reference)

    def mean(self, measure: str) -> float:
        return float(self.values[:, MEASURES.index(measure)].mean())

    def observed(self) -> np.ndarray:
        return self.values[:, len(MEASURES):].mean(axis=0)


class _Search:
    """One optuna study, asked and told in batches."""

    def __init__(self, label: str, level: float, space: Space, settings: Settings, objective: str,
                 evaluations: int, index: int, starts: Sequence[tuple[str, np.ndarray, float]],
                 targets: Sequence[Target]):
        import optuna

        self.label, self.level, self.space, self.settings = label, level, space, settings
        self.objective, self.evaluations, self.targets = objective, evaluations, list(targets)
        self.candidates: list[Candidate] = []
        self.references: list[Candidate] = []
        self._trials: dict[int, Any] = {}
        seed = int(np.random.SeedSequence(settings.seed, spawn_key=(SAMPLER_KEY, index)).generate_state(1)[0])
        startup = max(1, round(settings.startup_share * evaluations))
        constraints = (lambda trial: trial.user_attrs["constraints"]) if objective == COST else None
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per study or trial
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna flags some sampler options as experimental
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True,
                                                 constant_liar=True, constraints_func=constraints)
            self.study = optuna.create_study(direction="maximize" if objective == SUSTAINED else "minimize",
                                             sampler=sampler)
        self.start_origins: list[str] = []
        self.baseline: Candidate | None = None   # the baseline split's candidate, once proposed
        for origin, shares, fraction in starts:
            point = space.point(shares) if space.within(shares) else None
            if point is None:  # not a split the search can propose: run beside the first batch, never told
                ref = self._candidate(-1, "reference", shares, fraction)
                self.references.append(ref)
                if origin == "baseline":
                    self.baseline = ref
                continue
            params = {f"x.{space.programmes[i]}": v for i, v in zip(space.free, point)}
            if objective == COST:
                params["total_share"] = fraction
            self.study.enqueue_trial(params)
            self.start_origins.append(origin)

    def _candidate(self, number: int, origin: str, shares: np.ndarray, fraction: float) -> Candidate:
        total = self.settings.total * (fraction if self.objective == COST else self.level)
        return Candidate(self.label, self.level, number, origin, shares, total, self.space.overrides(shares, total))

    @property
    def remaining(self) -> int:
        return self.evaluations - len(self.candidates)

    def ask(self, n: int) -> list[Candidate]:
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(min(n, self.remaining)):
                trial = self.study.ask()
                x = [trial.suggest_float(f"x.{self.space.programmes[i]}", 0.0, 1.0) for i in self.space.free]
                fraction = (trial.suggest_float("total_share", self.settings.min_total_share, 1.0)
                            if self.objective == COST else 1.0)
                number = len(self.candidates)
                origin = self.start_origins[number] if number < len(self.start_origins) else "sampler"
                c = self._candidate(number, origin, self.space.shares(x), fraction)
                c.point = list(x)
                if origin == "baseline":
                    self.baseline = c
                self._trials[number] = trial
                self.candidates.append(c)
                out.append(c)
        return out

    def tell(self, candidates: Sequence[Candidate]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for c in candidates:
                trial = self._trials.pop(c.number)
                if self.objective == COST:
                    trial.set_user_attr("constraints", _violations(c.observed(), self.targets).tolist())
                    self.study.tell(trial, c.mean("spent"))
                else:
                    self.study.tell(trial, c.mean("sustained_exits_persons"))


def _run_searches(searches: Sequence[_Search], runner: _Runner, seeds: Sequence[int], batch: int) -> None:
    """Ask every search for a batch, run them all together, tell each its own; until all are done."""
    first = True
    while any(s.remaining > 0 for s in searches):
        proposed = [(s, s.ask(batch)) for s in searches]
        if first:  # candidates outside the bounds: run with the first batch, never told
            proposed += [(None, s.references) for s in searches if s.references]
            first = False
        flat = [c for _, cs in proposed for c in cs]
        values = runner([(c.overrides, seed) for c in flat for seed in seeds])
        r = len(seeds)
        for i, c in enumerate(flat):
            c.values = np.array(values[i * r:(i + 1) * r])
        for s, cs in proposed:
            if s is not None and cs:
                s.tell(cs)


def _best(candidates: Sequence[Candidate], objective: str, targets: Sequence[Target]
          ) -> tuple[Candidate | None, Candidate]:
    """(best, closest): the best candidate (None if cost-to-target met no target set) and, for
    cost-to-target, the one nearest to meeting every target. Ties go to the earliest candidate."""
    pool = [c for c in candidates if c.origin != "reference"]
    if objective == SUSTAINED:
        best = max(pool, key=lambda c: (c.mean("sustained_exits_persons"), -c.number))
        return best, best
    short = [_shortfall(_violations(c.observed(), targets), targets) for c in pool]
    closest = pool[int(np.argmin(short))]
    feasible = [c for c, s in zip(pool, short) if s == 0]
    best = min(feasible, key=lambda c: (c.mean("spent"), c.number)) if feasible else None
    return best, closest


# ---- the result ------------------------------------------------------------------------------------

@dataclass
class Optimisation:
    """An optimisation's settings, every candidate, the best split and its confirmation, and the
    trade-off curve."""

    scenario: LoadedScenario
    settings: Settings
    space: Space
    targets: list[Target]
    search_seeds: list[int]
    confirm_seeds: list[int]
    candidates: list[Candidate]           # every candidate of every search, in the order run
    best: Candidate | None                # None: cost-to-target met at no candidate
    closest: Candidate                    # the best, or the candidate nearest to the targets
    baseline: Candidate                   # the baseline split at the given total
    confirmation: pd.DataFrame            # per replicate: best and baseline of every level, fresh seeds
    tradeoff: pd.DataFrame                # one row per level
    simulations: int = 0
    elapsed_seconds: float = 0.0
    workers: int | None = None
    dask: str | None = None

    @property
    def programmes(self) -> tuple[str, ...]:
        return self.space.programmes

    @property
    def feasible(self) -> bool | None:
        """Whether some candidate met every target (cost-to-target), None for sustained-exits."""
        return None if self.settings.objective == SUSTAINED else self.best is not None

    @property
    def evaluations(self) -> pd.DataFrame:
        """One row per candidate: its search, total, shares, and outcomes over the search replicates
        (mean and 5–95 % points), and for targets the mean excess over each allowance."""
        rows = []
        for c in self.candidates:
            row = {"search": c.search, "level": c.level, "candidate": c.number, "origin": c.origin,
                   "total_yuan": c.total}
            row.update({f"share_{p}": float(s) for p, s in zip(self.programmes, c.shares)})
            for m in MEASURES:
                v = c.values[:, MEASURES.index(m)]
                row[f"{m}_mean"] = float(v.mean())
                if m in ("sustained_exits_persons", "registered_persons_end"):
                    row[f"{m}_p05"], row[f"{m}_p95"] = (float(q) for q in np.quantile(v, [LOW, HIGH]))
            if self.targets:
                viol = _violations(c.observed(), self.targets)
                for t, v in zip(self.targets, viol):
                    row[f"excess:{_label(t)}"] = float(v)
                row["targets_met"] = bool(np.all(viol <= 0))
            row["best"] = c is self.best
            rows.append(row)
        return pd.DataFrame(rows)

    def confirmed(self, search: str, level: float, what: str) -> pd.DataFrame:
        """The confirmation replicates of a search's best or baseline split."""
        c = self.confirmation
        return c[(c.search == search) & (c.level == level) & (c.what == what)]


def _label(t: Target) -> str:
    """A target as a column name: quantity:place:years."""
    return t.label.replace(" ", ":")


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    values = np.asarray(values, dtype=np.float64)
    lo, hi = np.quantile(values, [LOW, HIGH])
    return float(values.mean()), float(lo), float(hi)


# ---- the whole optimisation -----------------------------------------------------------------------

def optimize(scenario: LoadedScenario, total: float | None = None, *, objective: str = SUSTAINED,
             seed: int | None = None, evaluations: int = DEFAULT_EVALUATIONS, replicates: int = DEFAULT_REPLICATES,
             batch: int = DEFAULT_BATCH, startup_share: float = DEFAULT_STARTUP_SHARE,
             confirm_replicates: int = DEFAULT_CONFIRM_REPLICATES, tradeoff: Sequence[float] = DEFAULT_TRADEOFF,
             tradeoff_evaluations: int = DEFAULT_TRADEOFF_EVALUATIONS,
             bounds: Mapping[str, Sequence[float]] | None = None, profile: str = DEFAULT_PROFILE,
             target_slack: float = DEFAULT_TARGET_SLACK, min_total_share: float = DEFAULT_MIN_TOTAL_SHARE,
             spread: float = DEFAULT_SPREAD, workers: int | None = None, dask: str | None = None,
             progress: Callable[[int, int], None] | None = None, origin: str = "optimize") -> Optimisation:
    """Find the split of ``total`` (yuan over the run; default: the scenario's own budgets over the
    run) across the scenario's programmes for ``objective`` (module docstring), then the trade-off
    curve and the confirmation of the best split. The result depends only on the scenario and the
    settings, never on ``workers`` or ``dask``. Bad settings are one InputError naming the argument."""
    started = time.perf_counter()
    if total is None:
        total = scenario_total(scenario)
    settings = check_settings(scenario, total=total, objective=objective, seed=seed, evaluations=evaluations,
                              replicates=replicates, batch=batch, startup_share=startup_share,
                              confirm_replicates=confirm_replicates, tradeoff=tradeoff,
                              tradeoff_evaluations=tradeoff_evaluations, bounds=bounds, profile=profile,
                              target_slack=target_slack, min_total_share=min_total_share, spread=spread,
                              origin=origin)
    workers = check_workers(workers, origin, _key("workers", origin))
    space = Space.of(scenario, settings)
    targets = registered_targets(scenario, settings.target_slack)
    # Candidates are checked whole before anything runs: the baseline split at the largest total.
    scenario.with_overrides(space.overrides(space.baseline, settings.total * max((1.0, *settings.tradeoff))),
                            origin=origin)
    seeds = replicate_seeds(settings.seed, settings.replicates + settings.confirm_replicates)
    search_seeds, confirm_seeds = seeds[:settings.replicates], seeds[settings.replicates:]
    levels = [f for f in settings.tradeoff if not (settings.objective == SUSTAINED and f == 1.0)]
    planned = (settings.replicates * (settings.evaluations + len(levels) * settings.tradeoff_evaluations)
               + settings.confirm_replicates * 2 * (len(levels) + 1))
    w = local_workers(workers, max(settings.batch * settings.replicates, 2 * settings.confirm_replicates))
    with ExitStack() as stack:
        pool = stack.enter_context(executor_for(w, dask)) if (dask or w > 1) else None
        runner = _Runner(scenario, targets, pool, progress, planned)
        main = _Search("main", 1.0, space, settings, settings.objective, settings.evaluations, 0,
                       [("baseline", space.baseline, 1.0)], targets)
        _run_searches([main], runner, search_seeds, settings.batch)
        best, closest = _best(main.candidates, settings.objective, targets)
        starts = [("baseline", space.baseline, 1.0)]
        if not np.allclose(closest.shares, space.baseline):
            starts.insert(0, ("start", closest.shares, 1.0))
        trade = [_Search("tradeoff", f, space, settings, SUSTAINED, settings.tradeoff_evaluations, i + 1,
                         starts, targets) for i, f in enumerate(levels)]
        _run_searches(trade, runner, search_seeds, settings.batch)
        # The best and the baseline split of every search, on fresh replicates.
        confirm = [("main", 1.0, "best", closest), ("main", 1.0, "baseline", main.baseline)]
        for s in trade:
            confirm += [("tradeoff", s.level, "best", _best(s.candidates, SUSTAINED, targets)[0]),
                        ("tradeoff", s.level, "baseline", s.baseline)]
        values = runner([(c.overrides, seed) for *_, c in confirm for seed in confirm_seeds])
    candidates = [c for s in [main, *trade] for c in s.candidates + s.references]
    opt = Optimisation(scenario, settings, space, targets, search_seeds, confirm_seeds, candidates, best, closest,
                       main.baseline, _confirmation_table(confirm, values, confirm_seeds, settings, targets),
                       pd.DataFrame(), runner.simulations, workers=workers, dask=dask)
    opt.tradeoff = _tradeoff_table(opt, main, trade)
    opt.elapsed_seconds = time.perf_counter() - started
    return opt


def scenario_total(scenario: LoadedScenario) -> float:
    """The scenario's own budgets over the whole run, yuan."""
    spec = scenario.spec
    return float(sum(spec.budget(p, y) for p in funded_programmes(scenario) for y in spec.years))


def _confirmation_table(confirm, values, seeds, settings: Settings, targets) -> pd.DataFrame:
    rows = []
    r = len(seeds)
    for i, (search, level, what, c) in enumerate(confirm):
        for k, seed in enumerate(seeds):
            v = values[i * r + k]
            row = {"search": search, "level": level, "what": what, "total_yuan": c.total,
                   "replicate": settings.replicates + k, "seed": int(seed)}
            row.update({m: float(x) for m, x in zip(MEASURES, v)})
            row.update({f"observed:{_label(t)}": float(x) for t, x in zip(targets, v[len(MEASURES):])})
            rows.append(row)
    return pd.DataFrame(rows)


def _tradeoff_table(opt: Optimisation, main: _Search, trade: Sequence[_Search]) -> pd.DataFrame:
    """One row per level of the curve: the best split found and the baseline split at that total,
    their sustained exits on the confirmation replicates (mean and 5–95 % points) and the paired gain."""
    settings = opt.settings
    rows = []
    for level in settings.tradeoff:
        reuse = level == 1.0 and settings.objective == SUSTAINED
        search = main if reuse else next(s for s in trade if s.level == level)
        name = "main" if reuse else "tradeoff"
        best, base = opt.confirmed(name, level, "best"), opt.confirmed(name, level, "baseline")
        chosen, _ = _best(search.candidates, SUSTAINED, opt.targets)
        row = {"level": level, "total_yuan": settings.total * level, "evaluations": len(search.candidates)}
        row.update({f"share_{p}": float(s) for p, s in zip(opt.programmes, chosen.shares)})
        row["search_sustained_mean"] = chosen.mean("sustained_exits_persons")
        for what, df in (("best", best), ("baseline", base)):
            m, lo, hi = _interval(df.sustained_exits_persons.to_numpy())
            row.update({f"{what}_sustained_mean": m, f"{what}_sustained_p05": lo, f"{what}_sustained_p95": hi,
                        f"{what}_spent_mean": float(df.spent.mean())})
        gain = best.sustained_exits_persons.to_numpy() - base.sustained_exits_persons.to_numpy()
        row["gain_mean"], row["gain_p05"], row["gain_p95"] = _interval(gain)
        if opt.targets:
            observed = best[[f"observed:{_label(t)}" for t in opt.targets]].mean().to_numpy()
            row["targets_met"] = bool(np.all(_violations(observed, opt.targets) <= 0))
        rows.append(row)
    return pd.DataFrame(rows)


def at_edge(opt: Optimisation) -> list[str]:
    """Programmes whose share in the best split sits at the edge of the search range (a wider
    ``spread`` might find more there)."""
    c = opt.best
    if c is None or c.point is None:
        return []
    return [opt.programmes[i] for i, x in zip(opt.space.free, c.point) if x <= EDGE or x >= 1 - EDGE]


# ---- outputs ------------------------------------------------------------------------------------

def default_out(scenario: LoadedScenario) -> Path:
    return Path("results") / f"{scenario.name}-optimize"


def fingerprint(scenario: LoadedScenario, settings: Settings) -> str:
    """What decides the result: the resolved scenario, its parameters and the settings."""
    record = {"scenario_digest": scenario.spec.digest(), "parameter_set_id": parameters_digest(scenario),
              "settings": settings.as_record()}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def _published_fingerprint(out: Path) -> str | None:
    """The fingerprint of the optimisation published in ``out``; "" for another kind of run; None
    if nothing is published there."""
    folder = published(out)
    if folder is None:
        return None
    try:
        info = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return ""
    return info.get("fingerprint", "") if info.get("command") == "optimize" else ""


def settle_out(scenario: LoadedScenario, settings: Settings, out: Path | None, replace: bool = False) -> Path:
    """The folder to write: never another run's silently. A folder holding the same optimisation
    (same scenario and settings) is written again; one holding another run is refused if it was
    asked for (unless ``replace``), and passed over for ``<default>-N`` if it was the default."""
    mine = fingerprint(scenario, settings)
    return free_folder(default_out(scenario), out, replace,
                       same=lambda folder: _published_fingerprint(folder) in (None, mine),
                       refusal=lambda folder: f"{folder} holds another run (other settings or another command): "
                                              "give another --out, or --replace to replace it")


def _toml_key(key: Any) -> str:
    text = str(key)
    return text if text and all(ch.isascii() and (ch.isalnum() or ch in "_-") for ch in text) else json.dumps(text)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def overlay_text(opt: Optimisation, out: Path) -> str | None:
    """``best.toml``: a scenario that extends the optimised one with the best split's budgets
    (yuan per year), for ``tuopin run``; None when there is no best split."""
    c = opt.best
    if c is None:
        return None
    scenario, settings = opt.scenario, opt.settings
    years = opt.space.years
    base = scenario.path.resolve()
    extends = os.path.relpath(base, Path(out).resolve()) if base.is_file() and base.suffix == ".toml" else None
    meta: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    notes = []
    if extends is not None:
        try:
            file_raw = load_scenario(base, allow_outside=True).raw
        except InputError:
            file_raw = {}
        own, theirs = scenario.raw.get("scenario", {}), file_raw.get("scenario", {})
        meta = {k: own[k] for k in SCENARIO_OVERRIDABLE
                if k in own and own.get(k) != theirs.get(k) and k not in ("title", "description")}
        parameters = {k: v for k, v in scenario.raw.get("parameters", {}).items()
                      if file_raw.get("parameters", {}).get(k) != v}
        for key in ("population", "budget_shares", "observations"):
            if scenario.raw.get(key) != file_raw.get(key):
                notes.append(f"# NOTE: the optimised scenario's [{key}] differs from {base.name}'s; this file does not carry it.")
    else:
        notes.append("# NOTE: the optimised scenario has no file to extend; add  extends = \"<its file>\"  below.")
    confirmed_best = opt.confirmed("main", 1.0, "best").sustained_exits_persons.to_numpy()
    confirmed_base = opt.confirmed("main", 1.0, "baseline").sustained_exits_persons.to_numpy()
    (bm, blo, bhi), (am, alo, ahi) = _interval(confirmed_best), _interval(confirmed_base)
    what = ("the most sustained exits" if settings.objective == SUSTAINED
            else "the least spending that meets the registered-poor targets")
    name = f"{scenario.name[:100 - len(OVERLAY_SUFFIX)]}{OVERLAY_SUFFIX}"
    lines = [
        f"# The budget split `tuopin optimize` found for {what}:",
        f"# {scenario.name}, {c.total:,.0f} yuan over {years[0]}–{years[-1]} (whole yuan per programme and year),",
        f"# root seed {settings.seed}, {len(opt.candidates)} candidates × {settings.replicates} replicates.",
        f"# Sustained exits (persons) on {settings.confirm_replicates} fresh replicates: {bm:,.0f} "
        f"[{blo:,.0f}–{bhi:,.0f}], the baseline split {am:,.0f} [{alo:,.0f}–{ahi:,.0f}] (mean [5–95 %]).",
        "# Run it (the same seed gives the same households and shocks as the search):",
        f"#   tuopin run {Path(out) / 'best.toml'} --allow-outside --seed {settings.seed} "
        f"--replicates {settings.replicates + settings.confirm_replicates}",
        "# or copy it beside the scenario it extends and set extends to that file's name.",
        *notes, "", "[scenario]"]
    if extends is not None:
        lines.append(f"extends = {_toml_value(extends)}")
    lines += [f"name = {_toml_value(name)}",
              f"title = {_toml_value((scenario.spec.scenario.title or scenario.name) + ': budget split by tuopin optimize')}"]
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in meta.items()]
    lines += ["", "[budgets]  # yuan per year"]
    for p, table in opt.space.budgets(c.shares, c.total).items():
        lines.append(f"{_toml_key(p)} = {_toml_value({y: int(a) for y, a in table.items()})}")
    if parameters:
        lines += ["", "[parameters]"] + [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in parameters.items()]
    return "\n".join(lines) + "\n"


OVERLAY_SUFFIX = "-optimized"


def plot_tradeoff(opt: Optimisation) -> bytes | None:
    """The trade-off curve as a PNG: sustained exits against the total, the best split found at each
    total and the baseline split, with 5–95 % bands over the confirmation replicates."""
    t = opt.tradeoff
    if t.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = t.total_yuan / 1e6
    fig, ax = plt.subplots(figsize=(7, 4))
    for what, label, marker in (("best", "best split found", "o"), ("baseline", "baseline split", "s")):
        ax.plot(x, t[f"{what}_sustained_mean"], marker=marker, label=f"{label} (mean)")
        ax.fill_between(x, t[f"{what}_sustained_p05"], t[f"{what}_sustained_p95"], alpha=0.2)
    ax.axvline(opt.settings.total / 1e6, color="grey", linestyle=":", linewidth=1, label="the given total")
    ax.set_xlabel("total budget over the run, million yuan")
    ax.set_ylabel("sustained exits, persons")
    ax.set_title(f"{opt.scenario.name}: total budget and sustained exits (5–95 % bands)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_outputs(opt: Optimisation, folder: Path, out: Path | None = None) -> list[Path]:
    """The tables (CSV), ``best.toml`` and the plot into ``folder``; ``out`` is where they will be
    read from (``best.toml`` extends the scenario by a path relative to it)."""
    folder = Path(folder)
    paths = []
    for name, df in (("evaluations", opt.evaluations), ("tradeoff", opt.tradeoff), ("confirmation", opt.confirmation)):
        path = folder / f"{name}.csv"
        write_bytes(path, table_bytes_csv(df))
        paths.append(path)
    text = overlay_text(opt, out or folder)
    if text is not None:
        write_bytes(folder / "best.toml", text.encode())
        paths.append(folder / "best.toml")
    png = plot_tradeoff(opt)
    if png is not None:
        write_bytes(folder / "tradeoff.png", png)
        paths.append(folder / "tradeoff.png")
    return paths


def manifest_info(opt: Optimisation) -> dict:
    """What the manifest records beside the files, the versions and the platform."""
    scenario, settings = opt.scenario, opt.settings
    best = opt.best
    return {
        "command": "optimize",
        "fingerprint": fingerprint(scenario, settings),
        **scenario_record(scenario),
        "settings": settings.as_record(),
        "root_seed": settings.seed,
        "search_seeds": opt.search_seeds,
        "confirmation_seeds": opt.confirm_seeds,
        "programmes": list(opt.programmes),
        "baseline_shares": dict(zip(opt.programmes, map(float, opt.space.baseline))),
        "best_shares": dict(zip(opt.programmes, map(float, best.shares))) if best is not None else None,
        "best_total_yuan": best.total if best is not None else None,
        "feasible": opt.feasible,
        "targets": [asdict(t) for t in opt.targets],
        "evaluations": len(opt.candidates),
        "simulations": opt.simulations,
        "elapsed_seconds": round(opt.elapsed_seconds, 1),
        "workers": opt.workers,
        "dask": opt.dask,
    }


def run_optimisation(scenario: LoadedScenario, total: float | None = None, *, out: Path | None = None,
                     replace: bool = False, origin: str = "optimize", **options) -> tuple[Optimisation, Path]:
    """A whole optimisation to a results folder (default ``results/<scenario>-optimize``): the folder
    is held for the run, and its tables, ``best.toml``, the plot and a manifest are published as one
    set. ``options`` are those of ``optimize``. Returns the result and the manifest's path."""
    keys = {k: v for k, v in options.items() if k not in ("workers", "dask", "progress")}
    settings = check_settings(scenario, total=scenario_total(scenario) if total is None else total,
                              origin=origin, **keys)
    folder = settle_out(scenario, settings, out, replace)
    with locked(folder, f"optimize({scenario.name})"):
        opt = optimize(scenario, total, origin=origin, **options)
        with new_set(folder) as staged:
            write_outputs(opt, staged.folder, folder)
            manifest = staged.publish(manifest_info(opt))
    return opt, manifest
