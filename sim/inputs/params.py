"""Parameters as data: each number with a label, a unit, a source or a stated assumption, and a range.

Parameter files live in ``sim/inputs/parameters/`` (TOML). A table is one parameter::

    [illness_rate]
    label = "Monthly probability that a household is hit by a serious illness"
    unit = "1/month"
    value = 0.006
    bounds = [0, 1]          # hard limits: a value outside is an input error
    range = [0.003, 0.012]   # plausible range: calibration samples from it
    source = "assumption"
    reason = "why this value and range"

A dated parameter gives ``values = {2014 = 2800, 2015 = 2855}`` instead of ``value``; the value in
force in a year is the latest one dated at or before it, as in OpenFisca's parameters.
The parameter's full name is ``<file stem>.<table>``, e.g. ``shocks.illness_rate``; programme files
in ``parameters/programmes/`` are named ``programme.<name>.<table>``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from .errors import InputError

PARAMETER_DIR = Path(__file__).parent / "parameters"
PROGRAMME_DIR = PARAMETER_DIR / "programmes"
ROOT = PARAMETER_DIR.parents[2]  # the checkout: files are shown relative to it
WHOLE_UNITS = ("years", "months", "year")  # counted in whole steps by the model
Number = float | int


class _ParameterEntry(BaseModel):
    """Schema of one parameter table in a parameter file."""

    model_config = ConfigDict(extra="forbid")
    label: str
    unit: str
    source: str
    reason: str | None = None
    calibrated: str | None = None
    value: Number | bool | str | list[Number] | list[str] | None = None
    values: dict[str, Number] | None = None
    bounds: tuple[Number, Number] | None = None
    range: tuple[Number, Number] | None = None
    choices: list[str] | None = None

    @model_validator(mode="after")
    def _check(self) -> "_ParameterEntry":
        if (self.value is None) == (self.values is None):
            raise ValueError("give exactly one of 'value' or 'values' (dated)")
        if self.source.strip().lower().startswith("assumption") and not self.reason:
            raise ValueError("an assumption needs a 'reason'")
        if self.calibrated is not None and self.range is None:
            raise ValueError("a calibrated value needs the 'range' it was calibrated within")
        if self.values is not None:
            for year in self.values:
                if not year.isdigit():
                    raise ValueError(f"dated value key {year!r} is not a year")
        return self


@dataclass(frozen=True)
class Parameter:
    """One parameter: its value (scalar or dated series) and everything needed to audit it."""

    name: str
    label: str
    unit: str
    source: str
    file: str
    reason: str | None = None
    value: Any = None
    values: Mapping[int, float] | None = None
    bounds: tuple[float, float] | None = None
    range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    calibrated: str | None = None  # the calibration that chose the value (an assumption's range is its prior)
    origin: str = ""  # the file that set the value in force (a scenario overlay, or the data file)

    @property
    def dated(self) -> bool:
        return self.values is not None

    @property
    def is_assumption(self) -> bool:
        return self.source.strip().lower().startswith("assumption")

    def at(self, year: int) -> float:
        """Value in force in ``year``: the latest dated value at or before it."""
        if self.values is None:
            return self.value
        years = [y for y in self.values if y <= year]
        if not years:
            raise InputError(self.origin or self.file, self.name, year,
                             "no value dated at or before this year",
                             f"years from {min(self.values)}")
        return self.values[max(years)]

    def unwrap_unit(self, value: Any, origin: str, key: str) -> Any:
        """An override may state its unit: ``{ value = 0.5, unit = "share" }``; it must be ours."""
        if isinstance(value, Mapping) and "value" in value:
            extra = set(value) - {"value", "unit"}
            if extra:
                raise InputError(origin, f"{key}.{sorted(extra)[0]}", value[sorted(extra)[0]],
                                 "unknown key (a typo?)", "value, unit")
            if "unit" in value and value["unit"] != self.unit:
                raise InputError(origin, f"{key}.unit", value["unit"], "wrong unit", self.unit)
            return value["value"]
        return value

    def checked(self, value: Any, origin: str, key: str) -> "Parameter":
        """A copy with ``value`` (scalar or {year: value}) after checking it against the bounds."""
        if isinstance(value, Mapping):
            if not self.dated:
                raise InputError(origin, key, dict(value), "this parameter is not dated",
                                 "a single value")
            series = {}
            for year, v in value.items():
                try:
                    y = int(year)
                except (TypeError, ValueError):
                    raise InputError(origin, f"{key}.{year}", v, "dated keys must be years") from None
                series[y] = self._check_scalar(v, origin, f"{key}.{year}")
            return replace(self, values={**self.values, **series}, origin=origin)
        if self.dated:
            v = self._check_scalar(value, origin, key)
            return replace(self, values={y: v for y in self.values}, origin=origin)
        return replace(self, value=self._check_scalar(value, origin, key), origin=origin)

    def _check_scalar(self, value: Any, origin: str, key: str) -> Any:
        current = self.value if not self.dated else next(iter(self.values.values()))
        if self.choices is not None:
            if value not in self.choices:
                raise InputError(origin, key, value, "not one of the choices", ", ".join(self.choices))
            return value
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise InputError(origin, key, value, "must be true or false")
            return value
        if isinstance(current, list) and current and isinstance(current[0], str):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InputError(origin, key, value, "must be a list of names")
            return list(value)
        if isinstance(current, list):
            if not isinstance(value, list) or len(value) != len(current):
                raise InputError(origin, key, value, f"must be a list of {len(current)} numbers")
            return [self._check_number(v, origin, key) for v in value]
        return self._check_number(value, origin, key)

    def _check_number(self, value: Any, origin: str, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(origin, key, value, f"must be a number in {self.unit}")
        try:
            finite = math.isfinite(value)
        except OverflowError:  # a whole number too large for a float (TOML integers have no limit)
            finite = False
        if not finite:
            raise InputError(origin, key, value, "must be finite",
                             f"{self.bounds[0]} to {self.bounds[1]}" if self.bounds else None)
        if self.unit in WHOLE_UNITS and not float(value).is_integer():
            raise InputError(origin, key, value, f"must be a whole number of {self.unit}")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo <= value <= hi:
                raise InputError(origin, key, value, f"out of bounds for {self.label} ({self.unit})",
                                 f"{lo} to {hi}")
        return value


@dataclass(frozen=True)
class ParameterSet:
    """All parameters by full name. Immutable: ``with_overrides`` returns a new set."""

    params: Mapping[str, Parameter] = field(default_factory=dict)

    @classmethod
    def defaults(cls) -> "ParameterSet":
        return _DEFAULTS if _DEFAULTS is not None else _load_defaults()

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self.params[name]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self.params

    def __iter__(self):
        return iter(self.params.values())

    def value(self, name: str, year: int | None = None) -> Any:
        p = self[name]
        if p.dated:
            if year is None:
                raise ValueError(f"parameter {name} is dated: give a year")
            return p.at(year)
        return p.value

    def group(self, prefix: str, year: int | None = None) -> dict[str, Any]:
        """All parameters under ``prefix.`` as a plain dict of values (dated ones at ``year``)."""
        out = {}
        for name, p in self.params.items():
            if name.startswith(prefix + "."):
                out[name[len(prefix) + 1:]] = p.at(year) if (p.dated and year is not None) else (
                    dict(p.values) if p.dated else p.value)
        return out

    def with_overrides(self, overrides: Mapping[str, Any], origin: str,
                       key_prefix: str = "parameters") -> "ParameterSet":
        """Apply a scenario's overrides, checking every one before anything changes."""
        new = dict(self.params)
        for name, value in overrides.items():
            key = f"{key_prefix}.{name}"
            if name not in self.params:
                raise InputError(origin, key, value, "unknown parameter",
                                 _closest(name, self.params))
            value = self.params[name].unwrap_unit(value, origin, key)
            new[name] = self.params[name].checked(value, origin, key)
        return ParameterSet(new)

    def table(self):
        """Every parameter as a DataFrame row: the audit table (``tuopin params``). The documents a
        parameter's source cites (``sim/inputs/sources.toml``) are named by id (``cites``), short
        English title (``document``) and full titles (``title_en``, ``title_zh``), "; " between
        several."""
        import pandas as pd

        from .sources import cited, registry

        docs = registry()
        rows = []
        for p in self.params.values():
            ids = cited(p.source, docs)
            rows.append({
                "name": p.name, "label": p.label, "unit": p.unit,
                "value": (dict(p.values) if p.dated else p.value),
                "range": p.range, "source": p.source,
                "document": "; ".join(docs[i].short_en for i in ids),
                "reason": p.reason or "", "calibrated": p.calibrated or "", "file": p.file, "set_by": p.origin,
                "cites": "; ".join(ids),
                "title_en": "; ".join(docs[i].title_en for i in ids),
                "title_zh": "; ".join(docs[i].title_zh for i in ids),
            })
        return pd.DataFrame(rows)


def _closest(name: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return ("did you mean " + ", ".join(close)) if close else "see `tuopin params`"


def load_parameter_file(path: Path, prefix: str) -> dict[str, Parameter]:
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, "", None, f"not valid TOML: {exc}") from None
    out = {}
    for key, table in raw.items():
        name = f"{prefix}.{key}"
        if not isinstance(table, dict):
            raise InputError(path, key, table, "each parameter must be a table with label, unit, source")
        try:
            entry = _ParameterEntry.model_validate(table)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            raise InputError(path, f"{key}.{loc}" if loc else key, err.get("input"), err["msg"]) from None
        values = None
        if entry.values is not None:
            values = {int(y): v for y, v in sorted(entry.values.items(), key=lambda kv: int(kv[0]))}
        p = Parameter(
            name=name, label=entry.label, unit=entry.unit, source=entry.source, reason=entry.reason,
            value=entry.value, values=values, bounds=entry.bounds, range=entry.range,
            choices=tuple(entry.choices) if entry.choices else None, calibrated=entry.calibrated,
            file=str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        )
        # The default value must itself respect the bounds.
        for v in (values.values() if values else [entry.value]):
            p._check_scalar(v, p.file, name)
        out[name] = replace(p, origin=p.file)
    return out


_DEFAULTS: ParameterSet | None = None


def _load_defaults() -> ParameterSet:
    global _DEFAULTS
    params: dict[str, Parameter] = {}
    for path in sorted(PARAMETER_DIR.glob("*.toml")):
        params.update(load_parameter_file(path, path.stem))
    for path in sorted(PROGRAMME_DIR.glob("*.toml")):
        params.update(load_parameter_file(path, f"programme.{path.stem}"))
    _DEFAULTS = ParameterSet(params)
    return _DEFAULTS


def programme_names() -> tuple[str, ...]:
    """Every programme that has a parameter file, by name (alphabetical): the budget keys a
    scenario may use. The order in which programmes run is the registry's (``sim.programmes``)."""
    return tuple(sorted(path.stem for path in PROGRAMME_DIR.glob("*.toml")))
