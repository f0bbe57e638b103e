"""Scenario files (TOML) and overrides: what a planner writes, checked whole before anything runs.

A scenario may ``extends = "baseline.toml"``: its tables are laid over the baseline's, key by key,
so a budget option is a few lines. Every key is checked against the schema (unknown keys are
refused, so a typo never passes silently); a refusal names the file that set the key, the key
path and the value.

Every number is finite and within a stated limit (``MAX_PERSONS``, ``MAX_VILLAGES``,
``MAX_BUDGET``, ``MAX_COUNTIES``), what is derived from several keys too (a county's rural
population from its incidence, its plan target from its reductions), and a scenario's name is a
safe folder name: what would crash a run or print nonsense is refused here, by ``tuopin validate``.

A programme is given either money (``[budgets]``, yuan a year) or, year by year, a coverage
target (``[coverage]``, the share of its eligible households to reach: ``sim/core/coverage.py``).
A file that gives a programme a coverage target takes over, for the years the target governs, the
budget a file it extends gives that programme; a file that gives a programme a budget drops the
coverage target a file it extends gives it; one file (or one set of overrides) that gives a
programme both for the same year is refused.

Overrides use one dotted key space for budgets, coverage targets, scenario settings and parameters
alike (``"budgets.employment"``, ``"budgets.employment.2016"``, ``"coverage.industry.2020"``,
``"scenario.population_scale"``, ``"programme.employment.effect"``);
``LoadedScenario.with_overrides`` checks them all, with the rest of the scenario, before anything
runs.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .arguments import SEED_LIMIT
from .errors import InputError
from .params import ParameterSet, programme_names
from .vocabulary import CAUSES, REGISTERED_CATEGORIES

PROGRAMME_NAMES = programme_names()
MAX_EXTENDS_DEPTH = 8
OVERRIDES = "<overrides>"  # the origin named in errors about an override

# Stated limits. A value beyond one describes no real place: it would only crash a run (arrays
# too large to allocate) or print nonsense (totals of inf, negative plan targets).
MAX_PERSONS = 1_500_000_000  # persons or households in any count: more than China's population (1.41 bn, 2020)
MAX_VILLAGES = 1_000_000     # poor villages in a scenario or a county: China listed 128,000 in all (2014)
MAX_BUDGET = 1e15            # yuan per programme and year: 40 times China's public spending in 2020 (24.6 tn)
MAX_COUNTIES = 2**15 - 1     # a household's county index is an int16 (core/state.py)
# A scenario's name names its results folder, results/<name>, and <name>-reproduced-<n> beside it:
# well within the 255 bytes a file name may have.
MAX_NAME_LENGTH = 100

Persons = Annotated[float, Field(ge=0, le=MAX_PERSONS, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Meta(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str = ""
    description: str = ""
    extends: str | None = None
    start_year: int = Field(ge=2000, le=2100)
    end_year: int = Field(ge=2000, le=2100)
    seed: int = Field(default=20151124, ge=0, lt=SEED_LIMIT)
    population_scale: float = Field(default=1.0, gt=0, le=1, allow_inf_nan=False)
    poverty_line: Literal["national", "provincial"] = "national"
    targeting: Literal["precision", "untargeted"] = "precision"
    region: Literal["eastern", "western"] = "eastern"
    exit_deadline: int | None = Field(default=None, ge=2000, le=2100, description="the year by which the "
                                      "plan has every registered household out: from that year's assessment "
                                      "on, a household exits at the line itself (the exit standard), without "
                                      "the stability margin asked while there is time (the "
                                      "2014-2020 register; the transition period keeps its own rules)")
    include: list[str] = Field(default_factory=list, description="parameter files whose [parameters] this "
                               "scenario's own parameters are laid over (e.g. calibrated values)")
    parameter_sets: str | None = Field(default=None, description="a Parquet file of parameter sets (e.g. a "
                                       "calibration's posterior): each replicate runs one, drawn by its seed")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        # The pattern keeps out path separators; "." and ".." name folders that exist already.
        if v.startswith("."):
            raise ValueError("a scenario name is a folder name and cannot start with '.'")
        return v

    @model_validator(mode="after")
    def _years(self) -> "Meta":
        if self.end_year < self.start_year:
            raise ValueError(f"end_year {self.end_year} is before start_year {self.start_year}")
        return self


class Group(_Strict):
    households: Persons
    persons: Persons


class County(_Strict):
    name: str = Field(min_length=1)
    name_zh: str = ""
    poor_persons: int = Field(gt=0, le=MAX_PERSONS, description="registered poor persons at the end of the base year")
    incidence: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False,
                                    description="registered poor persons / rural population")
    rural_population: int | None = Field(default=None, gt=0, le=MAX_PERSONS)
    poor_villages: int | None = Field(default=None, ge=0, le=MAX_VILLAGES)
    poor_county: bool | None = Field(default=None, description="on the list of poor counties (贫困县) at the start")
    reductions: dict[int, Annotated[int, Field(le=MAX_PERSONS)]] = Field(
        default_factory=dict, description="planned reduction of registered poor persons per year")

    @model_validator(mode="after")
    def _check(self) -> "County":
        if self.rural_population is not None and self.rural_population < self.poor_persons:
            raise ValueError("rural_population is smaller than poor_persons")
        if any(v < 0 for v in self.reductions.values()):
            raise ValueError("reductions cannot be negative")
        return self


class Population(_Strict):
    base_year: int = Field(ge=2000, le=2100)
    categories: dict[Literal[REGISTERED_CATEGORIES], Group]
    causes: dict[Literal[CAUSES], Annotated[float, Field(le=MAX_PERSONS, allow_inf_nan=False)]]
    relocation_area_share: float = Field(ge=0, le=1, allow_inf_nan=False,
                                         description="share of registered households in relocation areas")
    poor_villages: int = Field(default=0, ge=0, le=MAX_VILLAGES)
    poor_counties: int = Field(default=0, ge=0, le=MAX_COUNTIES,
                               description="listed poor counties; those a county entry does not "
                               "mark are the ones with the most registered poor persons")
    counties: list[County] = Field(min_length=1, max_length=MAX_COUNTIES)

    @field_validator("causes")
    @classmethod
    def _causes(cls, v: dict[str, float]) -> dict[str, float]:
        if any(x < 0 for x in v.values()):
            raise ValueError("cause counts cannot be negative")
        if sum(v.values()) <= 0:
            raise ValueError("causes must have a positive total")
        return v

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: dict[str, Group]) -> dict[str, Group]:
        if sum(g.persons for g in v.values()) <= 0:
            raise ValueError("categories must have a positive total of persons")
        for name, g in v.items():
            if g.persons < g.households:
                raise ValueError(f"{name}: fewer persons than households")
            if g.households == 0 and g.persons > 0:
                raise ValueError(f"{name}: persons but no households")
        return v

    @model_validator(mode="after")
    def _names(self) -> "Population":
        names = [c.name for c in self.counties]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"county names repeat: {sorted(dup)}")
        marked = sum(1 for c in self.counties if c.poor_county)
        if self.poor_counties and marked > self.poor_counties:
            raise ValueError(f"{marked} counties are marked poor_county but poor_counties is {self.poor_counties}")
        return self


YearlyAmount = float | dict[int, float]
YearlyShare = float | dict[int, float]  # a coverage target: one share for every year, or shares by year


class Observation(_Strict):
    """A published figure the scenario's run should reproduce (``sim/inputs/targets.py``)."""

    quantity: str
    place: str = "ALL"
    year: int | str
    value: float
    tolerance: float = Field(gt=0)
    weight: float = Field(default=1.0, ge=0)
    tolerance_reason: str = ""
    source: str = ""
    printed: str = ""


class Scenario(_Strict):
    """A fully resolved scenario (after ``extends``)."""

    scenario: Meta
    population: Population
    budgets: dict[Literal[PROGRAMME_NAMES], YearlyAmount] = Field(default_factory=dict)
    budget_shares: dict[str, float] | None = Field(
        default=None, description="county shares of every budget; default: shares of poor persons")
    parameters: dict[str, Any] = Field(default_factory=dict)
    observations: list[Observation] = Field(default_factory=list)
    coverage: dict[Literal[PROGRAMME_NAMES], YearlyShare] = Field(
        default_factory=dict, description="programmes given by the share of their eligible households "
        "to reach by the end of a year, instead of a budget (sim/core/coverage.py)")

    @property
    def years(self) -> range:
        return range(self.scenario.start_year, self.scenario.end_year + 1)

    def budget(self, programme: str, year: int) -> float:
        amount = self.budgets.get(programme, 0.0)
        if isinstance(amount, dict):
            return float(amount.get(year, 0.0))
        return float(amount)

    def coverage_years(self, programme: str) -> range:
        """The years a coverage target governs ``programme``: every year of the run for one share,
        from the first year a table lists to the end of the run for a table; none without one."""
        first = _first_coverage_year(self.coverage.get(programme), self.scenario.start_year)
        return range(first if first is not None else self.scenario.end_year + 1, self.scenario.end_year + 1)

    def coverage_target(self, programme: str, year: int) -> float | None:
        """The share of ``programme``'s eligible households to reach by the end of ``year``, or None
        if money governs the programme that year. Between two years a table lists, the share is
        interpolated linearly; after the last, the last share holds."""
        value = self.coverage.get(programme)
        if value is None or year not in self.coverage_years(programme):
            return None
        if not isinstance(value, dict):
            return float(value)
        listed = sorted(value)
        if year >= listed[-1]:
            return float(value[listed[-1]])
        after = next(y for y in listed if y >= year)
        if after == year:
            return float(value[year])
        before = max(y for y in listed if y < year)
        return float(value[before] + (value[after] - value[before]) * (year - before) / (after - before))

    def digest(self) -> str:
        record = self.model_dump(mode="json")
        if not record["coverage"]:
            del record["coverage"]  # a scenario without coverage targets keeps the digest it had before them
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


class LoadedScenario:
    """A validated scenario plus the files it came from, its resolved parameters and, if it has
    them, its parameter sets."""

    def __init__(self, spec: Scenario, files: list[Path], params: ParameterSet, raw: dict,
                 prov: dict[str, str] | None = None, parameter_sets: "ParameterSets | None" = None):
        self.spec = spec
        self.files = files
        self.params = params
        self.raw = raw
        self.prov = prov or {}  # key path -> the file that set it
        self.parameter_sets = parameter_sets

    def with_parameter_set(self, seed: int) -> "LoadedScenario":
        """The scenario with the parameter set that ``seed`` draws (itself if it has none). A
        parameter the scenario sets itself (a file's ``[parameters]``, or an override) is not drawn:
        what a user fixes stays fixed, and the set supplies the rest."""
        if self.parameter_sets is None:
            return self
        own = set(self.spec.parameters)
        drawn = {k: v for k, v in self.parameter_sets.draw(seed).items() if k not in own}
        return self.with_overrides(drawn, origin=self.spec.scenario.parameter_sets or "")

    @property
    def name(self) -> str:
        return self.spec.scenario.name

    @property
    def path(self) -> Path:
        return self.files[-1]

    def with_changes(self, changes: dict, origin: str = "<python>") -> "LoadedScenario":
        """A new scenario with ``changes`` (same shape as a scenario file) laid over this one."""
        raw = _merge(self.raw, changes)
        _spread_budgets(self.raw, changes, raw)
        _spread_budgets(self.raw, changes, raw, table="coverage")
        _settle_coverage(changes, raw)
        prov = {**self.prov, **{k: origin for k in _leaf_keys(changes)}}
        # Over this scenario's parameters, not the installed defaults: values set outside its
        # files (a manifest's, in reproduce) stay in force.
        return _validate(raw, self.files, prov, base_params=self.params, sets=self.parameter_sets)

    def with_overrides(self, overrides: Mapping[str, Any] | None, origin: str = OVERRIDES) -> "LoadedScenario":
        """A new scenario with dotted-key ``overrides`` laid over this one, all checked first.

        Keys: ``budgets.<programme>`` (yuan/year, or a {year: yuan} table), ``budgets.<programme>.<year>``,
        ``coverage.<programme>`` (a share, or a {year: share} table), ``coverage.<programme>.<year>``,
        ``scenario.<setting>``, and any parameter by its full name (``tuopin params``), with or
        without a ``parameters.`` prefix. An unknown key, a bad type or a value out of bounds is one
        InputError naming the key and the value.
        """
        if not overrides:
            return self
        return self.with_changes(overrides_to_changes(overrides, self.params, origin), origin=origin)

    def with_budgets_scaled(self, factor: float | Mapping[str, float], origin: str = "<python>") -> "LoadedScenario":
        """Every programme budget times ``factor`` (one number, or one per programme: programmes not
        named keep their budgets), each in its own form (one amount, or amounts by year)."""
        return self.with_changes({"budgets": scale_budgets(self.raw.get("budgets", {}), factor)}, origin=origin)

    def targets(self) -> list:
        """The scenario's own observations as calibration targets (checked like a targets file)."""
        from .targets import target_from_row

        places = [c.name for c in self.spec.population.counties]
        return [target_from_row(o.model_dump(), _origin(self.prov, f"observations.{i}", self.path),
                                f"observations.{i}", places)
                for i, o in enumerate(self.spec.observations)]

    def override_keys(self) -> list[str]:
        """Every key ``with_overrides`` accepts (budget years aside), for help and suggestions."""
        return override_keys(self.params)


def scenario_from_dict(raw: dict, origin: str | Path, parameter_sets: Mapping | None = None) -> LoadedScenario:
    """A scenario from an already resolved table (e.g. the ``scenario`` of a run manifest), with
    its parameter sets as ``ParameterSets.as_record`` gives them, if it has any."""
    raw = {k: v for k, v in raw.items()}
    if isinstance(raw.get("scenario"), dict):
        raw["scenario"] = {k: v for k, v in raw["scenario"].items()
                           if not (k in ("extends", "parameter_sets") and v is None)}
    for key in ("budget_shares",):
        if raw.get(key) is None:
            raw.pop(key, None)
    prov = {k: str(origin) for k in _leaf_keys(raw)}
    sets = ParameterSets.from_record(parameter_sets, origin) if parameter_sets else None
    return _validate(raw, [Path(origin)], prov, base_params=ParameterSet.defaults(), sets=sets)


def load_scenario(path: str | Path, *, allow_outside: bool = False) -> LoadedScenario:
    """Read a scenario file, resolve ``extends``, and check everything. Raises InputError."""
    path = Path(path)
    raw, files, prov = _read_chain(path, allow_outside=allow_outside, depth=0, root=path.resolve().parent)
    return _validate(raw, files, prov, base_params=ParameterSet.defaults())


def _validate(raw: dict, files: list[Path], prov: dict[str, str], base_params: ParameterSet,
              sets: "ParameterSets | None" = None) -> LoadedScenario:
    if isinstance(raw.get("parameters"), dict):
        raw = {**raw, "parameters": _flatten_parameters(raw["parameters"])}
    raw = _run_coverage_programmes(raw)
    try:
        spec = Scenario.model_validate(_with_int_keys(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        # Drop pydantic's markers of dict keys and union branches: keep the file's own key path.
        loc = [x for x in err["loc"] if x != "[key]" and not _is_type_tag(x)]
        key = ".".join(str(x) for x in loc)
        raise InputError(_origin(prov, key, files[-1]), key, err.get("input"), _message(err, loc),
                         _allowed(err, loc)) from None
    meta = spec.scenario
    _check_years(spec, prov, files[-1])
    _check_parameter_years(spec, base_params, prov, files[-1])
    # Each override is checked and credited to the file that set it (extends may have).
    params = base_params
    for name, value in spec.parameters.items():
        origin = prov.get(f"parameters.{name}", str(files[-1]))
        params = params.with_overrides({name: value}, origin=origin)
    _check_counties(spec, params, prov, files[-1])
    _check_coverage(spec, params, prov, files[-1])
    if meta.population_scale < 1 and meta.population_scale * sum(c.poor_persons for c in spec.population.counties) < 1:
        raise InputError(_origin(prov, "scenario.population_scale", files[-1]), "scenario.population_scale",
                         meta.population_scale, "leaves no households to simulate")
    ref = meta.parameter_sets
    if ref is not None and ref.startswith("sha256:"):
        if sets is None or ref != f"sha256:{sets.digest}":
            raise InputError(_origin(prov, "scenario.parameter_sets", files[-1]), "scenario.parameter_sets", ref,
                             "these parameter sets are not at hand: give the file they were read from")
    elif ref is not None:
        sets = ParameterSets.load(Path(ref), params, _origin(prov, "scenario.parameter_sets", files[-1]))
        # The spec records the sets by content, so that it means the same on any machine.
        ref = f"sha256:{sets.digest}"
        spec = spec.model_copy(update={"scenario": meta.model_copy(update={"parameter_sets": ref})})
        raw = {**raw, "scenario": {**raw["scenario"], "parameter_sets": ref}}
    else:
        sets = None
    return LoadedScenario(spec, files, params, raw, prov, sets)


class ParameterSets:
    """Parameter sets to run (e.g. the accepted ones of a calibration), with weights; each run
    draws one with its seed, so an ensemble carries parameter uncertainty as well as chance."""

    def __init__(self, names: list[str], values: "np.ndarray", weights: "np.ndarray", digest: str):
        self.names = names
        self.values = values
        self.weights = weights  # normalised once, where they are read: a record keeps their exact bits
        self.digest = digest

    @classmethod
    def load(cls, path: Path, params: ParameterSet, origin: str) -> "ParameterSets":
        import numpy as np
        import pandas as pd

        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(origin, "scenario.parameter_sets", str(path), f"cannot read the parameter sets: {exc}") from None
        weights = df.pop("weight").to_numpy(dtype=float) if "weight" in df else np.ones(len(df))
        df = df.drop(columns=[c for c in ("distance",) if c in df])
        for name in df.columns:
            if name not in params:
                raise InputError(path, name, None, "not a parameter" + _suggestion(name, [p.name for p in params]))
        if not len(df) or not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise InputError(path, "weight", None, "parameter sets need rows and finite weights >= 0 with a positive sum")
        values = df.to_numpy(dtype=float)
        weights = weights / weights.sum()
        return cls(list(df.columns), values, weights, cls.digest_of(list(df.columns), values, weights))

    def as_record(self) -> dict:
        """The sets as plain data (for a manifest)."""
        return {"names": self.names, "values": self.values.tolist(), "weights": self.weights.tolist()}

    @classmethod
    def from_record(cls, record: Mapping, origin: Any) -> "ParameterSets":
        import numpy as np

        try:
            names = [str(n) for n in record["names"]]
            values = np.array(record["values"], dtype=float).reshape(-1, len(names))
            weights = np.array(record["weights"], dtype=float)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise InputError(origin, "parameter_sets", None, f"not a record of parameter sets: {exc}") from None
        if (weights.shape != (len(values),) or not len(values) or not np.isfinite(weights).all()
                or (weights < 0).any() or abs(weights.sum() - 1) > 1e-9):
            raise InputError(origin, "parameter_sets.weights", None,
                             "one weight per parameter set, finite, >= 0 and summing to 1")
        return cls(names, values, weights, cls.digest_of(names, values, weights))

    @staticmethod
    def digest_of(names: list[str], values: "np.ndarray", weights: "np.ndarray") -> str:
        """The sets' identity: the same names, values and normalised weights, the same digest."""
        record = {"names": names, "values": values.tolist(), "weights": weights.tolist()}
        return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()

    def draw(self, seed: int) -> dict[str, float]:
        """The parameter set a run with ``seed`` takes: a weighted draw from the seed's own stream."""
        import numpy as np

        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(2**31 - 1,))))
        row = self.values[int(rng.choice(len(self.values), p=self.weights))]
        return {name: float(v) for name, v in zip(self.names, row)}


def _check_counties(spec: Scenario, params: ParameterSet, prov: dict[str, str], default: Path) -> None:
    """What several keys of a county imply together: a rural population within the limit, and
    plan targets that never fall below zero."""
    default_incidence = params.value("population.initial_incidence")
    for i, county in enumerate(spec.population.counties):
        at = f"population.counties.{i}"
        if county.rural_population is None:
            given = county.incidence is not None
            incidence = county.incidence if given else default_incidence
            rural = county.poor_persons / incidence
            if rural > MAX_PERSONS:
                key = f"{at}.incidence" if given else f"{at}.poor_persons"
                source = "incidence" if given else f"the default incidence, population.initial_incidence = {incidence:g}"
                raise InputError(_origin(prov, key, default), key, incidence if given else county.poor_persons,
                                 f"implies a rural population of {rural:,.4g} (poor_persons / {source}), "
                                 f"more than the {MAX_PERSONS:,} allowed",
                                 f"an incidence of at least {county.poor_persons / MAX_PERSONS:.3g}" if given else
                                 "the county's incidence or rural_population")
        planned = 0
        for year, cut in sorted(county.reductions.items()):
            planned += cut
            if planned > county.poor_persons:
                key = f"{at}.reductions.{year}"
                raise InputError(_origin(prov, key, default), key, cut,
                                 f"the reductions up to {year} add up to {planned:,}, more than the county's "
                                 f"{county.poor_persons:,} poor persons (a negative plan target)",
                                 f"at most {county.poor_persons - (planned - cut):,}")


def _check_parameter_years(spec: Scenario, params: ParameterSet, prov: dict[str, str], default: Path) -> None:
    """Every dated parameter must have a value in force from the base year on."""
    base = spec.population.base_year
    for p in params:
        if p.dated and min(p.values) > base:
            key = "population.base_year"
            raise InputError(_origin(prov, key, default), key, base,
                             f"parameter {p.name} ({p.file}) has no value before {min(p.values)}",
                             f"a base year from {min(p.values)}")


def _check_years(spec: Scenario, prov: dict[str, str], default: Path) -> None:
    years = spec.years
    base = spec.population.base_year
    if base != spec.scenario.start_year - 1:
        raise InputError(_origin(prov, "population.base_year", default), "population.base_year", base,
                         "must be the year before scenario.start_year", str(spec.scenario.start_year - 1))
    for prog, amount in spec.budgets.items():
        if isinstance(amount, dict):
            for y, v in amount.items():
                key = f"budgets.{prog}.{y}"
                if y not in years:
                    raise InputError(_origin(prov, key, default), key, v, "year outside the run",
                                     f"{years.start}–{years.stop - 1}")
                if not _is_budget(v):
                    raise InputError(_origin(prov, key, default), key, v, BUDGET_PROBLEM, BUDGET_ALLOWED)
        elif not _is_budget(amount):
            key = f"budgets.{prog}"
            raise InputError(_origin(prov, key, default), key, amount, BUDGET_PROBLEM, BUDGET_ALLOWED)
    if spec.budget_shares is not None:
        names = {c.name for c in spec.population.counties}
        for county, share in spec.budget_shares.items():
            key = f"budget_shares.{county}"
            if county not in names:
                raise InputError(_origin(prov, key, default), key, share, "unknown county", ", ".join(sorted(names)))
            if not math.isfinite(share) or share < 0:
                raise InputError(_origin(prov, key, default), key, share, "a share cannot be negative", ">= 0")
        total = sum(spec.budget_shares.values())
        if not abs(total - 1) <= 1e-6:
            raise InputError(_origin(prov, "budget_shares", default), "budget_shares", total,
                             "county shares must sum to 1")
    for i, county in enumerate(spec.population.counties):
        for y, v in county.reductions.items():
            if not (base <= y <= spec.scenario.end_year + 10):
                key = f"population.counties.{i}.reductions.{y}"
                raise InputError(_origin(prov, key, default), key, v, "year outside the plan", f"{base}–")


def _check_coverage(spec: Scenario, params: ParameterSet, prov: dict[str, str], default: Path) -> None:
    """Coverage targets: shares from 0 to 1, years inside the run, never both a budget and a
    target for one programme in one year, and a programme that spends on households."""
    years = spec.years
    for prog, value in spec.coverage.items():
        at = f"coverage.{prog}"
        shares = value.items() if isinstance(value, dict) else [(None, value)]
        if isinstance(value, dict) and not value:
            raise InputError(_origin(prov, at, default), at, value, "a coverage table needs at least one year",
                             f"{{ {years.stop - 1} = 0.8 }}, or one share for every year")
        for y, share in shares:
            key = at if y is None else f"{at}.{y}"
            if y is not None and y not in years:
                raise InputError(_origin(prov, key, default), key, share, "year outside the run",
                                 f"{years.start}–{years.stop - 1}")
            if not (math.isfinite(share) and 0 <= share <= 1):
                raise InputError(_origin(prov, key, default), key, share, COVERAGE_PROBLEM, ">= 0 and <= 1")
        governed = spec.coverage_years(prog)
        amount = spec.budgets.get(prog, {})
        both = list(governed) if not isinstance(amount, dict) else sorted(y for y in amount if y in governed)
        if both:
            key = f"budgets.{prog}" if not isinstance(amount, dict) else f"budgets.{prog}.{both[0]}"
            raise InputError(_origin(prov, key, default), key, amount if not isinstance(amount, dict) else amount[both[0]],
                             f"{prog} has a coverage target for {both[0]} too ({at} = {value!r}, "
                             f"from {_origin(prov, at, default)}): a programme is given money or a "
                             "coverage target in a year, not both",
                             f"budgets for the years before {governed.start}" if governed.start > years.start
                             else "no budget for it")
        village_share = f"programme.{prog}.village_share"
        if village_share in params and params.value(village_share) >= 1:
            raise InputError(_origin(prov, at, default), at, value,
                             f"{village_share} = {params.value(village_share):g} leaves nothing for households, "
                             "so no coverage target can be reached", f"{village_share} < 1, or a budget")


COVERAGE_PROBLEM = "a coverage target is the share of the programme's eligible households to reach, from 0 to 1"
BUDGET_PROBLEM = "a budget must be a finite amount of yuan a year, not negative, within the limit"
BUDGET_ALLOWED = f">= 0 and <= {MAX_BUDGET:.0e}"


def _is_budget(amount: float) -> bool:
    return math.isfinite(amount) and 0 <= amount <= MAX_BUDGET


def _is_type_tag(part) -> bool:
    return isinstance(part, str) and (part in ("float", "int", "str", "bool") or "[" in part)


def _message(err: dict, loc: list) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown key" + _suggestion(str(loc[-1]) if loc else "", _keys_at(loc) if loc else [])
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "literal_error":
        choices = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
        return "not one of the allowed values" + _suggestion(str(err.get("input")), choices)
    return msg.removeprefix("Value error, ")


def _suggestion(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else " (a typo?)"


def _keys_at(loc: list) -> list[str]:
    """The keys the schema accepts in the table that holds ``loc``'s last key."""
    model: Any = Scenario
    container_key = False  # the next part is a dict key or list index, not a field
    for part in loc[:-1]:
        if container_key or not (isinstance(model, type) and issubclass(model, BaseModel)):
            container_key = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        annotation = field.annotation
        container_key = get_origin(annotation) in (list, dict)
        # Unwrap list[...] / dict[..., X] to the table's model.
        inner = [a for a in get_args(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        model = inner[0] if inner else annotation
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _allowed(err: dict, loc: list | None = None) -> str | None:
    if err["type"] == "extra_forbidden" and loc:
        return ", ".join(_keys_at(loc)) or None
    ctx = err.get("ctx") or {}
    if "expected" in ctx:
        return str(ctx["expected"])
    for bound in ("ge", "gt", "le", "lt"):
        if bound in ctx:
            return f"{ {'ge': '>=', 'gt': '>', 'le': '<=', 'lt': '<'}[bound]} {ctx[bound]}"
    return None


def _origin(prov: dict[str, str], key: str, default: Path) -> str:
    """The file that set ``key`` (or its nearest parent key)."""
    parts = key.split(".")
    while parts:
        k = ".".join(parts)
        if k in prov:
            return prov[k]
        parts.pop()
    return str(default)


def _read_chain(path: Path, *, allow_outside: bool, depth: int, root: Path) -> tuple[dict, list[Path], dict]:
    if depth > MAX_EXTENDS_DEPTH:
        raise InputError(path, "scenario.extends", str(path), "extends chain too deep (a loop?)",
                         f"at most {MAX_EXTENDS_DEPTH} levels")
    if not path.is_file():
        raise InputError(path, "", str(path), "scenario file not found")
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, "", None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(path, "", None, "not valid TOML: nested too deeply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, "", None, f"cannot read: {exc}") from None
    if isinstance(raw.get("parameters"), dict):
        raw["parameters"] = _flatten_parameters(raw["parameters"])
    meta = raw.get("scenario", {})
    own_prov = {k: str(path) for k in _leaf_keys(raw)}
    if isinstance(meta, dict):
        own_prov.update(_resolve_files(raw, meta, path, allow_outside=allow_outside, root=root))
    parent_name = meta.get("extends") if isinstance(meta, dict) else None
    if parent_name is None:
        return raw, [path], own_prov
    if not isinstance(parent_name, str):
        raise InputError(path, "scenario.extends", parent_name, "must be a file name")
    parent = (path.parent / parent_name).resolve()
    if not parent.is_file():
        raise InputError(path, "scenario.extends", parent_name, f"file not found ({parent})")
    if not allow_outside and not parent.is_relative_to(root):
        raise InputError(path, "scenario.extends", parent_name,
                         "points outside the scenario's folder tree",
                         f"files under {root} (or pass --allow-outside)")
    base, files, prov = _read_chain(parent, allow_outside=allow_outside, depth=depth + 1, root=root)
    _spread_budgets(base, raw, merged := _merge(base, raw))
    _spread_budgets(base, raw, merged, table="coverage")
    _settle_coverage(raw, merged)
    merged.get("scenario", {}).pop("extends", None)
    # What this file replaces whole (arrays, values) no longer comes from the base below it.
    replaced = [k for k in own_prov if not isinstance(_get(raw, k), dict)]
    prov = {k: v for k, v in prov.items() if not any(k.startswith(r + ".") for r in replaced)}
    return merged, files + [path], {**prov, **own_prov}


def _inside(path: Path, root: Path, allow_outside: bool, file: Path, key: str, value: str) -> Path:
    if not allow_outside and not path.is_relative_to(root):
        raise InputError(file, key, value, "points outside the scenario's folder tree",
                         f"files under {root} (or pass --allow-outside)")
    return path


def _resolve_files(raw: dict, meta: dict, path: Path, *, allow_outside: bool, root: Path) -> dict[str, str]:
    """``include``: lay this file's parameters over those of the files it names; ``parameter_sets``:
    the path made absolute, so that it means the same file wherever the scenario is run from.
    Returns the provenance of the parameters that came from included files."""
    prov: dict[str, str] = {}
    sets = meta.get("parameter_sets")
    if isinstance(sets, str):
        target = _inside((path.parent / sets).resolve(), root, allow_outside, path, "scenario.parameter_sets", sets)
        if not target.is_file():
            raise InputError(path, "scenario.parameter_sets", sets, f"file not found ({target})")
        meta["parameter_sets"] = str(target)
    includes = meta.get("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        return prov  # the schema refuses it with the file and key
    included: dict = {}
    for i, name in enumerate(includes):
        target = _inside((path.parent / name).resolve(), root, allow_outside, path, f"scenario.include.{i}", name)
        try:
            with open(target, "rb") as fh:
                table = tomllib.load(fh)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
            raise InputError(path, f"scenario.include.{i}", name, f"cannot read the parameter file: {exc}") from None
        extra = set(table) - {"parameters"}
        if extra or not isinstance(table.get("parameters", {}), dict):
            raise InputError(target, sorted(extra)[0] if extra else "parameters", None,
                             "an included file holds only a [parameters] table", "parameters")
        params = _flatten_parameters(table.get("parameters", {}))
        included.update(params)
        prov.update({f"parameters.{k}": str(target) for k in params})
    if included:
        own = raw.get("parameters", {}) if isinstance(raw.get("parameters"), dict) else {}
        raw["parameters"] = {**included, **own}
        prov = {k: v for k, v in prov.items() if k.removeprefix("parameters.") not in own}
    meta.pop("include", None)  # what it brought is in the parameters now
    return prov


def _spread_budgets(base: dict, child: dict, merged: dict, table: str = "budgets") -> None:
    """A child's year table over a base's single amount: years the child does not list keep the
    base's amount (a single amount stands for every year of the run). The same for coverage
    targets (``table="coverage"``)."""
    base_b, child_b = base.get(table), child.get(table)
    if not (isinstance(base_b, dict) and isinstance(child_b, dict)):
        return
    years = _run_years(merged)
    if years is None:
        return
    for prog, amount in child_b.items():
        old = base_b.get(prog)
        if isinstance(amount, dict) and _is_number(old):
            merged[table][prog] = {**{str(y): old for y in years}, **amount}


def _run_years(raw: dict) -> range | None:
    meta = raw.get("scenario", {})
    start, end = (meta.get("start_year"), meta.get("end_year")) if isinstance(meta, dict) else (None, None)
    if not (isinstance(start, int) and isinstance(end, int)):
        return None  # the schema refuses it
    return range(start, end + 1)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _year_key(key: Any) -> int | None:
    """A year-table key as a year (TOML gives strings, Python changes may give ints)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isascii() and key.isdigit():
        return int(key)
    return None


def _first_coverage_year(value: Any, start: int) -> int | None:
    """The first year a coverage target governs: the run's first for one share, the first a table
    lists for a table; None without a usable target."""
    if _is_number(value):
        return start
    if isinstance(value, dict):
        years = [y for y in map(_year_key, value) if y is not None]
        return min(years) if years else None
    return None


def _settle_coverage(child: dict, merged: dict) -> None:
    """What ``child`` (a file, or a table of changes) says about a programme replaces what the
    files under it said, money or coverage: a coverage target it gives takes the years it governs
    out of the programme's budget below it, and a budget it gives for every year a coverage target
    below it governs drops that target. What ``child`` gives a programme itself is kept as it is,
    and so is a target below it that its budget covers only in part: ``_check_coverage`` then
    refuses the years they share."""
    years = _run_years(merged)
    child_cov = child.get("coverage") if isinstance(child.get("coverage"), dict) else {}
    child_bud = child.get("budgets") if isinstance(child.get("budgets"), dict) else {}
    cov, bud = merged.get("coverage"), merged.get("budgets")
    if years is None or not (child_cov or child_bud):
        return
    if isinstance(cov, dict):
        dropped = []
        for prog, amount in child_bud.items():
            first = _first_coverage_year(cov.get(prog), years.start)
            if prog in child_cov or first is None:
                continue
            if _is_number(amount):
                listed = set(years)
            else:
                listed = {_year_key(y) for y in amount} if isinstance(amount, dict) else set()
            if set(range(first, years.stop)) <= listed:
                dropped.append(prog)
        if dropped:
            merged["coverage"] = cov = {p: v for p, v in cov.items() if p not in dropped}
    if not (isinstance(cov, dict) and isinstance(bud, dict)):
        return
    bud = merged["budgets"] = dict(bud)  # never change the tables of the files below
    for prog in child_cov:
        own = child_bud.get(prog)
        first = _first_coverage_year(cov.get(prog), years.start)
        if prog not in bud or first is None or _is_number(own):
            continue
        own_years = {_year_key(y) for y in own} if isinstance(own, dict) else set()
        amount = bud[prog]
        table = {str(y): amount for y in years} if _is_number(amount) else amount
        if isinstance(table, dict):
            bud[prog] = {y: v for y, v in table.items() if (_year_key(y) or 0) < first or _year_key(y) in own_years}


def _run_coverage_programmes(raw: dict) -> dict:
    """A scenario runs the programmes its budgets name: a programme given only by coverage is
    named there with no amounts (0 yuan in every year), so that it runs."""
    cov, bud = raw.get("coverage"), raw.get("budgets", {})
    if not isinstance(cov, dict) or not isinstance(bud, dict):
        return raw
    missing = [p for p in cov if p in PROGRAMME_NAMES and p not in bud]
    return {**raw, "budgets": {**bud, **{p: {} for p in missing}}} if missing else raw


def _get(raw: dict, key: str):
    """The value at a dotted key path of a raw table (list items by index)."""
    node: Any = raw
    for part in key.split("."):
        if isinstance(node, list) and part.isdigit():
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def _flatten_parameters(table: dict, prefix: str = "") -> dict:
    """``shocks.illness_rate = 1`` written without quotes is a nested table in TOML; a table whose
    keys are years is a dated value and stays a table."""
    out = {}
    for k, v in table.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and v and "value" not in v and not all(str(y).isdigit() for y in v):
            out.update(_flatten_parameters(v, name + "."))
        else:
            out[name] = v
    return out


def _merge(base: dict, over: dict) -> dict:
    """Lay ``over`` on ``base``: tables merge key by key, everything else is replaced."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and k != "parameters":
            out[k] = _merge(out[k], v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _leaf_keys(d: dict, prefix: str = "") -> list[str]:
    keys = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        keys.append(key)
        if isinstance(v, dict):
            keys.extend(_leaf_keys(v, key + "."))
        elif isinstance(v, list):
            for i, item in enumerate(v):
                if isinstance(item, dict):
                    keys.extend(_leaf_keys(item, f"{key}.{i}."))
    return keys


def _with_int_keys(raw: dict) -> dict:
    """TOML keys are strings; year-keyed tables (budgets, reductions) need them as ints.

    A key that is not a year is left as it is, so that the schema refuses it by name.
    """
    def conv(d):
        if isinstance(d, dict):
            return {(int(k) if isinstance(k, str) and k.isascii() and k.isdigit() else k): conv(v)
                    for k, v in d.items()}
        if isinstance(d, list):
            return [conv(x) for x in d]
        return d

    out = dict(raw)
    for key in ("budgets", "coverage", "population"):
        if key in out:
            out[key] = conv(out[key])
    return out


def scale_budgets(budgets: Mapping[str, Any], factor: float | Mapping[str, float]) -> dict[str, Any]:
    """A ``[budgets]`` table with each programme's amount times its factor, in the table's own form."""
    out = {}
    for programme, amount in budgets.items():
        f = factor.get(programme) if isinstance(factor, Mapping) else factor
        if f is None:
            continue
        if isinstance(amount, Mapping):
            out[programme] = {str(year): float(value) * f for year, value in amount.items()}
        else:
            out[programme] = float(amount) * f
    return out


# ---- the dotted key space of overrides ------------------------------------------------------------

SCENARIO_OVERRIDABLE = ("title", "description", "start_year", "end_year", "seed", "population_scale",
                        "poverty_line", "targeting", "region", "exit_deadline")


def override_keys(params: ParameterSet) -> list[str]:
    return ([f"budgets.{p}" for p in PROGRAMME_NAMES] + [f"coverage.{p}" for p in PROGRAMME_NAMES]
            + [f"scenario.{k}" for k in SCENARIO_OVERRIDABLE] + [p.name for p in params])


def _plain(value: Any) -> Any:
    """NumPy scalars (from a sampler or an optimiser) as the Python numbers the schema expects."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def overrides_to_changes(overrides: Mapping[str, Any], params: ParameterSet, origin: str = OVERRIDES) -> dict:
    """Dotted-key overrides as a table of changes in the shape of a scenario file."""
    # budgets and coverage targets: (one value per programme, values by year per programme)
    tables: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {"budgets": ({}, {}), "coverage": ({}, {})}
    meta: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for key, value in overrides.items():
        value = _plain(value)
        if not isinstance(key, str) or not key:
            raise InputError(origin, str(key), value, "an override key must be a dotted name",
                             "budgets.<programme>, scenario.<setting> or a parameter name")
        head, _, rest = key.partition(".")
        if head in tables:
            whole, by_year = tables[head]
            programme, _, year = rest.partition(".")
            if programme not in PROGRAMME_NAMES:
                raise InputError(origin, key, value, "unknown programme" + _suggestion(programme, list(PROGRAMME_NAMES)),
                                 ", ".join(PROGRAMME_NAMES))
            if year:
                if not (year.isascii() and year.isdigit()):
                    what = "budget" if head == "budgets" else "coverage"
                    raise InputError(origin, key, value, f"a {what} year must be a year", f"{head}.{programme}.2016")
                by_year.setdefault(programme, {})[year] = value
            else:
                whole[programme] = value
        elif head == "scenario":
            if rest not in SCENARIO_OVERRIDABLE:
                raise InputError(origin, key, value, "not a setting an override can change"
                                 + _suggestion(rest, list(SCENARIO_OVERRIDABLE)), ", ".join(SCENARIO_OVERRIDABLE))
            meta[rest] = value
        elif head == "parameters" and rest in params:
            parameters[rest] = value
        elif key in params:
            parameters[key] = value
        else:
            raise InputError(origin, key, value, "unknown key" + _suggestion(key, override_keys(params)),
                             "budgets.<programme>[.<year>], coverage.<programme>[.<year>], scenario.<setting>, "
                             "or a name from `tuopin params`")
    changes: dict[str, Any] = {}
    for head, (whole_table, by_year) in tables.items():
        for programme, table in by_year.items():
            whole = whole_table.get(programme)
            if isinstance(whole, Mapping):
                whole_table[programme] = {**{str(y): v for y, v in whole.items()}, **table}
            elif whole is not None:
                what = "one amount for every year or amounts" if head == "budgets" else "one share for every year or shares"
                raise InputError(origin, f"{head}.{programme}", whole, f"give either {what} by year, not both")
            else:
                whole_table[programme] = table
        if whole_table:
            changes[head] = whole_table
    if meta:
        changes["scenario"] = meta
    if parameters:
        changes["parameters"] = parameters
    return changes
