"""What a run produces: the register's yearly record per county and in total, and ``RunResults``.

``RegisterLedger`` records each December's assessment (registered poor at the start and end,
exits, returns, entries, exits by pathway, villages leaving the list); with the spending ledger of
the budget year it makes the three tables of a run: ``yearly``, ``pathways`` and ``spending``.
Counts are kept for the simulated sample and scaled to full size (÷ population_scale) when tables
are made, so a 10 % sample reports at the scenario's real size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .budget import TOTAL, SpendingLedger
from .regimes import Decisions
from .state import Households, Villages


class RegisterLedger:
    """The yearly records of one run's register."""

    def __init__(self, counties: list[str], programmes: list[str], scale: float,
                 county_population: np.ndarray):
        self.counties = list(counties)
        self.programmes = list(programmes)
        self.pathways = self.programmes + ["spontaneous"]
        self.scale = scale
        self.county_population = county_population
        self.rows: list[dict] = []
        self.pathway_rows: list[tuple[int, np.ndarray, np.ndarray]] = []
        self._village_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def record_year(self, hh: Households, year: int, d: Decisions, exit_idx: np.ndarray,
                    pathway: np.ndarray) -> None:
        n_c = len(self.counties)
        c = hh.county
        size = hh.size

        def count(mask):
            return np.bincount(c[mask], minlength=n_c), np.bincount(c[mask], weights=size[mask], minlength=n_c)

        start_h, start_p = count(d.poor)
        exited_h, _ = count(d.exited)
        exits_h, exits_p = count(d.exits)
        ret_h, ret_p = count(d.returns)
        ent_h, ent_p = count(d.entries)
        end_h = start_h - exits_h + ret_h + ent_h
        end_p = start_p - exits_p + ret_p + ent_p
        for i in range(n_c):
            self.rows.append({
                "year": year, "county": self.counties[i],
                "poor_households_start": start_h[i], "poor_persons_start": start_p[i],
                "entries_households": ent_h[i], "entries_persons": ent_p[i],
                "exits_households": exits_h[i], "exits_persons": exits_p[i],
                "returns_households": ret_h[i], "returns_persons": ret_p[i],
                "poor_households_end": end_h[i], "poor_persons_end": end_p[i],
                "exited_households_start": exited_h[i],
                "rural_population": self.county_population[i],
            })
        # Exits by pathway: persons per (county, pathway).
        key = c[exit_idx].astype(np.int64) * len(self.pathways) + pathway
        persons = np.bincount(key, weights=size[exit_idx], minlength=n_c * len(self.pathways))
        households = np.bincount(key, minlength=n_c * len(self.pathways))
        self.pathway_rows.append((year, households.reshape(n_c, -1), persons.reshape(n_c, -1)))

    def record_villages(self, villages: Villages, year: int, leave: np.ndarray) -> None:
        n_c = len(self.counties)
        left = np.bincount(villages.county[leave], minlength=n_c)
        listed = np.bincount(villages.county[villages.listed], minlength=n_c)
        self._village_rows[year] = (left, listed)

    # ---- tables -----------------------------------------------------------------------------
    def yearly(self, spending: SpendingLedger) -> pd.DataFrame:
        """One row per year and county, plus the total (county ``ALL``), at full scale."""
        df = pd.DataFrame(self.rows)
        villages = []
        for year, (left, listed) in self._village_rows.items():
            for i, county in enumerate(self.counties):
                villages.append({"year": year, "county": county, "villages_exited": left[i],
                                 "poor_villages_end": listed[i]})
        df = df.merge(pd.DataFrame(villages), on=["year", "county"], how="left")
        spend = spending.by_county()
        per = spend.groupby(["year", "county"], as_index=False)[["budget", "spent"]].sum()
        df = df.merge(per, on=["year", "county"], how="left")
        # Households, persons and population are sampled; villages are not; spending is scaled.
        sampled = [c for c in df.columns if c not in ("year", "county", "budget", "spent",
                                                      "villages_exited", "poor_villages_end")]
        df[sampled] = df[sampled] / self.scale
        total = df.groupby("year", as_index=False).sum(numeric_only=True)
        total.insert(1, "county", TOTAL)
        df = pd.concat([df, total], ignore_index=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            df["return_rate"] = np.where(df.exited_households_start > 0,
                                         df.returns_households / df.exited_households_start, np.nan)
            df["incidence"] = df.poor_persons_end / df.rural_population
            df["cost_per_exit_household"] = np.where(df.exits_households > 0,
                                                     df.spent / df.exits_households, np.nan)
        return df.sort_values(["year", "county"], key=_total_last).reset_index(drop=True)

    def pathways_table(self) -> pd.DataFrame:
        """Exits by pathway: households and persons per year, county and pathway (with ALL)."""
        rows = []
        for year, hh_counts, persons in self.pathway_rows:
            for i, county in enumerate(self.counties):
                for j, name in enumerate(self.pathways):
                    rows.append({"year": year, "county": county, "pathway": name,
                                 "exits_households": hh_counts[i, j] / self.scale,
                                 "exits_persons": persons[i, j] / self.scale})
        df = pd.DataFrame(rows)
        total = df.groupby(["year", "pathway"], as_index=False, sort=False).sum(numeric_only=True)
        total["county"] = TOTAL
        return pd.concat([df, total[df.columns]], ignore_index=True)


def _total_last(col: pd.Series) -> pd.Series:
    return col.map(lambda v: "\uffff" if v == TOTAL else v) if col.name == "county" else col


TABLES = ("yearly", "pathways", "spending")


@dataclass
class RunResults:
    """The tables of one run, as DataFrames, and the model-level series its DataCollector kept
    (one row per step). Plain data: cheap to send back from a worker process."""

    scenario: str
    seed: int
    yearly: pd.DataFrame
    pathways: pd.DataFrame
    spending: pd.DataFrame
    series: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"yearly": self.yearly, "pathways": self.pathways, "spending": self.spending}
