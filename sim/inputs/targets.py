"""Calibration targets and observations: published figures, each with its place, year, the
uncertainty assigned to it and where it is printed.

A targets file (CSV, one row per figure; ``calibration/targets/*.csv``) has the columns

    quantity, place, year, value, tolerance, tolerance_reason, weight, source, printed

- ``quantity`` is one of ``QUANTITIES`` (what the model must reproduce, computed from a run by
  ``sim/analysis/observe.py``);
- ``place`` is ``ALL`` (the scenario's whole area) or a county name;
- ``year`` is a year, or a span ``2015-2018`` for quantities summed over years;
- ``tolerance`` (same unit as the value) is the error that counts as one unit of distance;
- ``weight`` says how much the figure counts: 1 for a figure published for the place, less for a
  national pattern that the place need only follow in shape;
- ``source`` cites the document and section, ``printed`` gives the figure as printed.

A scenario may carry its own observations (``[[observations]]`` tables with the same keys, source
and printed optional), so that a county outside the seeds is checked and calibrated from its own
plan without code: a figure for some years and not others, yearly exits rather than net
reductions.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError

# What a target can be, and what it means (its unit).
QUANTITIES: dict[str, str] = {
    "registered_persons_end": "persons on the register at the end of the year",
    "registered_households_end": "households on the register at the end of the year",
    "registered_persons_start": "persons on the register at the start of the first year (by category: place category:<name>)",
    "registered_households_start": "households on the register at the start (by category: place category:<name>)",
    "reduction_persons": "net fall of registered persons over the year(s)",
    "exits_persons": "persons exiting over the year(s)",
    "entries_persons": "persons newly registered over the year(s)",
    "returns_persons": "persons returning to poverty over the year(s)",
    "development_share:industry": "share of the exits by industry among exits by industry, employment and relocation",
    "development_share:employment": "share of the exits by employment among the three development routes",
    "development_share:relocation": "share of the exits by relocation among the three development routes",
    "welfare_exits_persons": "persons exiting through the welfare pathway (社会保障兜底) over the year(s)",
    "return_rate": "returns / exited households at the start of the year",
    "log10_return_rate": "log10 of the return rate of the year (returns / exited households at its start)",
    "log10_return_rate_change": "log10 of the return rate of the last year of the span over that of the first",
    "log10_entries_change": "log10 of new entries (persons) in the last year of the span over the first",
    "filed_income_growth": "mean per-person income of filed households (ever registered), last year of the span over the first",
    "poor_villages_end": "poor villages still listed at the end of the year",
    "poor_counties_end": "poor counties still listed at the end of the year",
}
COLUMNS = ("quantity", "place", "year", "value", "tolerance", "tolerance_reason", "weight", "source", "printed")
REQUIRED = ("quantity", "place", "year", "value", "tolerance")
TOTAL = "ALL"


@dataclass(frozen=True)
class Target:
    quantity: str
    place: str
    first_year: int
    last_year: int
    value: float
    tolerance: float
    weight: float = 1.0
    tolerance_reason: str = ""
    source: str = ""
    printed: str = ""

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)

    @property
    def label(self) -> str:
        span = str(self.first_year) if self.first_year == self.last_year else f"{self.first_year}-{self.last_year}"
        return f"{self.quantity} {self.place} {span}"


def _year_span(text: Any, file: Any, key: str) -> tuple[int, int]:
    s = str(text).strip()
    parts = s.split("-") if "-" in s[1:] else [s]
    try:
        years = [int(p) for p in parts]
    except ValueError:
        raise InputError(file, key, text, "a year or a span of years", "2016 or 2015-2018") from None
    if len(years) > 2 or not all(1990 <= y <= 2100 for y in years) or years[0] > years[-1]:
        raise InputError(file, key, text, "a year or a span of years", "2016 or 2015-2018")
    return years[0], years[-1]


def _number(text: Any, file: Any, key: str, positive: bool = False) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise InputError(file, key, text, "must be a number") from None
    if not math.isfinite(v) or (positive and v <= 0) or (not positive and v < 0 and key.endswith("weight")):
        raise InputError(file, key, text, "must be a finite number" + (" > 0" if positive else ""))
    return v


def target_from_row(row: Mapping[str, Any], file: Any, where: str, places: Iterable[str] | None = None) -> Target:
    """One target from a row (CSV) or table (scenario), checked; ``where`` names it in errors."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(file, f"{where}.{key}", row[key], "unknown column", ", ".join(COLUMNS))
    for key in REQUIRED:
        if row.get(key) in (None, ""):
            raise InputError(file, f"{where}.{key}", row.get(key), "required")
    quantity = str(row["quantity"])
    if quantity not in QUANTITIES:
        import difflib

        close = difflib.get_close_matches(quantity, list(QUANTITIES), n=1)
        raise InputError(file, f"{where}.quantity", quantity,
                         "unknown quantity" + (f" (did you mean '{close[0]}'?)" if close else ""), ", ".join(QUANTITIES))
    place = str(row["place"])
    if places is not None and place != TOTAL and not place.startswith("category:") and place not in set(places):
        raise InputError(file, f"{where}.place", place, "unknown place", "ALL or a county of the scenario")
    first, last = _year_span(row["year"], file, f"{where}.year")
    weight = _number(row.get("weight") if row.get("weight") not in (None, "") else 1.0, file, f"{where}.weight")
    return Target(quantity=quantity, place=place, first_year=first, last_year=last,
                  value=_number(row["value"], file, f"{where}.value"),
                  tolerance=_number(row["tolerance"], file, f"{where}.tolerance", positive=True),
                  weight=weight, tolerance_reason=str(row.get("tolerance_reason") or ""),
                  source=str(row.get("source") or ""), printed=str(row.get("printed") or ""))


def load_targets(path: str | Path, places: Iterable[str] | None = None) -> list[Target]:
    """Read a targets CSV; every row checked (an InputError names the file, row and column)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, "", None, f"cannot read the targets file: {exc}") from None
    if not rows:
        raise InputError(path, "", None, "no targets in the file")
    return [target_from_row({k: v for k, v in r.items() if k is not None}, path, f"row {i + 2}", places)
            for i, r in enumerate(rows)]


def write_targets(targets: Iterable[Target], path: str | Path) -> Path:
    """The targets as a CSV in the same layout (e.g. synthetic targets for a recovery test)."""
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for t in targets:
            span = str(t.first_year) if t.first_year == t.last_year else f"{t.first_year}-{t.last_year}"
            w.writerow({"quantity": t.quantity, "place": t.place, "year": span, "value": repr(float(t.value)),
                        "tolerance": repr(float(t.tolerance)), "tolerance_reason": t.tolerance_reason,
                        "weight": repr(float(t.weight)), "source": t.source, "printed": t.printed})
    return path
