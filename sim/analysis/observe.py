"""What a run says about each calibration target: the simulated value of a target's quantity for
its place and years, from a run's tables (``sim/inputs/targets.py`` lists the quantities).

``observe(tables, targets)`` gives one number per target for one run; for an ensemble the
calibration takes the mean over replicates and the fit report the median and interval.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..inputs.targets import TOTAL, Target

DEVELOPMENT = ("industry", "employment", "relocation")
RATE_FLOOR = 1e-5      # a return rate of 0 taken as this for its log (one return in 100,000 exited households)
COUNT_FLOOR = 1.0      # a count of 0 taken as this for its log


class _Run:
    """A run's tables indexed for quick look-ups (plain dictionaries: a calibration observes every
    candidate, and pandas' label look-ups cost more than the rest of the observation)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]):
        y = tables["yearly"]
        self._yearly = y
        self._row = {key: i for i, key in enumerate(zip(y["county"].tolist(), y["year"].tolist()))}
        self.years = sorted(set(y["year"].tolist()))
        self._columns: dict[str, list] = {}
        p = tables["pathways"]
        self.pathways = dict(zip(zip(p["county"].tolist(), p["year"].tolist(), p["pathway"].tolist()),
                                 p["exits_persons"].tolist()))
        inc = tables["incomes"]
        self.income_mean = ({(g, yr): np.float64(m) for g, yr, m in zip(inc["group"].tolist(), inc["year"].tolist(),
                                                                       inc["mean"].tolist())}
                            if "mean" in inc.columns else None)
        st = tables["start"]
        # The register at the start by category: {column: {category: value}}, in the table's order.
        self.start = ({c: dict(zip(st["category"].tolist(), st[c].tolist())) for c in ("households", "persons")}
                      if len(st) else None)

    def yearly_value(self, column: str, place: str, year: int) -> float:
        values = self._columns.get(column)
        if values is None:
            values = self._columns[column] = self._yearly[column].tolist()
        return float(values[self._row[(place, year)]])

    def yearly_sum(self, column: str, place: str, years: range) -> float:
        return float(sum(self.yearly_value(column, place, y) for y in years))

    def pathway_sum(self, place: str, years: range, pathway: str) -> float:
        return float(sum(self.pathways.get((place, y, pathway), 0.0) for y in years))


def _value(run: _Run, t: Target) -> float:
    q, place, years = t.quantity, t.place, t.years
    first, last = t.first_year, t.last_year
    if q in ("registered_persons_start", "registered_households_start"):
        column = "persons" if q.endswith("persons_start") else "households"
        if place.startswith("category:"):
            return float(run.start[column][place.split(":", 1)[1]])
        return float(np.sum(list(run.start[column].values()))) if place == TOTAL else run.yearly_value(
            "poor_" + q.split("_")[1] + "_start", place, run.years[0])
    if q == "registered_persons_end":
        return run.yearly_value("poor_persons_end", place, last)
    if q == "registered_households_end":
        return run.yearly_value("poor_households_end", place, last)
    if q == "reduction_persons":
        return run.yearly_value("poor_persons_start", place, first) - run.yearly_value("poor_persons_end", place, last)
    if q in ("exits_persons", "entries_persons", "returns_persons"):
        return run.yearly_sum(q, place, years)
    if q.startswith("development_share:"):
        route = q.split(":", 1)[1]
        total = sum(run.pathway_sum(place, years, r) for r in DEVELOPMENT)
        return run.pathway_sum(place, years, route) / total if total > 0 else 0.0
    if q == "welfare_exits_persons":
        return run.pathway_sum(place, years, "welfare")
    if q == "return_rate":
        v = run.yearly_value("return_rate", place, last)
        return 0.0 if math.isnan(v) else v
    if q == "log10_return_rate":
        v = run.yearly_value("return_rate", place, last)
        return math.log10(RATE_FLOOR if math.isnan(v) else max(v, RATE_FLOOR))
    if q == "log10_return_rate_change":
        a, b = (run.yearly_value("return_rate", place, y) for y in (first, last))
        a, b = (RATE_FLOOR if math.isnan(v) else max(v, RATE_FLOOR) for v in (a, b))
        return math.log10(b / a)
    if q == "log10_entries_change":
        a, b = (max(run.yearly_value("entries_persons", place, y), COUNT_FLOOR) for y in (first, last))
        return math.log10(b / a)
    if q == "filed_income_growth":
        with np.errstate(divide="ignore", invalid="ignore"):  # no income in the first year: inf, as a ratio
            return float(run.income_mean[("filed", last)] / run.income_mean[("filed", first)])
    if q in ("poor_villages_end", "poor_counties_end"):
        return run.yearly_value(q, place, last)
    raise KeyError(q)  # every quantity of sim.inputs.targets.QUANTITIES is handled above


def observe(tables: Mapping[str, pd.DataFrame], targets: Sequence[Target]) -> np.ndarray:
    """The simulated value of every target, for one run."""
    run = _Run(tables)
    return np.array([_value(run, t) for t in targets], dtype=np.float64)


def register_bound(persons_end: Mapping[int, np.ndarray], counties: Sequence[str],
                   targets: Sequence[Target]) -> float:
    """A lower bound on a candidate's ``distance`` from the register alone, part way through a
    run: the same root mean square with only the ``registered_persons_end`` targets of the years
    done (``persons_end[year]``: persons per county, in ``counties`` order, at full scale), as
    the other targets' terms are not negative. Calibration stops a candidate whose bound already
    exceeds the threshold."""
    total = 0.0
    for t in targets:
        ends = persons_end.get(t.last_year)
        if t.quantity != "registered_persons_end" or ends is None:
            continue
        value = float(ends.sum()) if t.place == TOTAL else float(ends[counties.index(t.place)])
        err = (value - t.value) / t.tolerance
        total += t.weight * err * err
    return math.sqrt(total / sum(t.weight for t in targets))


def distance(simulated: np.ndarray, targets: Sequence[Target]) -> float:
    """Weighted root mean square of the errors in units of each target's tolerance."""
    obs = np.array([t.value for t in targets])
    tol = np.array([t.tolerance for t in targets])
    w = np.array([t.weight for t in targets])
    err = (simulated - obs) / tol
    return float(np.sqrt((w * err * err).sum() / w.sum()))
