"""Parameters as data: every number documented, bounded, and checked when a scenario overrides it."""

from __future__ import annotations

import pytest

from sim.inputs.errors import InputError
from sim.inputs.params import ParameterSet, load_parameter_file
from sim.programmes import PROGRAMME_NAMES

DEFAULTS = ParameterSet.defaults()


def test_defaults_load_and_cover_every_programme():
    """Every programme's file holds the keys its module declares, and only those (the registry's check)."""
    from sim.programmes import REGISTRY

    names = {p.name for p in DEFAULTS}
    assert len(names) > 50
    for programme in REGISTRY:
        for key in programme.parameters:
            assert f"programme.{programme.name}.{key}" in names, (programme.name, key)
        assert "support_years" in programme.parameters and "continue_after_exit_years" in programme.parameters


@pytest.mark.parametrize("p", list(DEFAULTS), ids=lambda p: p.name)
def test_every_parameter_is_documented_and_within_its_bounds(p):
    assert p.label.strip() and p.unit.strip() and p.source.strip()
    if p.is_assumption:
        assert p.reason and p.reason.strip(), f"{p.name}: an assumption needs a reason"
    values = list(p.values.values()) if p.dated else [p.value]
    for v in values:
        if p.bounds is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
            assert p.bounds[0] <= v <= p.bounds[1], (p.name, v, p.bounds)
        if p.choices is not None:
            assert v in p.choices
    if p.range is not None:
        lo, hi = p.range
        assert lo <= hi, p.name
        if p.bounds is not None:
            assert p.bounds[0] <= lo and hi <= p.bounds[1], f"{p.name}: plausible range outside the bounds"
        for v in values:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                assert lo <= v <= hi, f"{p.name}: value {v} outside its plausible range {p.range}"


def test_poverty_lines_cover_the_shipped_scenario_and_rise():
    for line in ("national", "provincial"):
        p = DEFAULTS[f"poverty_line.{line}"]
        years = range(2014, 2021)
        values = [p.at(y) for y in years]
        assert all(b >= a for a, b in zip(values, values[1:])), values
    assert DEFAULTS.value("poverty_line.national", 2014) == 2800  # DOMAIN.md: published figures
    assert DEFAULTS.value("poverty_line.national", 2015) == 2855
    assert DEFAULTS.value("poverty_line.national", 2016) == 2952
    for y in range(2014, 2021):
        assert DEFAULTS.value("poverty_line.provincial", y) > DEFAULTS.value("poverty_line.national", y)


def test_dated_value_is_the_latest_at_or_before_the_year():
    p = DEFAULTS["programme.welfare.dibao_line_ratio"]
    first = min(p.values)
    last = max(p.values)
    assert p.at(last + 5) == p.values[last]
    for y in p.values:
        assert p.at(y) == p.values[y]
    with pytest.raises(InputError) as exc:
        p.at(first - 1)
    assert str(first - 1) in str(exc.value)


def test_value_of_a_dated_parameter_needs_a_year():
    with pytest.raises(ValueError):
        DEFAULTS.value("poverty_line.national")


def test_group_strips_the_prefix():
    shocks = DEFAULTS.group("shocks")
    assert shocks["illness_rate"] == DEFAULTS.value("shocks.illness_rate")
    assert not any("." in k for k in shocks)
    assert "growth_rate" not in shocks


def test_override_returns_a_new_set_and_records_where_it_came_from():
    new = DEFAULTS.with_overrides({"shocks.illness_rate": 0.0123}, origin="x.toml")
    assert new.value("shocks.illness_rate") == 0.0123
    assert new["shocks.illness_rate"].origin == "x.toml"
    assert DEFAULTS.value("shocks.illness_rate") != 0.0123  # the defaults are untouched
    assert DEFAULTS["shocks.illness_rate"].origin != "x.toml"


def test_dated_override_replaces_only_the_years_given():
    new = DEFAULTS.with_overrides({"poverty_line.national": {"2016": 3000}}, origin="x.toml")
    assert new.value("poverty_line.national", 2016) == 3000
    assert new.value("poverty_line.national", 2015) == DEFAULTS.value("poverty_line.national", 2015)
    flat = DEFAULTS.with_overrides({"poverty_line.national": 3100}, origin="x.toml")
    assert all(flat.value("poverty_line.national", y) == 3100 for y in range(2014, 2021))


def test_unknown_parameter_is_refused_with_a_suggestion():
    with pytest.raises(InputError) as exc:
        DEFAULTS.with_overrides({"shocks.ilness_rate": 0.01}, origin="my.toml")
    msg = str(exc.value)
    assert "my.toml" in msg and "parameters.shocks.ilness_rate" in msg and "0.01" in msg
    assert "shocks.illness_rate" in msg  # did you mean ...


@pytest.mark.parametrize("name, value, shown, problem", [
    ("shocks.illness_rate", 1.5, "1.5", "bounds"),
    ("shocks.illness_rate", -0.1, "-0.1", "bounds"),
    ("shocks.illness_rate", "often", "'often'", "number"),
    ("shocks.illness_rate", True, "True", "number"),
    ("shocks.illness_rate", float("nan"), "nan", "finite"),
    ("programme.industry.cost_basis", "village", "'village'", "choices"),
    ("programme.industry.matched_causes", "capital", "'capital'", "list"),
    ("poverty_line.national", {"20x6": 3000}, "20x6", "years"),
])
def test_bad_override_is_refused_naming_file_key_and_value(name, value, shown, problem):
    with pytest.raises(InputError) as exc:
        DEFAULTS.with_overrides({name: value}, origin="my.toml")
    msg = str(exc.value)
    assert msg.startswith(f"my.toml: parameters.{name}")
    assert shown in msg
    assert problem in msg


def test_defaults_are_unchanged_by_refused_overrides():
    before = DEFAULTS.value("shocks.illness_rate")
    with pytest.raises(InputError):
        DEFAULTS.with_overrides({"shocks.illness_rate": 0.02, "shocks.nope": 1}, origin="x")
    assert DEFAULTS.value("shocks.illness_rate") == before


@pytest.mark.parametrize("body, key", [
    ('[a]\nlabel = "A"\nvalue = 1\nsource = "x"\n', "a.unit"),                       # missing unit
    ('[a]\nlabel = "A"\nunit = "u"\nvalue = 1\nsource = "assumption"\n', "a"),       # no reason
    ('[a]\nlabel = "A"\nunit = "u"\nvalue = 5\nbounds = [0, 1]\nsource = "x"\n', "a"),  # out of bounds
    ('[a]\nlabel = "A"\nunit = "u"\nsource = "x"\n', "a"),                            # no value
    ('[a]\nlabel = "A"\nunit = "u"\nvalue = 1\nsource = "x"\ncolour = "red"\n', "a.colour"),
    ('[a]\nlabel = "A"\nunit = "u"\nvalues = { y2015 = 1 }\nsource = "x"\n', "a"),
])
def test_bad_parameter_file_is_refused_naming_the_file_and_key(tmp_path, body, key):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(InputError) as exc:
        load_parameter_file(path, "bad")
    msg = str(exc.value)
    assert str(path) in msg or "bad.toml" in msg
    assert key in msg


def test_good_parameter_file_loads(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text('[a]\nlabel = "A"\nunit = "u"\nvalues = { 2016 = 2, 2014 = 1 }\nbounds = [0, 5]\n'
                    'source = "assumption"\nreason = "because"\n')
    p = load_parameter_file(path, "ok")["ok.a"]
    assert p.dated and p.at(2015) == 1 and p.at(2016) == 2 and p.at(2030) == 2


def test_audit_table_lists_every_parameter():
    df = DEFAULTS.table()
    assert len(df) == len(list(DEFAULTS))
    assert {"name", "value", "unit", "source", "range", "set_by"} <= set(df.columns)
    assert df.name.is_unique
