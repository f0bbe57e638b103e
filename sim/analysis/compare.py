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
above, and the ``marginal_cost_per_sustained_exit`` (extra spending per extra sustained exit).
Counting exits alone misleads: an option that makes households churn out and back in raises
exits and returns together; sustained exits and person-years do not reward it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..core.budget import TOTAL
from ..execution.ensemble import Ensemble, run_ensemble
from ..inputs.scenario import LoadedScenario

LOW, HIGH = 0.05, 0.95
OUTCOMES = ("sustained_exits_persons", "exits_persons", "returns_persons", "return_rate", "registered_persons_end",
            "person_years_registered", "spent", "cost_per_sustained_exit")
DIFFERENCES = ("sustained_exits_persons", "persons_kept_out", "exits_persons", "returns_persons",
               "registered_persons_end", "spent", "marginal_cost_per_sustained_exit")


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
    d = pd.DataFrame({
        "sustained_exits_persons": o.sustained_exits_persons - b.sustained_exits_persons,
        "persons_kept_out": b.person_years_registered - o.person_years_registered,
        "exits_persons": o.exits_persons - b.exits_persons,
        "returns_persons": o.returns_persons - b.returns_persons,
        "registered_persons_end": o.registered_persons_end - b.registered_persons_end,
        "spent": o.spent - b.spent,
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        d["marginal_cost_per_sustained_exit"] = np.where(d.sustained_exits_persons != 0,
                                                         d.spent / d.sustained_exits_persons, np.nan)
    return d.reset_index()


def interval(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean and 5–95 % points over replicates of each column."""
    return pd.DataFrame({"mean": df[list(columns)].mean(), "p05": df[list(columns)].quantile(LOW),
                         "p95": df[list(columns)].quantile(HIGH)})


@dataclass
class Comparison:
    """The options' ensembles and their outcomes, the first option being the baseline."""

    names: list[str]
    scenarios: list[LoadedScenario]
    ensembles: list[Ensemble]
    root_seed: int

    @property
    def outcomes(self) -> pd.DataFrame:
        """One row per option and replicate."""
        return pd.concat([outcomes(e, n) for n, e in zip(self.names, self.ensembles)], ignore_index=True)

    @property
    def summary(self) -> pd.DataFrame:
        """Mean and 5–95 % interval of every outcome, per option (rows: option, outcome)."""
        out = self.outcomes
        return pd.concat({n: interval(out[out.option == n], OUTCOMES) for n in self.names},
                         names=["option", "outcome"])

    @property
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

    @property
    def paired(self) -> pd.DataFrame:
        """Mean and 5–95 % interval of each paired difference, per option (rows: option, outcome)."""
        d = self.differences
        if d.empty:
            return pd.DataFrame(columns=["mean", "p05", "p95"])
        return pd.concat({n: interval(d[d.option == n], DIFFERENCES) for n in self.names[1:]},
                         names=["option", "outcome"])

    @property
    def yearly(self) -> pd.DataFrame:
        """Every option's yearly table (county ALL), with an ``option`` column."""
        return pd.concat([e.yearly[e.yearly.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @property
    def pathways(self) -> pd.DataFrame:
        return pd.concat([e.pathways[e.pathways.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @property
    def spending(self) -> pd.DataFrame:
        return pd.concat([e.spending[e.spending.county == TOTAL].assign(option=n) for n, e in zip(self.names, self.ensembles)],
                         ignore_index=True)

    @property
    def budgets(self) -> pd.DataFrame:
        """Each option's budget by programme and year, million yuan (as the scenario gives it)."""
        rows = []
        for n, s in zip(self.names, self.scenarios):
            for prog in s.spec.budgets:
                for y in s.spec.years:
                    rows.append({"option": n, "programme": prog, "year": y, "budget_million": s.spec.budget(prog, y) / 1e6})
        return pd.DataFrame(rows)


def compare(scenarios: Sequence[LoadedScenario], *, seed: int | None = None, replicates: int = 10,
            workers: int | None = None, dask: str | None = None, names: Sequence[str] | None = None,
            progress: bool = False) -> Comparison:
    """Run every option with the same root seed (common random numbers); the first is the baseline."""
    scenarios = list(scenarios)
    root = int(scenarios[0].spec.scenario.seed if seed is None else seed)
    names = list(names) if names is not None else [s.name for s in scenarios]
    if len(set(names)) != len(names):
        names = [f"{i}:{n}" for i, n in enumerate(names)]
    ensembles = [run_ensemble(s, seed=root, replicates=replicates, workers=workers, dask=dask, progress=progress)
                 for s in scenarios]
    return Comparison(names, scenarios, ensembles, root)
