"""Budget options side by side: outcomes that do not reward churn, paired with the baseline.

``compare(scenarios, seed=..., replicates=...)`` runs every option with the same root seed, so
replicate k of every option meets the same households and shocks (common random numbers), and
reports per replicate:

- ``sustained_exits_persons``: persons in households that exited during the run and have not
  returned by its end (a household that exits, returns and exits again counts once);
- ``exits_persons`` and ``returns_persons`` over the run, the ``return_rate`` of the last year;
- ``registered_persons_end``: persons on the register at the end;
- ``person_years_registered``: persons on the register summed over the years' ends;
- ``spent`` (yuan) and ``cost_per_sustained_exit`` (yuan per person);

and, against the first scenario (the baseline), paired differences with intervals:
``persons_kept_out`` (person-years off the register gained), the differences of the outcomes
above, and the ``marginal_cost_per_sustained_exit`` (extra spending per extra sustained exit, a
ratio of the mean differences with a bootstrap interval).
Counting exits alone misleads: an option that makes households churn out and back in raises
exits and returns together; sustained exits and person-years do not reward it. Sustained exits do
count households that entered the register during the run and left it, so an option that keeps
households from becoming poor can show fewer of them; person-years on the register reward
prevention.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..core.budget import TOTAL
from ..execution.ensemble import Ensemble, run_ensemble
from ..inputs.errors import InputError
from ..inputs.scenario import LoadedScenario

LOW, HIGH = 0.05, 0.95   # the spread shown over replicates (5–95 %)
CONFIDENCE = 0.95        # of the intervals of a mean and of a ratio of means
BOOTSTRAP_DRAWS = 2000   # resamples of the replicates for a ratio's interval
OUTCOMES = ("sustained_exits_persons", "exits_persons", "returns_persons", "return_rate", "registered_persons_end",
            "person_years_registered", "spent", "cost_per_sustained_exit")
DIFFERENCES = ("sustained_exits_persons", "persons_kept_out", "exits_persons", "returns_persons",
               "registered_persons_end", "spent")
OPTIONS = "options"  # the subfolder of a comparison's folder that holds each option's run
MARGINAL = "marginal_cost_per_sustained_exit"  # a ratio of mean differences: a row of ``paired``


def outcomes(ens: Ensemble, option: str) -> pd.DataFrame:
    """One row per replicate: the run's outcomes for the whole area."""
    y = ens.yearly[ens.yearly.county == TOTAL]
    first, last = y.year.min(), y.year.max()
    g = y.groupby("replicate")
    start = y[y.year == first].set_index("replicate")
    end = y[y.year == last].set_index("replicate")
    sustained = end.exited_persons_end - (start.exited_persons_end - start.exits_persons + start.returns_persons)
    spent = g.spent.sum()
    df = pd.DataFrame({
        "option": option,
        "sustained_exits_persons": sustained,
        "exits_persons": g.exits_persons.sum(),
        "returns_persons": g.returns_persons.sum(),
        "return_rate": end.return_rate,
        "registered_persons_end": end.poor_persons_end,
        "person_years_registered": g.poor_persons_end.sum(),
        "spent": spent,
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        df["cost_per_sustained_exit"] = np.where(sustained > 0, spent / sustained, np.nan)
    return df.reset_index()


def paired(base: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """Option − baseline, replicate by replicate (the same seeds): one row per replicate."""
    b = base.set_index("replicate")
    o = other.set_index("replicate").loc[b.index]
    return pd.DataFrame({
        "sustained_exits_persons": o.sustained_exits_persons - b.sustained_exits_persons,
        "persons_kept_out": b.person_years_registered - o.person_years_registered,
        "exits_persons": o.exits_persons - b.exits_persons,
        "returns_persons": o.returns_persons - b.returns_persons,
        "registered_persons_end": o.registered_persons_end - b.registered_persons_end,
        "spent": o.spent - b.spent,
    }).reset_index()


def interval(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean and 5–95 % points over replicates of each column, and the 95 % confidence interval of
    the mean (Student's t over replicates; NaN with one replicate)."""
    from scipy import stats

    values = df[list(columns)]
    n = values.notna().sum()
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, np.maximum(n - 1, 1)) * values.std(ddof=1) / np.sqrt(n)
    mean = values.mean()
    return pd.DataFrame({"mean": mean, "p05": values.quantile(LOW), "p95": values.quantile(HIGH),
                         "ci_low": mean - half, "ci_high": mean + half, "replicates": n})


def ratio_of_means(numerator: np.ndarray, denominator: np.ndarray, seed: int,
                   draws: int = BOOTSTRAP_DRAWS) -> tuple[float, float, float]:
    """mean(numerator) / mean(denominator) with a 95 % bootstrap interval over replicates (pairs
    resampled together, from the stream of ``seed``). NaN where the denominator's interval holds
    zero (e.g. an option that changes no sustained exit) or the ratio is negative (more spent for
    fewer, or less for more: one option dominates): then a cost per unit has no meaning."""
    num, den = np.asarray(numerator, float), np.asarray(denominator, float)
    if den.mean() == 0 or num.mean() / den.mean() < 0:
        return np.nan, np.nan, np.nan
    ratio = float(num.mean() / den.mean())
    if len(den) < 2:
        return ratio, np.nan, np.nan
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(den), size=(draws, len(den)))
    mn, md = num[idx].mean(axis=1), den[idx].mean(axis=1)
    tails = [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]
    lo, hi = np.quantile(md, tails)
    if lo <= 0 <= hi:
        return np.nan, np.nan, np.nan
    rlo, rhi = np.quantile(mn / md, tails)
    return ratio, float(rlo), float(rhi)


@dataclass
class Comparison:
    """The options' ensembles and their outcomes, the first option being the baseline."""

    names: list[str]
    scenarios: list[LoadedScenario]
    ensembles: list[Ensemble]
    root_seed: int

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per option and replicate."""
        return pd.concat([outcomes(e, n) for n, e in zip(self.names, self.ensembles)], ignore_index=True)

    @cached_property
    def summary(self) -> pd.DataFrame:
        """Mean and 5–95 % interval of every outcome, per option (rows: option, outcome)."""
        out = self.outcomes
        return pd.concat({n: interval(out[out.option == n], OUTCOMES) for n in self.names},
                         names=["option", "outcome"])

    @cached_property
    def differences(self) -> pd.DataFrame:
        """Paired differences from the baseline, one row per option (but the baseline) and replicate."""
        out = self.outcomes
        base = out[out.option == self.names[0]]
        rows = []
        for n in self.names[1:]:
            d = paired(base, out[out.option == n])
            d.insert(0, "option", n)
            rows.append(d)
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["option", "replicate", *DIFFERENCES])

    @cached_property
    def paired(self) -> pd.DataFrame:
        """Each paired difference per option (rows: option, outcome): mean, 5–95 % over
        replicates, 95 % interval of the mean; and the marginal cost of one more sustained exit
        (extra spending / extra sustained exits, a ratio of means with a bootstrap interval; NaN
        where the option's sustained exits are not distinguishable from the baseline's)."""
        d = self.differences
        if d.empty:
            return pd.DataFrame(columns=["mean", "p05", "p95", "ci_low", "ci_high", "replicates"])
        parts = {}
        for i, n in enumerate(self.names[1:], start=1):
            mine = d[d.option == n]
            table = interval(mine, DIFFERENCES)
            ratio, lo, hi = ratio_of_means(mine.spent.to_numpy(), mine.sustained_exits_persons.to_numpy(),
                                           self.root_seed + i)
            table.loc[MARGINAL] = {"mean": ratio, "p05": np.nan, "p95": np.nan, "ci_low": lo, "ci_high": hi,
                                   "replicates": len(mine)}
            parts[n] = table
        return pd.concat(parts, names=["option", "outcome"])

    @cached_property
    def yearly(self) -> pd.DataFrame:
        """Every option's yearly table (county ALL), with an ``option`` column."""
        return pd.concat([e.yearly[e.yearly.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @cached_property
    def pathways(self) -> pd.DataFrame:
        return pd.concat([e.pathways[e.pathways.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @cached_property
    def spending(self) -> pd.DataFrame:
        return pd.concat([e.spending[e.spending.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @cached_property
    def budgets(self) -> pd.DataFrame:
        """Each option's budget by programme and year as its runs had it, million yuan (the
        scenario's amounts with every scaling applied; mean over replicates, which differ only if
        parameter sets do)."""
        parts = []
        for n, e in zip(self.names, self.ensembles):
            sp = e.spending[e.spending.county == TOTAL]
            b = sp.groupby(["programme", "year"], sort=False).budget.mean().reset_index()
            b.insert(0, "option", n)
            parts.append(b.assign(budget_million=b.budget / 1e6).drop(columns="budget"))
        return pd.concat(parts, ignore_index=True)


def check_comparable(scenarios: Sequence[LoadedScenario]) -> None:
    """Options are paired household by household: they must simulate the same years and counties
    (budgets, coverage and parameters may differ; the population scale too, though then the
    households are not the same and the pairing helps less)."""
    base = scenarios[0]
    for s in scenarios[1:]:
        if list(s.spec.years) != list(base.spec.years):
            raise InputError(s.path, "scenario.start_year", f"{s.spec.years[0]}–{s.spec.years[-1]}",
                             f"an option must cover the baseline's years ({base.spec.years[0]}–{base.spec.years[-1]}, "
                             f"{base.path})")
        mine = [c.name for c in s.spec.population.counties]
        theirs = [c.name for c in base.spec.population.counties]
        if mine != theirs:
            raise InputError(s.path, "population.counties", ", ".join(mine[:4]) + ("…" if len(mine) > 4 else ""),
                             f"an option must simulate the baseline's counties ({base.path})")


def option_names(scenarios: Sequence[LoadedScenario], names: Sequence[str] | None = None) -> list[str]:
    """The options' names: as given, else the scenarios'; made unique by their position if not."""
    names = list(names) if names is not None else [s.name for s in scenarios]
    if len(set(names)) != len(names):
        names = [f"{i}-{n}" for i, n in enumerate(names)]
    return names


def compare(scenarios: Sequence[LoadedScenario], *, seed: int | None = None, replicates: int = 10,
            workers: int | None = None, dask: str | None = None, names: Sequence[str] | None = None,
            progress: bool = False, out: Path | None = None) -> Comparison:
    """Run every option with the same root seed (common random numbers); the first is the
    baseline. With ``out``, option ``name`` runs (and resumes) in ``out/options/<name>``."""
    scenarios = list(scenarios)
    if not scenarios:
        raise InputError("compare", "scenarios", "[]", "give at least one scenario (the first is the baseline)")
    check_comparable(scenarios)
    root = int(scenarios[0].spec.scenario.seed if seed is None else seed)
    names = option_names(scenarios, names)
    ensembles = [run_ensemble(s, seed=root, replicates=replicates, workers=workers, dask=dask, progress=progress,
                              out=None if out is None else Path(out) / OPTIONS / n)
                 for s, n in zip(scenarios, names)]
    return Comparison(names, scenarios, ensembles, root)
