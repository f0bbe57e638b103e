"""What a run produces: the register's yearly record per county and in total, and ``RunResults``.

``RegisterLedger`` records each December's assessment (registered poor at the start and end,
exits, returns, entries, exits by pathway, monitoring in the transition period, villages and
counties leaving their lists, per-person incomes by group, returns by years since exit); with the
spending ledger of the budget year it makes the tables of a run: ``yearly``, ``pathways``,
``spending``, ``incomes`` and ``returns``.
Counts are kept for the simulated sample and scaled to full size (÷ population_scale) when tables
are made, so a 10 % sample reports at the scenario's real size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .budget import TOTAL, SpendingLedger
from .regimes import Decisions
from .state import Counties, Households, Status, Villages
from .kernels import count_and_sum_where, count_where
from .vector import sorted_quantiles

NEAR_LINE = 0.1            # an exit "near the line": per-person income less than 10 % above it
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MAX_YEARS_SINCE_EXIT = 6   # returns by years since exit: 1, 2, ..., and 6 or more together


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
        self.pathway_rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._village_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._county_rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.income_rows: list[dict] = []
        self.return_rows: list[dict] = []
        self.start_rows: list[dict] = []

    def record_year(self, hh: Households, year: int, d: Decisions, exit_idx: np.ndarray,
                    pathway: np.ndarray, net_pc: np.ndarray, line: float, support_spent: np.ndarray) -> None:
        """One assessment: counts per county (before the status changes it decides), incomes by
        group and returns by years since exit. ``support_spent`` is this year's monitoring
        support per county (yuan, sample scale)."""
        n_c = len(self.counties)
        c = hh.county
        size = hh.size

        def count(mask):
            return count_and_sum_where(mask, c, size, n_c)

        def households(mask):
            return count_where(mask, c, n_c) if mask is not None else np.zeros(n_c, np.int64)

        start_h, start_p = count(d.poor)
        exited_h, exited_p = count(d.exited)
        exits_h, exits_p = count(d.exits)
        ret_h, ret_p = count(d.returns)
        ent_h, ent_p = count(d.entries)
        end_h = start_h - exits_h + ret_h + ent_h
        end_p = start_p - exits_p + ret_p + ent_p
        # Exited and not returned after this assessment: a sustained exit lasts to the run's end.
        exited_end_h = exited_h - ret_h + exits_h
        exited_end_p = exited_p - ret_p + exits_p
        near = d.exits & (net_pc < line * (1 + NEAR_LINE))
        near_h = households(near)
        false_h = households(d.false_exits)
        monitored = d.monitored if d.monitored is not None else np.zeros(hh.n, dtype=bool)
        removed = d.risk_removed if d.risk_removed is not None else np.zeros(hh.n, dtype=bool)
        monitored_end = households(monitored & ~removed)
        identified_h = households(d.identified)
        removed_h = households(removed)
        ret_mon_h = households(d.returns & monitored)
        for i in range(n_c):
            self.rows.append({
                "year": year, "county": self.counties[i],
                "poor_households_start": start_h[i], "poor_persons_start": start_p[i],
                "entries_households": ent_h[i], "entries_persons": ent_p[i],
                "exits_households": exits_h[i], "exits_persons": exits_p[i],
                "returns_households": ret_h[i], "returns_persons": ret_p[i],
                "poor_households_end": end_h[i], "poor_persons_end": end_p[i],
                "exited_households_start": exited_h[i],
                "exited_households_end": exited_end_h[i], "exited_persons_end": exited_end_p[i],
                "rural_population": self.county_population[i],
                "exits_near_line_households": near_h[i], "false_exits_households": false_h[i],
                "monitored_households_end": monitored_end[i], "identified_households": identified_h[i],
                "risk_removed_households": removed_h[i], "returns_monitored_households": ret_mon_h[i],
                "monitoring_support_spent": support_spent[i],
            })
        self._record_incomes(hh, year, d, net_pc, line)
        self._record_returns(hh, year, d)
        # Exits by pathway: households, persons and exits near the line per (county, pathway).
        key = c[exit_idx].astype(np.int64) * len(self.pathways) + pathway
        cells = n_c * len(self.pathways)
        persons = np.bincount(key, weights=size[exit_idx], minlength=cells)
        exits = np.bincount(key, minlength=cells)
        near_line = np.bincount(key, weights=near[exit_idx], minlength=cells)
        self.pathway_rows.append((year, exits.reshape(n_c, -1), persons.reshape(n_c, -1), near_line.reshape(n_c, -1)))

    def _record_incomes(self, hh: Households, year: int, d: Decisions, net_pc: np.ndarray, line: float) -> None:
        """Per-person net income of registered, exited and relocated households: the mean over
        persons, the quantiles over households, the share of persons below the line."""
        exited_end = d.exited & ~d.returns
        exited_end |= d.exits
        filed = hh.entry_year >= 0  # ever registered (建档立卡), exited or not
        for group, mask in (("registered", d.poor), ("exited", exited_end), ("relocated", hh.relocated),
                            ("filed", filed)):
            idx = np.flatnonzero(mask)
            x = net_pc[idx].astype(np.float32)
            w = hh.size[idx]
            persons = float(w.sum())
            row = {"year": year, "group": group, "households": len(x) / self.scale,
                   "persons": persons / self.scale, "line": line}
            if x.size:
                row["mean"] = float(np.dot(x, w.astype(np.float32))) / persons
                for q, v in zip(QUANTILES, sorted_quantiles(np.sort(x), QUANTILES)):  # np.quantile's values
                    row[f"p{round(q * 100):02d}"] = float(v)
                row["below_line_share"] = float(w[x < line].sum()) / persons
            self.income_rows.append(row)

    def _record_returns(self, hh: Households, year: int, d: Decisions) -> None:
        """Exited households at the start of the year and returns, by years since their exit."""
        def since(mask):
            return np.minimum(year - hh.exit_year[np.flatnonzero(mask)].astype(np.int32), MAX_YEARS_SINCE_EXIT)

        stock = np.bincount(since(d.exited), minlength=MAX_YEARS_SINCE_EXIT + 1)
        back = np.bincount(since(d.returns), minlength=MAX_YEARS_SINCE_EXIT + 1)
        for k in range(1, MAX_YEARS_SINCE_EXIT + 1):
            self.return_rows.append({"year": year, "years_since_exit": k,
                                     "exited_households_start": stock[k] / self.scale,
                                     "returns_households": back[k] / self.scale})

    def record_lists(self, villages: Villages, counties: Counties, year: int, villages_left: np.ndarray,
                     counties_left: np.ndarray) -> None:
        n_c = len(self.counties)
        left = np.bincount(villages.county[villages_left], minlength=n_c)
        listed = np.bincount(villages.county[villages.listed], minlength=n_c)
        self._village_rows[year] = (left, listed)
        self._county_rows[year] = (counties_left.astype(np.int64), counties.listed.astype(np.int64))

    # ---- tables -----------------------------------------------------------------------------
    def yearly(self, spending: SpendingLedger | None) -> pd.DataFrame:
        """One row per year and county, plus the total (county ``ALL``), at full scale; without
        ``spending``, without the columns that need it (budget, spent, cost per exit)."""
        df = pd.DataFrame(self.rows)
        villages = []
        for year, (left, listed) in self._village_rows.items():
            c_left, c_listed = self._county_rows[year]
            for i, county in enumerate(self.counties):
                villages.append({"year": year, "county": county, "villages_exited": left[i],
                                 "poor_villages_end": listed[i], "counties_exited": c_left[i],
                                 "poor_counties_end": c_listed[i]})
        df = df.merge(pd.DataFrame(villages), on=["year", "county"], how="left")
        if spending is not None:
            spend = spending.by_county()
            per = spend.groupby(["year", "county"], as_index=False)[["budget", "spent"]].sum()
            df = df.merge(per, on=["year", "county"], how="left")
        # Households, persons and population are sampled; villages are not; spending is scaled.
        sampled = [c for c in df.columns if c not in ("year", "county", "budget", "spent", "villages_exited",
                                                      "poor_villages_end", "counties_exited", "poor_counties_end")]
        df[sampled] = df[sampled] / self.scale
        total = df.groupby("year", as_index=False).sum(numeric_only=True)
        total.insert(1, "county", TOTAL)
        df = pd.concat([df, total], ignore_index=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            df["return_rate"] = np.where(df.exited_households_start > 0,
                                         df.returns_households / df.exited_households_start, np.nan)
            df["incidence"] = df.poor_persons_end / df.rural_population
            if spending is not None:
                df["cost_per_exit_household"] = np.where(df.exits_households > 0,
                                                         df.spent / df.exits_households, np.nan)
            df["exits_near_line_share"] = np.where(df.exits_households > 0,
                                                   df.exits_near_line_households / df.exits_households, np.nan)
        return df.sort_values(["year", "county"], key=_total_last).reset_index(drop=True)

    def persons_end(self, year: int) -> np.ndarray:
        """Registered persons per county after ``year``'s assessment, at full scale."""
        return np.array([r["poor_persons_end"] for r in self.rows if r["year"] == year], dtype=np.float64) / self.scale

    def pathways_table(self) -> pd.DataFrame:
        """Exits by pathway: households and persons per year, county and pathway (with ALL)."""
        if not self.pathway_rows:
            return pd.DataFrame(columns=["year", "county", "pathway", "exits_households", "exits_persons",
                                         "exits_near_line_households"])
        n_c, n_p = len(self.counties), len(self.pathways)
        cells = n_c * n_p
        years = [row[0] for row in self.pathway_rows]
        # Year by year, county by county, pathway by pathway: the rows in the order they are recorded.
        df = pd.DataFrame({
            "year": np.repeat(np.array(years, dtype=np.int64), cells),
            "county": np.tile(np.repeat(np.array(self.counties, dtype=object), n_p), len(years)).tolist(),
            "pathway": self.pathways * (n_c * len(years)),
            "exits_households": np.concatenate([row[1].ravel() for row in self.pathway_rows]) / self.scale,
            "exits_persons": np.concatenate([row[2].ravel() for row in self.pathway_rows]) / self.scale,
            "exits_near_line_households": np.concatenate([row[3].ravel() for row in self.pathway_rows]) / self.scale,
        })
        total = df.groupby(["year", "pathway"], as_index=False, sort=False).sum(numeric_only=True)
        total["county"] = TOTAL
        return pd.concat([df, total[df.columns]], ignore_index=True)

    def record_start(self, hh: Households) -> None:
        """The register at the start, by category (households and persons)."""
        from ..inputs.vocabulary import REGISTERED_CATEGORIES

        reg = hh.status == Status.POOR
        for k, name in enumerate(REGISTERED_CATEGORIES):
            mask = reg & (hh.category == k)
            self.start_rows.append({"category": name, "households": int(mask.sum()) / self.scale,
                                    "persons": float(hh.size[mask].sum()) / self.scale})

    def start_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.start_rows)

    def incomes_table(self) -> pd.DataFrame:
        """Per-person net income by year and group (registered, exited, relocated, filed), area-wide."""
        return pd.DataFrame(self.income_rows)

    def returns_table(self) -> pd.DataFrame:
        """Returns by years since exit (the last row counts six years or more), with the return
        rate of each duration."""
        df = pd.DataFrame(self.return_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            df["return_rate"] = np.where(df.exited_households_start > 0,
                                         df.returns_households / df.exited_households_start, np.nan)
        return df


def _total_last(col: pd.Series) -> pd.Series:
    return col.map(lambda v: "\uffff" if v == TOTAL else v) if col.name == "county" else col


TABLES = ("yearly", "pathways", "spending", "incomes", "returns", "start")


@dataclass
class RunResults:
    """The tables of one run, as DataFrames, and the model-level series its DataCollector kept
    (one row per step). Plain data: cheap to send back from a worker process."""

    scenario: str
    seed: int
    yearly: pd.DataFrame
    pathways: pd.DataFrame
    spending: pd.DataFrame
    incomes: pd.DataFrame = field(default_factory=pd.DataFrame)
    returns: pd.DataFrame = field(default_factory=pd.DataFrame)
    start: pd.DataFrame = field(default_factory=pd.DataFrame)
    series: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"yearly": self.yearly, "pathways": self.pathways, "spending": self.spending,
                "incomes": self.incomes, "returns": self.returns, "start": self.start}
