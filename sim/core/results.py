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
from .vector import exact_sums, sorted_quantiles

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
        self.years: list[int] = []                   # the assessments recorded, in order
        self._counts: list[dict[str, np.ndarray]] = []  # each one's columns: a value per county (sample scale)
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
        self.years.append(year)
        self._counts.append({
            "poor_households_start": start_h, "poor_persons_start": start_p,
            "entries_households": ent_h, "entries_persons": ent_p,
            "exits_households": exits_h, "exits_persons": exits_p,
            "returns_households": ret_h, "returns_persons": ret_p,
            "poor_households_end": end_h, "poor_persons_end": end_p,
            "exited_households_start": exited_h,
            "exited_households_end": exited_end_h, "exited_persons_end": exited_end_p,
            "rural_population": np.array(self.county_population, dtype=np.float64),
            "exits_near_line_households": near_h, "false_exits_households": false_h,
            "monitored_households_end": monitored_end, "identified_households": identified_h,
            "risk_removed_households": removed_h, "returns_monitored_households": ret_mon_h,
            "monitoring_support_spent": np.asarray(support_spent, dtype=np.float64),
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
        ``spending``, without the columns that need it (budget, spent, cost per exit). Within a
        year, counties in alphabetical order and the total last."""
        years, n_c = self.years, len(self.counties)
        cols: dict[str, np.ndarray] = {}  # name -> (years, counties)
        for name in self._counts[0] if self._counts else ():
            # Households, persons and population are sampled: scaled to full size.
            cols[name] = np.stack([row[name] for row in self._counts]) / self.scale
        for name, k in (("villages_exited", 0), ("poor_villages_end", 1)):
            cols[name] = _by_year(years, n_c, {y: v[k] for y, v in self._village_rows.items()})
        for name, k in (("counties_exited", 0), ("poor_counties_end", 1)):
            cols[name] = _by_year(years, n_c, {y: v[k] for y, v in self._county_rows.items()})
        if spending is not None:
            cols["budget"], cols["spent"] = spending.per_county(years)
        cols = {name: np.concatenate([a, exact_sums(a)[:, None]], axis=1) for name, a in cols.items()}
        names = self.counties + [TOTAL]
        order = sorted(range(n_c), key=lambda i: self.counties[i]) + [n_c]
        by_year = np.argsort(np.asarray(years, dtype=np.int64), kind="stable")
        cols = {name: a[by_year][:, order].ravel() for name, a in cols.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = {"return_rate": _share(cols["returns_households"], cols["exited_households_start"]),
                      "incidence": cols["poor_persons_end"] / cols["rural_population"]}
            if spending is not None:
                ratios["cost_per_exit_household"] = _share(cols["spent"], cols["exits_households"])
            ratios["exits_near_line_share"] = _share(cols["exits_near_line_households"], cols["exits_households"])
        return pd.DataFrame({"year": np.repeat(np.asarray(years, dtype=np.int64)[by_year], n_c + 1),
                             "county": [names[i] for _ in years for i in order], **cols, **ratios})

    def persons_end(self, year: int) -> np.ndarray:
        """Registered persons per county after ``year``'s assessment, at full scale."""
        return self._counts[self.years.index(year)]["poor_persons_end"].astype(np.float64) / self.scale

    def pathways_table(self) -> pd.DataFrame:
        """Exits by pathway: households and persons per year, county and pathway (with ALL)."""
        if not self.pathway_rows:
            return pd.DataFrame(columns=["year", "county", "pathway", "exits_households", "exits_persons",
                                         "exits_near_line_households"])
        n_c, n_p = len(self.counties), len(self.pathways)
        years = np.array([row[0] for row in self.pathway_rows], dtype=np.int64)
        n_y = len(years)
        names = np.array(self.counties + [TOTAL], dtype=object)
        cols = {}
        for k, name in ((1, "exits_households"), (2, "exits_persons"), (3, "exits_near_line_households")):
            a = np.stack([row[k] for row in self.pathway_rows]) / self.scale  # (years, counties, pathways)
            total = exact_sums(a.transpose(0, 2, 1).reshape(n_y * n_p, n_c)).reshape(n_y, 1, n_p)
            cols[name] = np.concatenate([a.reshape(n_y, n_c * n_p), total.reshape(n_y, n_p)], axis=1)
        # Year by year, county by county, pathway by pathway (the rows in the order they are
        # recorded); then the totals, year by year and pathway by pathway.
        def order(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a[:, :n_c * n_p].ravel(), a[:, n_c * n_p:].ravel()])
        return pd.DataFrame({
            "year": np.concatenate([np.repeat(years, n_c * n_p), np.repeat(years, n_p)]),
            "county": np.concatenate([np.tile(np.repeat(names[:n_c], n_p), n_y), np.repeat(names[n_c:], n_y * n_p)]).tolist(),
            "pathway": self.pathways * (n_c * n_y) + self.pathways * n_y,
            **{name: order(a) for name, a in cols.items()},
        })

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


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """part / whole where the whole is positive, else NaN."""
    return np.where(whole > 0, part / whole, np.nan)


def _by_year(years: list[int], n_c: int, values: dict[int, np.ndarray]) -> np.ndarray:
    """(years, counties) from a record per year: whole numbers, or NaN where a year has none."""
    if all(y in values for y in years):
        return np.array([values[y] for y in years], dtype=np.int64).reshape(len(years), n_c)
    return np.array([values[y] if y in values else np.full(n_c, np.nan) for y in years],
                    dtype=np.float64).reshape(len(years), n_c)


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
