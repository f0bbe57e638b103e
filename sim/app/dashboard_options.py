"""The dashboard's controls as a budget option over a scenario: the values they start from, the
dotted overrides they make, their check, and the overlay scenario file that reproduces them.

Pure functions of a ``LoadedScenario`` and control values (no interface, no runs). The option is
what a planner changes — each programme's yearly budget, targeting, the years support continues
after exit, monitoring in the transition period — and the run settings say how it is run: the
sample (``population_scale``), the replicates and the root seed. Both the option and the unchanged
scenario it is compared with run at the same sample and seed (common random numbers).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

from ..inputs.arguments import check_replicates, check_seed
from ..inputs.errors import InputError
from ..inputs.scenario import MAX_NAME_LENGTH, LoadedScenario, Meta, load_scenario

BASELINE, OPTION = "scenario", "option"   # the names of the unchanged scenario and the option in a comparison
ORIGIN = "dashboard"   # the origin an InputError names for a value set in the dashboard
MILLION = 1e6          # budget sliders are in million yuan a year
SUPPORT = "programme.{}.continue_after_exit_years"
MONITORING = "transition.monitoring"
TRANSITION_FROM = "register.transition_from"
TARGETINGS = get_args(Meta.model_fields["targeting"].annotation)
BUDGET_STEP = 0.01     # million yuan: a budget slider's step
# A slider shows values on its steps only (an average of 54.333 shows as 54.33, and 3.46 may come
# back as 3.4600000000000004): within half a step of the scenario's value is the scenario's.
SAME_MILLION = BUDGET_STEP / 2


@dataclass(frozen=True)
class Controls:
    """What the controls show: the option and the run settings."""

    budgets: tuple[tuple[str, float], ...]  # (programme, million yuan a year); a year table: its average
    targeting: str
    support_years: float   # years every programme's support continues after exit
    monitoring: bool       # dynamic monitoring in the transition period (2021–2025)
    sample: float          # population_scale: the share of households simulated
    replicates: int
    seed: int              # root seed of the replicates (common to the option and the scenario)

    def budget(self, programme: str) -> float:
        return dict(self.budgets)[programme]

    def with_budget(self, programme: str, million: float) -> "Controls":
        return replace(self, budgets=tuple((p, float(million) if p == programme else v) for p, v in self.budgets))

    def key(self) -> str:
        """The controls as a string: equal controls, equal key (for caches and effects)."""
        return json.dumps([list(map(list, self.budgets)), self.targeting, self.support_years, self.monitoring,
                           self.sample, self.replicates, self.seed])


@dataclass(frozen=True)
class Start:
    """A scenario as the dashboard starts from it: its values on the controls' scales, and the
    sliders' ranges. ``sample``, ``replicates`` and ``seed`` are the dashboard's first run settings
    (the seed defaults to the scenario's)."""

    scenario: LoadedScenario
    path: Path
    controls: Controls
    tables: frozenset[str]                  # programmes whose budget is a table of years
    support_by_programme: dict[str, float]  # as the scenario has it
    reaches_transition: bool                # the run reaches the transition period (monitoring matters)
    budget_max: dict[str, float] = field(default_factory=dict)  # slider ends, million yuan

    @property
    def programmes(self) -> list[str]:
        return [p for p, _ in self.controls.budgets]

    @property
    def support_differs(self) -> bool:
        return len(set(self.support_by_programme.values())) > 1

    def budget_years(self, programme: str) -> dict[int, float]:
        """The scenario's budget for ``programme`` in each year of the run (yuan)."""
        spec = self.scenario.spec
        return {y: spec.budget(programme, y) for y in spec.years}


def start(path: str | Path, *, sample: float | None = None, replicates: int = 4, seed: int | None = None,
          scenario: LoadedScenario | None = None) -> Start:
    """The dashboard's starting point for the scenario file ``path`` (checked: InputError)."""
    path = Path(path)
    loaded = scenario if scenario is not None else load_scenario(path)
    spec, params = loaded.spec, loaded.params
    budgets, tables, top = [], set(), {}
    for programme, amount in spec.budgets.items():
        years = [spec.budget(programme, y) for y in spec.years]
        average = sum(years) / len(years) / MILLION
        if isinstance(amount, dict):
            tables.add(programme)
        budgets.append((programme, average))
        # Three times the scenario's (at least 10 M): room for "what if it doubled".
        top[programme] = float(max(10.0, math.ceil(3 * max(years) / MILLION)))
    support = {p: float(params.value(SUPPORT.format(p))) for p in spec.budgets}
    common = max(support.values()) if support else 0.0
    controls = Controls(
        budgets=tuple(budgets), targeting=spec.scenario.targeting, support_years=common,
        monitoring=bool(params.value(MONITORING)),
        sample=float(spec.scenario.population_scale if sample is None else sample),
        replicates=int(replicates), seed=int(spec.scenario.seed if seed is None else seed))
    reaches = spec.scenario.end_year >= int(params.value(TRANSITION_FROM))
    return Start(loaded, path, controls, frozenset(tables), support, reaches, top)


def option_overrides(st: Start, c: Controls) -> dict[str, Any]:
    """The dotted overrides of the option: only what differs from the scenario."""
    out: dict[str, Any] = {}
    for programme, million in c.budgets:
        before = st.controls.budget(programme)
        if abs(million - before) < SAME_MILLION:
            continue
        if programme in st.tables:
            years = st.budget_years(programme)
            # The whole table scaled by one factor, so that its years keep their shape.
            factor = million / before if before > 0 else None
            out[f"budgets.{programme}"] = {str(y): (v * factor if factor is not None else million * MILLION)
                                           for y, v in years.items()}
        else:
            out[f"budgets.{programme}"] = million * MILLION
    if c.targeting != st.controls.targeting:
        out["scenario.targeting"] = c.targeting
    if c.support_years != st.controls.support_years:
        for programme in st.programmes:
            out[SUPPORT.format(programme)] = _whole(c.support_years)
    if c.monitoring != st.controls.monitoring:
        out[MONITORING] = bool(c.monitoring)
    return out


def run_overrides(st: Start, c: Controls) -> dict[str, Any]:
    """The sample, where it differs from the scenario's: both the option and the scenario run at it."""
    if c.sample != st.scenario.spec.scenario.population_scale:
        return {"scenario.population_scale": float(c.sample)}
    return {}


@dataclass(frozen=True)
class Checked:
    """Controls that passed every check, as the two scenarios to run."""

    controls: Controls
    option: LoadedScenario     # the scenario with the option, at the sample
    baseline: LoadedScenario   # the unchanged scenario, at the sample
    overrides: dict[str, Any]  # the option's own overrides (not the sample)

    @property
    def changed(self) -> bool:
        return bool(self.overrides)


def check(st: Start, c: Controls) -> Checked:
    """The controls checked as a scenario file's values are: InputError names the key and value."""
    check_seed(c.seed, ORIGIN, "seed")
    check_replicates(c.replicates, ORIGIN, "replicates")
    if c.targeting not in TARGETINGS:
        raise InputError(ORIGIN, "scenario.targeting", c.targeting, "unknown targeting", ", ".join(TARGETINGS))
    sample = run_overrides(st, c)
    baseline = st.scenario.with_overrides(sample, origin=ORIGIN)
    own = option_overrides(st, c)
    option = baseline.with_overrides(own, origin=ORIGIN) if own else baseline
    return Checked(c, option, baseline, own)


def describe(st: Start, c: Controls) -> list[str]:
    """The option's changes in words, one line each (empty: the scenario unchanged)."""
    lines = []
    for programme, million in c.budgets:
        before = st.controls.budget(programme)
        if abs(million - before) >= SAME_MILLION:
            change = f"{(million / before - 1):+.0%}" if before > 0 else "new"
            table = " (every year scaled)" if programme in st.tables else ""
            lines.append(f"{programme} {million:,.2f} M yuan/year, was {before:,.2f} ({change}){table}")
    if c.targeting != st.controls.targeting:
        lines.append(f"targeting {c.targeting}, was {st.controls.targeting}")
    if c.support_years != st.controls.support_years:
        lines.append(f"support after exit {_whole(c.support_years)} years for every programme")
    if c.monitoring != st.controls.monitoring:
        lines.append("monitoring " + ("on" if c.monitoring else "off") + " in the transition period")
    return lines


# ---- the option as a scenario file ------------------------------------------------------------

def option_id(st: Start, c: Controls) -> str:
    """A short id of the option and the run settings it was seen with: same option, same file."""
    what = {"overrides": option_overrides(st, c), "sample": c.sample, "seed": c.seed}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:8]


def overlay_text(st: Start, c: Controls, extends: str, filename: str = "<this file>") -> str:
    """The option as a scenario file laid over the scenario (``extends``): the changed budgets,
    parameters and scenario settings, and the sample and seed the dashboard ran it with, so that
    ``tuopin run`` of the file reproduces the dashboard's numbers."""
    check(st, c)  # never write a file that would be refused
    meta = st.scenario.spec.scenario
    oid = option_id(st, c)
    name = f"{meta.name[:MAX_NAME_LENGTH - 16]}-option-{oid}"
    changes = describe(st, c) or ["no change: the scenario as it is"]
    own = option_overrides(st, c)
    scenario_keys: dict[str, Any] = {"extends": extends, "name": name,
                                     "title": f"{meta.title or meta.name}: dashboard option {oid}"}
    if "scenario.targeting" in own:
        scenario_keys["targeting"] = own["scenario.targeting"]
    if c.sample != meta.population_scale:
        scenario_keys["population_scale"] = float(c.sample)
    if c.seed != meta.seed:
        scenario_keys["seed"] = int(c.seed)
    budgets = {k.removeprefix("budgets."): v for k, v in own.items() if k.startswith("budgets.")}
    parameters = {k: v for k, v in own.items() if not k.startswith(("budgets.", "scenario."))}
    lines = [f"# A budget option from the tuopin dashboard over {extends}:",
             *(f"#   {line}" for line in changes),
             f"# The dashboard ran it with {c.replicates} replicate(s) from root seed {c.seed}"
             f" at a sample of {c.sample:g}. Reproduce its numbers with",
             f"#   tuopin run {filename} --replicates {c.replicates}",
             "# and compare with the unchanged scenario at the same sample and seed (common random numbers).",
             "", "[scenario]"]
    lines += [f"{k} = {_toml(v)}" for k, v in scenario_keys.items()]
    if budgets:
        lines += ["", "# yuan per year", "[budgets]"] + [f"{k} = {_toml(v)}" for k, v in budgets.items()]
    if parameters:
        lines += ["", "[parameters]"] + [f"{json.dumps(k)} = {_toml(v)}" for k, v in parameters.items()]
    return "\n".join(lines) + "\n"


def write_overlay(st: Start, c: Controls, folder: Path | None = None) -> Path:
    """Write the option as ``<scenario file>-option-<id>.toml`` beside the scenario file (or in
    ``folder``, which must hold the scenario file or a folder above it, so that ``extends``
    reaches it) and check that it loads. Returns the file written."""
    base = st.path.resolve()
    folder = (Path(folder) if folder is not None else base.parent).resolve()
    if not base.is_relative_to(folder):
        raise InputError(ORIGIN, "save folder", str(folder),
                         f"the option's file extends {base.name}: save it beside it or in a folder above it")
    extends = base.relative_to(folder).as_posix()
    path = folder / f"{base.stem}-option-{option_id(st, c)}.toml"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(overlay_text(st, c, extends, path.name), encoding="utf-8")
    tmp.replace(path)
    load_scenario(path)  # as ``tuopin validate`` would
    return path


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def _toml(value: Any) -> str:
    """A TOML value: strings as basic strings, floats in Python's shortest exact form (they read
    back as the same float), year tables inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value}")
        text = repr(value)
        return text if any(ch in text for ch in ".e") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")
