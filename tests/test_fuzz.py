"""Inputs are data, and hostile data is refused cleanly.

(1) The loader under fuzzing: the shipped scenario parsed, mutated at random (keys deleted or
    misspelt, values of another type, negative, out-of-range years, huge numbers, NaN, empty
    strings, nested junk, unknown keys), written back as TOML, and loaded; and random bytes,
    truncated and spliced text. The outcome is always a sound LoadedScenario or an InputError
    whose message names the file: never another exception.
(2) The model under random valid scenarios (sample size, budgets, targeting, line, region, and a
    few parameters drawn within their bounds): spending within budget, the register's stock-flow
    identity per county and year, and every exited household at or above the line.
(3) Nothing in a scenario is evaluated, and ``extends`` stays in the scenario's folder tree unless
    allowed.
(4) A run's manifest under fuzzing (``tuopin reproduce`` reads it as input): mutated as scenarios
    are, it is read whole or refused with an InputError naming it, never another exception.
(5) Resume under fuzzing: the files of finished replicates truncated, bit-flipped, spliced or
    replaced by random bytes; a rerun runs again exactly the replicates whose files changed and
    gives the tables of an undamaged run, byte for byte.

Every input tried is counted in the session's ``fuzzed_inputs``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import re
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from helpers import (SANMING, SANMING_PROGRAMMES, budgets, copy_sanming, found_but_not_returned, run_with_checks,
                     with_calibrated, write)
from sim.app.cli import app
from sim.inputs.errors import InputError
from sim.model import TuopinModel
from sim.inputs.params import ParameterSet
from sim.app.reproduce import load_manifest
from sim.app.runs import read_seed_file
from sim.inputs.scenario import MAX_BUDGET, MAX_NAME_LENGTH, MAX_PERSONS, LoadedScenario, load_scenario
from sim.core.state import Status

runner = CliRunner()
TEXT = SANMING.read_text(encoding="utf-8")
BASE = tomllib.loads(TEXT)


def fuzz(examples: int) -> settings:
    """Loader fuzzing: many cheap examples (a load takes milliseconds)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


# --- a small TOML writer -------------------------------------------------------------------------

class Raw(str):
    """TOML text written as it is (e.g. nesting deeper than any parser allows)."""


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(k) -> str:
    k = str(k)
    return k if _BARE.match(k) else toml_string(k)


def toml_value(v) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_dumps(doc: dict) -> str:
    """Top-level scalars first, then one ``[table]`` per top-level table (inline tables below)."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines.append(f"\n[{toml_key(k)}]")
            lines += [f"{toml_key(kk)} = {toml_value(vv)}" for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


def test_the_toml_writer_round_trips_the_shipped_scenario(tmp_path):
    assert tomllib.loads(toml_dumps(BASE)) == BASE
    path = with_calibrated(tmp_path) / "same.toml"
    path.write_text(toml_dumps(BASE), encoding="utf-8")
    assert load_scenario(path).spec == load_scenario(SANMING).spec


# --- mutations ----------------------------------------------------------------------------------

TRICKY_KEYS = ["", " ", "²", "³", "٣", "２０１５", "2015", "1999", "-1", "0", "1e3", "__class__", "extends",
               "name", "scenario.name", "population.counties", "ÿ", "\u200b", "a\nb", 'q"uote']
TRICKY_VALUES = [0, -1, 1, 10**18, 2**63, -(2**63), 10**40, 10**400, 1e-300, 1e308, -1e308, 5e-324, float("inf"), float("-inf"),
                 float("nan"), -0.0, "", " ", "nan", "1e6", "2015", True, False, [], {}, [[]], {"": {}},
                 dt.date(2015, 1, 1), dt.datetime(2015, 1, 1, 12, 0), dt.time(12, 0)]
YEARS_OUT = [0, -1, 1, 999, 1900, 1999, 2101, 3000, 9999, 2**31, -(2**31)]

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
scalar = (st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | text | st.dates()
          | st.datetimes(min_value=dt.datetime(1, 1, 1, 0, 0, 0)) | st.times() | st.sampled_from(TRICKY_VALUES))
# Copies: a drawn list or table may be mutated later, and the strategies' own values must not be.
junk = st.recursive(scalar, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(text | st.sampled_from(TRICKY_KEYS), inner, max_size=3),
                    max_leaves=8).map(copy.deepcopy)
key = text | st.sampled_from(TRICKY_KEYS)


def _paths(node, prefix=()) -> list[tuple]:
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for k, v in items:
        out.append(prefix + (k,))
        out += _paths(v, prefix + (k,))
    return out


def _typo(data, k: str) -> str:
    how = data.draw(st.sampled_from(["drop", "double", "swap", "case", "plural", "other", "tricky"]))
    if k and how == "drop":
        i = data.draw(st.integers(0, len(k) - 1))
        return k[:i] + k[i + 1:]
    if k and how == "double":
        i = data.draw(st.integers(0, len(k) - 1))
        return k[:i] + k[i] + k[i:]
    if len(k) > 1 and how == "swap":
        i = data.draw(st.integers(0, len(k) - 2))
        return k[:i] + k[i + 1] + k[i] + k[i + 2:]
    if how == "case":
        return k.swapcase() if k.swapcase() != k else k + "X"
    if how == "plural":
        return k + "s"
    if how == "other":
        return data.draw(text)
    return data.draw(st.sampled_from(TRICKY_KEYS))


def _other_type(value):
    return scalar.filter(lambda v: type(v) is not type(value)).map(copy.deepcopy)


def mutate(data, doc: dict) -> str:
    """Apply one random mutation to ``doc`` in place; return a description of it."""
    paths = _paths(doc)
    if not paths:
        doc[data.draw(key)] = data.draw(junk)
        return "add at top"
    shallow = [p for p in paths if len(p) <= 2]
    pool = shallow if shallow and data.draw(st.booleans()) else paths
    path = data.draw(st.sampled_from(pool))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    k = path[-1]
    value = parent[k]
    kind = data.draw(st.sampled_from(["delete", "rename", "retype", "negate", "year", "huge", "empty", "junk",
                                      "add", "deep"]))
    if kind == "delete":
        del parent[k]
    elif kind == "rename" and isinstance(parent, dict):
        new = _typo(data, str(k))
        parent[new] = parent.pop(k)
        return f"rename {path} -> {new!r}"
    elif kind == "negate" and isinstance(value, (int, float)) and not isinstance(value, bool):
        parent[k] = -value if value else -1
    elif kind == "year":
        parent[k] = data.draw(st.sampled_from(YEARS_OUT) | st.integers(-(10**6), 10**6))
    elif kind == "huge":
        parent[k] = data.draw(st.sampled_from([10**18, 2**63, 10**40, 10**400, 1e-300, 1e308, float("inf"),
                                               float("-inf"), float("nan"), -(10**18)]))
    elif kind == "empty":
        parent[k] = copy.deepcopy(data.draw(st.sampled_from(["", [], {}])))
    elif kind == "junk":
        parent[k] = data.draw(junk)
    elif kind == "add" and isinstance(value, dict):
        value[data.draw(key)] = data.draw(junk)
    elif kind == "deep":
        n = data.draw(st.sampled_from([2, 50, 5000]))
        parent[k] = Raw("[" * n + "]" * n)
    else:
        parent[k] = data.draw(_other_type(value))
    return f"{kind} {path}"


# --- what a load may give -------------------------------------------------------------------------

def check_load(path, counters) -> LoadedScenario | None:
    """Load ``path``: a sound scenario, or an InputError naming the file. Anything else fails."""
    counters["fuzzed_inputs"] += 1
    try:
        loaded = load_scenario(path)
    except InputError as exc:
        assert exc.file == str(path), str(exc)
        assert str(exc).startswith(f"{path}: "), str(exc)
        assert "\n" not in exc.problem
        return None
    assert isinstance(loaded, LoadedScenario)
    assert_sound(loaded)
    return loaded


def assert_sound(loaded: LoadedScenario) -> None:
    """What a loaded scenario promises the model: every number finite and within the stated
    limits, what several keys imply together too, and a name that is a safe folder name."""
    spec = loaded.spec
    meta = spec.scenario
    assert 2000 <= meta.start_year <= meta.end_year <= 2100
    assert spec.population.base_year == meta.start_year - 1
    assert 0 < meta.population_scale <= 1
    assert not meta.name.startswith(".") and "/" not in meta.name and len(meta.name) <= MAX_NAME_LENGTH
    for prog in SANMING_PROGRAMMES:
        for year in spec.years:
            amount = spec.budget(prog, year)
            assert math.isfinite(amount) and 0 <= amount <= MAX_BUDGET, f"budgets.{prog} in {year} = {amount!r}"
    pop = spec.population
    for name, g in pop.categories.items():
        assert 0 <= g.households <= MAX_PERSONS and 0 <= g.persons <= MAX_PERSONS, f"categories.{name} = {g}"
    assert all(math.isfinite(v) for v in pop.causes.values()), f"causes = {pop.causes}"
    assert math.isfinite(pop.relocation_area_share)
    incidence = loaded.params.value("population.initial_incidence")
    for c in pop.counties:
        rural = c.rural_population or c.poor_persons / (c.incidence or incidence)
        assert rural <= MAX_PERSONS, f"county {c.name}: rural population {rural}"
        assert sum(c.reductions.values()) <= c.poor_persons, f"county {c.name}: reductions {c.reductions}"
    if spec.budget_shares is not None:
        shares = list(spec.budget_shares.values())
        assert all(math.isfinite(s) and s >= 0 for s in shares), f"budget_shares = {spec.budget_shares}"
        assert abs(sum(shares) - 1) <= 1e-6, f"budget_shares = {spec.budget_shares}"
    for c in spec.population.counties:
        assert c.poor_persons > 0
    for p in loaded.params:
        for v in (p.values.values() if p.dated else [p.value]):
            if isinstance(v, float):
                assert math.isfinite(v), p.name


# --- (1) the loader under fuzzing -----------------------------------------------------------------

@fuzz(120)
@given(data=st.data())
def test_mutated_scenario_loads_or_is_refused_naming_the_file(tmp_path_factory, counters, data):
    doc = copy.deepcopy(BASE)
    done = [mutate(data, doc) for _ in range(data.draw(st.integers(1, 3)))]
    note(done)
    folder = with_calibrated(tmp_path_factory.mktemp("fuzz"))
    path = folder / "fuzzed.toml"
    body = toml_dumps(doc)
    path.write_text(body, encoding="utf-8")
    note(body[:3000])
    check_load(path, counters)


def _splice(data) -> bytes:
    raw = TEXT.encode()
    how = data.draw(st.sampled_from(["bytes", "truncate", "splice", "flip"]))
    if how == "bytes":
        return data.draw(st.binary(max_size=2000))
    if how == "truncate":
        return raw[:data.draw(st.integers(0, len(raw) - 1))]
    if how == "splice":
        i = data.draw(st.integers(0, len(raw)))
        j = data.draw(st.integers(i, min(len(raw), i + 200)))
        return raw[:i] + data.draw(st.binary(max_size=40) | text.map(str.encode)) + raw[j:]
    i = data.draw(st.integers(0, len(raw) - 1))
    return raw[:i] + bytes([raw[i] ^ (1 << data.draw(st.integers(0, 7)))]) + raw[i + 1:]


@fuzz(80)
@given(data=st.data())
def test_random_bytes_or_damaged_text_is_refused_naming_the_file(tmp_path_factory, counters, data):
    body = _splice(data)
    note(body[:500])
    path = with_calibrated(tmp_path_factory.mktemp("fuzz")) / "damaged.toml"
    path.write_bytes(body)
    check_load(path, counters)
    if len(body) < 200 and b"[scenario]" not in body:
        with pytest.raises(InputError):  # too short to hold a scenario: never accepted
            load_scenario(path)


# Cases the fuzzers found, kept as plain tests.
FOUND = {
    # _with_int_keys turns every key with str.isdigit() into int(key): "²" is a digit, not a number.
    "superscript year key in a budget": ('[budgets]\nindustry = { "²" = 5 }\n', "budgets.industry"),
    "superscript year key in reductions": (
        '[[population.counties]]\nname = "A"\npoor_persons = 10\nreductions = { "³" = 1 }\n', "population.counties"),
    # tomllib recurses once per nesting level: a deep array ends in RecursionError.
    "nesting deeper than the parser": ("[budgets]\nindustry = " + "[" * 3000 + "]" * 3000 + "\n", ""),
    # Budgets are yuan per year: NaN and infinity are not amounts (every parameter must be finite).
    "NaN budget": ("[budgets]\nindustry = nan\n", "budgets.industry"),
    "infinite budget": ("[budgets]\nwelfare = inf\n", "budgets.welfare"),
    "NaN budget in a year": ("[budgets]\nindustry = { 2016 = nan }\n", "budgets.industry.2016"),
    # A NaN share makes the sum NaN, which passes `abs(total - 1) > 1e-6`; every county then gets nothing.
    "NaN budget share": ("[budget_shares]\nMeilie = nan\nSha = 1.0\n", "budget_shares"),
}


@pytest.mark.parametrize("case", list(FOUND))
def test_found_by_fuzzing_is_an_input_error_naming_the_file(case, tmp_path, counters):
    body, key = FOUND[case]
    copy_sanming(tmp_path)
    path = write(tmp_path, "found.toml", '[scenario]\nextends = "sanming.toml"\nname = "found"\n' + body)
    counters["fuzzed_inputs"] += 1
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert exc.value.file == str(path) and key in exc.value.key, str(exc.value)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}: "), result.output


@pytest.mark.parametrize("what", ["seeds.toml", "manifest.json"])
def test_deeply_nested_seed_file_or_manifest_is_an_input_error(what, tmp_path, counters):
    path = tmp_path / what
    if what == "seeds.toml":
        path.write_text("root_seed = " + "[" * 3000 + "]" * 3000 + "\n")
        load = read_seed_file
    else:
        path.write_text("[" * 100_000 + "]" * 100_000)
        load = load_manifest
    counters["fuzzed_inputs"] += 1
    with pytest.raises(InputError) as exc:
        load(path)
    assert exc.value.file == str(path)


# --- (2) the model under random valid scenarios ----------------------------------------------------

NUMERIC = [p for p in ParameterSet.defaults()
           if not p.dated and p.choices is None and p.bounds is not None
           and isinstance(p.value, (int, float)) and not isinstance(p.value, bool)]


@st.composite
def valid_scenarios(draw):
    overrides = {}
    for p in draw(st.lists(st.sampled_from(NUMERIC), max_size=4, unique_by=lambda p: p.name)):
        lo, hi = p.bounds
        if isinstance(p.value, int):
            overrides[p.name] = draw(st.integers(math.ceil(lo), math.floor(hi)))
        else:
            overrides[p.name] = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    return {
        "seed": draw(st.integers(0, 2**40)),
        "scale": draw(st.floats(0.01, 0.05)),
        "budgets": {prog: draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]) | st.floats(0, 4)) for prog in SANMING_PROGRAMMES},
        "meta": {"targeting": draw(st.sampled_from(["precision", "untargeted"])),
                 "poverty_line": draw(st.sampled_from(["national", "provincial"])),
                 "region": draw(st.sampled_from(["eastern", "western"]))},
        "parameters": overrides,
    }


def _close(a, b) -> bool:
    return np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=1e-9, atol=1e-6)


@settings(deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(cfg=valid_scenarios())
def test_random_valid_scenarios_keep_the_invariants(sanming, counters, cfg):
    counters["fuzzed_inputs"] += 1
    loaded = budgets(sanming, cfg["budgets"]).with_changes({
        "scenario": {"population_scale": cfg["scale"], **cfg["meta"]}, "parameters": cfg["parameters"]})
    model = TuopinModel(loaded, seed=cfg["seed"])
    below = []

    def check(m, year):
        bad = found_but_not_returned(m, year)
        if bad.size:
            below.append((year, m.line(year), m.hh.last_income_pc[bad[:5]].tolist()))

    run_with_checks(model, check)
    assert not below, f"found below the line but still exited (year, line, incomes): {below}"
    results = model.results
    sp = results.spending
    over = sp[sp.spent > sp.budget * (1 + 1e-9) + 1e-2 / cfg["scale"]]
    assert over.empty, f"spending above the budget:\n{over}"
    assert (sp.spent >= 0).all()
    y = results.yearly
    for unit in ("households", "persons"):
        flow = y[f"poor_{unit}_start"] + y[f"entries_{unit}"] - y[f"exits_{unit}"] + y[f"returns_{unit}"]
        assert _close(flow, y[f"poor_{unit}_end"]), unit
        for _, c in y.groupby("county"):
            c = c.sort_values("year")
            assert _close(c[f"poor_{unit}_end"].values[:-1], c[f"poor_{unit}_start"].values[1:]), unit
    for _, c in y.groupby("county"):
        c = c.sort_values("year")
        assert _close(c.exited_households_start.values[1:],
                      (c.exited_households_start + c.exits_households - c.returns_households).values[:-1])


# --- (3) inputs are data ----------------------------------------------------------------------------

PAYLOAD = "__import__('os').system('touch {marker}')"

# Where the payload goes: a [scenario] key, or a table appended to the file; and the key the
# refusal must name, or None where the payload is free text and is kept as text.
PLACES = {
    "budget": ("[budgets]\nindustry = {v}\n", "budgets.industry"),
    "budget year": ("[budgets]\nindustry = {{ {v} = 5 }}\n", "budgets.industry"),
    "population scale": ("population_scale", "scenario.population_scale"),
    "seed": ("seed", "scenario.seed"),
    "poverty line": ("poverty_line", "scenario.poverty_line"),
    "targeting": ("targeting", "scenario.targeting"),
    "extends": ("extends", "scenario.extends"),
    "parameter value": ('[parameters]\n"shocks.illness_rate" = {v}\n', "parameters.shocks.illness_rate"),
    "parameter name": ("[parameters]\n{v} = 1\n", "parameters.__import__"),
    "county poor persons": ('[[population.counties]]\nname = "A"\npoor_persons = {v}\n',
                            "population.counties.0.poor_persons"),
    "category": ("[population.categories]\n{v} = {{ households = 1, persons = 2 }}\n", "population.categories"),
    "title": ("title", None),
    "description": ("description", None),
    "county name": ("[[population.counties]]\nname = {v}\nname_zh = {v}\npoor_persons = 5000\n", None),
}


@pytest.mark.parametrize("place", list(PLACES))
def test_nothing_in_a_scenario_is_evaluated(place, tmp_path, counters):
    marker = tmp_path / "PWNED"
    payload = PAYLOAD.format(marker=marker)
    where, refused_at = PLACES[place]
    copy_sanming(tmp_path)
    meta = {"extends": '"sanming.toml"', "name": '"payload"', "population_scale": "0.02"}
    tables = ""
    if where.startswith("["):
        tables = where.format(v=toml_string(payload))
    else:
        meta[where] = toml_string(payload)
    body = "[scenario]\n" + "".join(f"{k} = {v}\n" for k, v in meta.items()) + tables
    path = write(tmp_path, "payload.toml", body)
    counters["fuzzed_inputs"] += 1
    if refused_at:
        with pytest.raises(InputError) as exc:
            load_scenario(path)
        assert exc.value.file == str(path), str(exc.value)
        assert exc.value.key.startswith(refused_at), str(exc.value)
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 2 and result.stderr.startswith(f"error: {path}: "), result.output
    else:
        loaded = load_scenario(path)
        spec = loaded.spec
        kept = {"title": spec.scenario.title, "description": spec.scenario.description,
                "county name": spec.population.counties[-1].name}[place]
        assert kept == payload  # kept verbatim, as text
        model = TuopinModel(loaded, seed=1).run()
        if place == "county name":
            assert payload in set(model.results.yearly.county)
    assert not marker.exists()


def test_extends_to_an_absolute_path_outside_is_refused_unless_allowed(tmp_path, counters):
    outside = copy_sanming(tmp_path / "elsewhere")
    tree = tmp_path / "tree"
    path = write(tree, "child.toml", f'[scenario]\nextends = {toml_string(str(outside))}\nname = "child"\n'
                 "population_scale = 0.02\n")
    counters["fuzzed_inputs"] += 1
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert exc.value.file == str(path) and exc.value.key == "scenario.extends" and "outside" in str(exc.value)
    assert load_scenario(path, allow_outside=True).files == [outside.resolve(), path]
    # The same from the command line: refused before anything is written, then allowed.
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1"])
    assert result.exit_code == 2 and "scenario.extends" in result.stderr and not out.exists(), result.output
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1",
                                 "--allow-outside"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "manifest.json").read_text())["scenario_name"] == "child"


def test_extends_to_a_system_file_is_refused_without_reading_it(tmp_path, counters):
    path = write(tmp_path, "child.toml", '[scenario]\nextends = "/etc/passwd"\nname = "child"\n')
    counters["fuzzed_inputs"] += 1
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    assert "outside" in str(exc.value) and "root:" not in str(exc.value)


# --- (4) a manifest under fuzzing ---------------------------------------------------------------------

@fuzz(40)
@given(data=st.data())
def test_mutated_manifest_is_read_or_refused_naming_it(finished, tmp_path_factory, counters, data):
    from sim.app.reproduce import load_manifest, scenario_from_manifest

    out, _ = finished
    doc = json.loads((out / "manifest.json").read_text())
    done = [mutate(data, doc) for _ in range(data.draw(st.integers(1, 3)))]
    note(done)
    path = tmp_path_factory.mktemp("manifest") / "manifest.json"
    path.write_text(json.dumps(doc, default=str))
    counters["fuzzed_inputs"] += 1
    try:
        manifest = load_manifest(path)
        scenario, *_ = scenario_from_manifest(manifest, path)
    except InputError as exc:
        assert exc.file == str(path) and str(exc).startswith(f"{path}: "), str(exc)
        return
    assert_sound(scenario)
    assert 0 <= manifest["root_seed"] < 2**63 and 1 <= manifest["replicates"] <= 100_000


# --- (5) resume under fuzzing ------------------------------------------------------------------------

RESUME_SEED, RESUME_REPLICATES = 31, 3


@pytest.fixture(scope="module")
def finished(tiny, tmp_path_factory):
    """A finished run's folder and its final tables' bytes."""
    from sim.execution.ensemble import TABLES, run_ensemble

    out = tmp_path_factory.mktemp("finished") / "out"
    run_ensemble(tiny, seed=RESUME_SEED, replicates=RESUME_REPLICATES, workers=1, out=out, progress=False)
    return out, {f"{t}.{ext}": (out / f"{t}.{ext}").read_bytes() for t in TABLES for ext in ("csv", "parquet")}


def _damaged(data, original: bytes) -> bytes:
    how = data.draw(st.sampled_from(["truncate", "flip", "random", "splice", "append"]))
    if how == "truncate":
        return original[:data.draw(st.integers(0, len(original) - 1))]
    if how == "flip":
        i = data.draw(st.integers(0, len(original) - 1))
        return original[:i] + bytes([original[i] ^ (1 << data.draw(st.integers(0, 7)))]) + original[i + 1:]
    if how == "random":
        return data.draw(st.binary(max_size=len(original) + 100))
    if how == "splice":
        i = data.draw(st.integers(0, len(original)))
        return original[:i] + data.draw(st.binary(min_size=1, max_size=50)) + original[i + 50:]
    return original + data.draw(st.binary(min_size=1, max_size=50))


def _same_json(a: bytes, b: bytes) -> bool:
    try:
        return json.loads(a) == json.loads(b)
    except ValueError:
        return False


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_resume_over_damaged_replicate_files_reruns_exactly_those(finished, tiny, tmp_path_factory, counters, data):
    import shutil

    import sim.execution.ensemble as ensemble

    source, tables = finished
    out = tmp_path_factory.mktemp("damaged") / "out"
    shutil.copytree(source, out, symlinks=True)
    rep = out / "replicates"
    names = sorted(p.name for p in rep.iterdir())
    rerun = set()
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
        original = (rep / name).read_bytes()
        damaged = _damaged(data, original)
        if damaged == original or (name.endswith(".json") and _same_json(damaged, original)):
            continue  # the same file, or the same record: still this run's
        (rep / name).write_bytes(damaged)
        rerun.add(int(name.rsplit("-", 1)[1].split(".")[0]))
    note(f"damaged replicates {sorted(rerun)}")
    counters["fuzzed_inputs"] += 1
    ran: list[int] = []
    run = ensemble.run_replicate
    ensemble.run_replicate = lambda s, seed, k: ran.append(k) or run(s, seed, k)
    try:
        ens = ensemble.run_ensemble(tiny, seed=RESUME_SEED, replicates=RESUME_REPLICATES, workers=1, out=out,
                                    progress=False)
    finally:
        ensemble.run_replicate = run
    assert sorted(ran) == sorted(rerun)
    assert ens.reused == RESUME_REPLICATES - len(rerun)
    for name, expected in tables.items():
        assert (out / name).read_bytes() == expected, name
