"""What a run produces: yearly tables per county and in total, as pandas DataFrames.

Counts are kept for the simulated sample and scaled to full size (÷ population_scale) when tables
are made, so a 10 % sample reports at the scenario's real size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd


if TYPE_CHECKING:
    from .model import TuopinModel

TOTAL = "ALL"


class Ledger:
    """Collects the yearly records of one run (an equivalent of Mesa's DataCollector)."""

    def __init__(self, model: "TuopinModel"):
        self.counties = list(model.geo.county_names)
        self.programmes = [p.name for p in model.programmes]
        self.pathways = self.programmes + ["spontaneous"]
        self.scale = model.spec.scenario.population_scale
        self.rows: list[dict] = []
        self.pathway_rows: list[np.ndarray] = []
        self.spending_rows: list[dict] = []
        self._village_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def record_year(self, model, *, poor, exited, exits, returns, entries, exit_idx, pathway) -> None:
        hh, n_c, year = model.hh, model.geo.n_counties, model.year
        c = hh.county
        size = hh.size

        def count(mask):
            return np.bincount(c[mask], minlength=n_c), np.bincount(c[mask], weights=size[mask], minlength=n_c)

        start_h, start_p = count(poor)
        exited_h, _ = count(exited)
        exits_h, exits_p = count(exits)
        ret_h, ret_p = count(returns)
        ent_h, ent_p = count(entries)
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
                "rural_population": model.geo.county_population[i],
            })
        # Exits by pathway: persons per (county, pathway).
        key = c[exit_idx].astype(np.int64) * len(self.pathways) + pathway
        persons = np.bincount(key, weights=size[exit_idx], minlength=n_c * len(self.pathways))
        households = np.bincount(key, minlength=n_c * len(self.pathways))
        self.pathway_rows.append((year, households.reshape(n_c, -1), persons.reshape(n_c, -1)))

    def record_spending(self, year: int, programme: str, budget: np.ndarray, spent: np.ndarray,
                        new: np.ndarray, participants: np.ndarray, village_projects: np.ndarray | None = None) -> None:
        villages = np.zeros(len(self.counties)) if village_projects is None else village_projects
        for i, county in enumerate(self.counties):
            self.spending_rows.append({
                "year": year, "county": county, "programme": programme, "budget": budget[i],
                "spent": spent[i], "new_enrolments": new[i], "participants": participants[i],
                "new_village_projects": villages[i],
            })

    def add_spending(self, year: int, programme: str, extra: np.ndarray) -> None:
        """Payments made after January (a settlement) for ``programme``, per county."""
        for row in self.spending_rows:
            if row["year"] == year and row["programme"] == programme:
                row["spent"] += extra[self.counties.index(row["county"])]

    def record_villages(self, model, leave: np.ndarray) -> None:
        n_c = model.geo.n_counties
        left = np.bincount(model.geo.village_county[leave], minlength=n_c)
        listed = np.bincount(model.geo.village_county[model.village_listed], minlength=n_c)
        self._village_rows[model.year] = (left, listed)

    # ---- tables -----------------------------------------------------------------------------
    def yearly(self) -> pd.DataFrame:
        """One row per year and county, plus the total (county ``ALL``), at full scale."""
        df = pd.DataFrame(self.rows)
        villages = []
        for year, (left, listed) in self._village_rows.items():
            for i, county in enumerate(self.counties):
                villages.append({"year": year, "county": county, "villages_exited": left[i],
                                 "poor_villages_end": listed[i]})
        df = df.merge(pd.DataFrame(villages), on=["year", "county"], how="left")
        spend = self.spending()
        per = spend.groupby(["year", "county"], as_index=False)[["budget", "spent"]].sum()
        df = df.merge(per, on=["year", "county"], how="left")
        # Households, persons and population are sampled; villages are not; spending() is scaled.
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

    def spending(self) -> pd.DataFrame:
        """Budget, spending and enrolments per year, county and programme, at full scale."""
        df = pd.DataFrame(self.spending_rows)
        for col in ("budget", "spent", "new_enrolments", "participants"):
            df[col] = df[col] / self.scale
        df["unspent"] = df.budget - df.spent
        return df

    def spending_table(self) -> pd.DataFrame:
        df = self.spending()
        total = df.groupby(["year", "programme"], as_index=False, sort=False).sum(numeric_only=True)
        total["county"] = TOTAL
        return pd.concat([df, total[df.columns]], ignore_index=True)


def _total_last(col: pd.Series) -> pd.Series:
    return col.map(lambda v: "\uffff" if v == TOTAL else v) if col.name == "county" else col
