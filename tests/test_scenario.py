"""Scenario files: checked whole before anything runs; a refusal names the file, key and value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import SANMING, copy_sanming, write
from sim.inputs.errors import InputError
from sim.inputs.scenario import load_scenario

CHILD = '[scenario]\nextends = "sanming.toml"\nname = "child"\n'


def test_shipped_scenario_loads(sanming):
    spec = sanming.spec
    assert sanming.name == "sanming-baseline"
    assert list(spec.years) == list(range(2015, 2021))
    assert len(spec.population.counties) == 12
    assert sum(c.poor_persons for c in spec.population.counties) == 82143  # 001 attachment table
    assert spec.population.base_year == 2014
    assert sanming.files == [SANMING]
    for prog in spec.budgets:
        assert all(spec.budget(prog, y) > 0 for y in spec.years), prog
    assert set(spec.budgets) == {"industry", "employment", "relocation", "education", "health", "welfare"}
    # The plan's reductions per county sum to the city's totals (001 attachment table).
    for year, total in {2015: 25000, 2016: 24000, 2017: 24000, 2018: 9143}.items():
        assert sum(c.reductions.get(year, 0) for c in spec.population.counties) == total


def _refused(path: Path, **kw) -> InputError:
    with pytest.raises(InputError) as exc:
        load_scenario(path, **kw)
    return exc.value


# (body appended to a child that extends sanming.toml, key path, value as shown in the message)
BROKEN = {
    "unknown key": ("sede = 3\n", "scenario.sede", "3"),
    "unknown table": ("[budget]\nindustry = 5\n", "budget", "industry"),
    "typo in a parameter name": ('[parameters]\n"shocks.ilness_rate" = 0.01\n', "parameters.shocks.ilness_rate", "0.01"),
    "typo in a programme name": ("[budgets]\nindustri = 5\n", "budgets.industri", "industri"),
    "typo in a cause": ("[population.causes]\nilness = 5\n", "population.causes.ilness", "ilness"),
    "wrong type: text for a number": ('population_scale = "tiny"\n', "scenario.population_scale", "'tiny'"),
    "wrong type: text budget": ('[budgets]\nindustry = "lots"\n', "budgets.industry", "'lots'"),
    "wrong type: boolean budget": ("[budgets]\nindustry = true\n", "budgets.industry", "True"),
    "wrong type: boolean scale": ("population_scale = true\n", "scenario.population_scale", "True"),
    "wrong type: fractional seed": ("seed = 1.5\n", "scenario.seed", "1.5"),
    "wrong type: parameter": ('[parameters]\n"shocks.illness_rate" = "often"\n', "parameters.shocks.illness_rate", "'often'"),
    "parameter out of bounds": ('[parameters]\n"shocks.illness_rate" = 2\n', "parameters.shocks.illness_rate", "2"),
    "not an allowed choice": ('targeting = "random"\n', "scenario.targeting", "'random'"),
    "deadline not a year": ("exit_deadline = 1900\n", "scenario.exit_deadline", "1900"),
    "negative budget": ("[budgets]\nindustry = -5\n", "budgets.industry", "-5"),
    "negative dated budget": ("[budgets]\nindustry = { 2016 = -5 }\n", "budgets.industry.2016", "-5"),
    "budget year before the run": ("[budgets]\nwelfare = { 2014 = 5 }\n", "budgets.welfare.2014", "5"),
    "budget year after the run": ("[budgets]\nwelfare = { 2030 = 5 }\n", "budgets.welfare.2030", "5"),
    "scale zero": ("population_scale = 0\n", "scenario.population_scale", "0"),
    "scale above one": ("population_scale = 1.5\n", "scenario.population_scale", "1.5"),
    "base year not before start": ("[population]\nbase_year = 2012\n", "population.base_year", "2012"),
    "negative persons": ("[population.categories]\ngeneral = { households = 10, persons = -1 }\n",
                         "population.categories.general.persons", "-1"),
    "county share unknown": ("[budget_shares]\nAtlantis = 1.0\n", "budget_shares.Atlantis", "1.0"),
    "reduction year far outside": ('[[population.counties]]\nname = "A"\npoor_persons = 10\nreductions = { 1990 = 1 }\n',
                                   "population.counties.0.reductions.1990", "1"),
    # What validate used to accept and run crashed on or misreported (each number finite, in a stated range).
    "NaN cause": ("[population.causes]\nillness = nan\n", "population.causes.illness", "nan"),
    "infinite cause": ("[population.causes]\nillness = inf\n", "population.causes.illness", "inf"),
    "incidence that implies an impossible rural population": (
        '[[population.counties]]\nname = "A"\npoor_persons = 1000\nincidence = 1e-300\n',
        "population.counties.0.incidence", "1e-300"),
    "rural population beyond any country": (
        '[[population.counties]]\nname = "A"\npoor_persons = 1000\nrural_population = 1_000_000_000_000_000_000\n',
        "population.counties.0.rural_population", "1000000000000000000"),
    "county poor villages beyond any country": (
        '[[population.counties]]\nname = "A"\npoor_persons = 1000\npoor_villages = 9_000_000_000_000_000\n',
        "population.counties.0.poor_villages", "9000000000000000"),
    "poor villages beyond any country": ("[population]\npoor_villages = 9_000_000_000_000_000\n",
                                         "population.poor_villages", "9000000000000000"),
    "infinite persons in a category": ("[population.categories]\ngeneral = { households = 12452, persons = inf }\n",
                                       "population.categories.general.persons", "inf"),
    "NaN households in a category": ("[population.categories]\ngeneral = { households = nan, persons = 40929 }\n",
                                     "population.categories.general.households", "nan"),
    "parameter too large for a float": ('[parameters]\n"shocks.illness_rate" = 1' + "0" * 400 + "\n",
                                        "parameters.shocks.illness_rate", "1000000000"),
    "poor persons beyond any rural population at the default incidence": (
        '[[population.counties]]\nname = "A"\npoor_persons = 1_000_000_000\n',
        "population.counties.0.poor_persons", "1000000000"),
    "reductions beyond the county's poor persons": (
        '[[population.counties]]\nname = "A"\npoor_persons = 1000\nreductions = { 2015 = 600, 2016 = 600 }\n',
        "population.counties.0.reductions.2016", "600"),
    "budget beyond any treasury": ("[budgets]\nindustry = 1e308\n", "budgets.industry", "1e+308"),
    "dated budget beyond any treasury": ("[budgets]\nindustry = { 2016 = 2e15 }\n", "budgets.industry.2016", "2000000000000000.0"),
    "NaN relocation share": ("[population]\nrelocation_area_share = nan\n", "population.relocation_area_share", "nan"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_scenario_is_refused_naming_file_key_and_value(tmp_path, case):
    body, key, shown = BROKEN[case]
    copy_sanming(tmp_path)
    # [scenario] keys go under the child's [scenario] table; tables come after it.
    path = write(tmp_path, "broken.toml", CHILD + body)
    err = _refused(path)
    msg = str(err)
    assert msg.startswith(f"{path}: "), msg
    assert err.file == str(path)
    assert err.key == key, msg
    assert f"{key} = " in msg, msg
    assert shown in msg.split(" = ", 1)[1], msg


UNSAFE_NAMES = ["..", ".", ".hidden", "a/b", "..\\x", "x" * 101]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_name_that_is_not_a_safe_folder_name_is_refused(tmp_path, name):
    """The name is the results folder's: ".." would write the results into the current folder."""
    copy_sanming(tmp_path)
    path = write(tmp_path, "named.toml", f'[scenario]\nextends = "sanming.toml"\nname = {json.dumps(name)}\n')
    err = _refused(path)
    assert err.file == str(path) and err.key == "scenario.name" and err.value == name, str(err)
    assert str(err).startswith(f"{path}: scenario.name = {name!r}"), str(err)


def test_the_limits_let_a_country_sized_scenario_through(tmp_path):
    """The stated maxima refuse nonsense, not large places: a county of 100 M rural persons, 10 %
    poor, with 20,000 poor villages and a budget of a trillion yuan loads."""
    copy_sanming(tmp_path)
    path = write(tmp_path, "big.toml", CHILD + '[budgets]\nindustry = 1e12\n[[population.counties]]\nname = "Big"\n'
                 "poor_persons = 10_000_000\nincidence = 0.1\npoor_villages = 20_000\n"
                 "reductions = { 2015 = 5_000_000, 2016 = 5_000_000 }\n")
    spec = load_scenario(path).spec
    assert spec.population.counties[0].poor_persons == 10_000_000 and spec.budget("industry", 2016) == 1e12


def test_end_before_start_is_refused(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "broken.toml", CHILD + "end_year = 2010\n")
    msg = str(_refused(path))
    assert str(path) in msg and "end_year" in msg and "2010" in msg


def test_missing_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "nowhere.toml"
    err = _refused(path)
    assert str(path) in str(err)
    assert "not found" in str(err)


def test_invalid_toml_is_refused_naming_the_file(tmp_path):
    path = write(tmp_path, "bad.toml", "[scenario\nname = 1\n")
    err = _refused(path)
    assert str(err).startswith(str(path))
    assert "TOML" in str(err)


def test_missing_extends_target_names_the_file_that_extends_it(tmp_path):
    path = write(tmp_path, "child.toml", '[scenario]\nextends = "nothere.toml"\nname = "child"\n')
    err = _refused(path)
    msg = str(err)
    assert msg.startswith(f"{path}: scenario.extends = "), msg
    assert "nothere.toml" in msg


def test_extends_outside_the_folder_is_refused(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "sub/child.toml", '[scenario]\nextends = "../sanming.toml"\nname = "child"\n')
    err = _refused(path)
    msg = str(err)
    assert msg.startswith(f"{path}: scenario.extends = '../sanming.toml'"), msg
    assert "outside" in msg
    # ... unless the planner asks for it.
    assert load_scenario(path, allow_outside=True).spec.scenario.name == "child"


def test_extends_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = copy_sanming(tmp_path / "elsewhere")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "base.toml").symlink_to(outside)
    path = write(tmp_path, "tree/child.toml", '[scenario]\nextends = "base.toml"\nname = "child"\n')
    assert "outside" in str(_refused(path))


def test_extends_loop_is_refused(tmp_path):
    a = write(tmp_path, "a.toml", '[scenario]\nextends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", '[scenario]\nextends = "a.toml"\nname = "b"\n')
    err = _refused(a)
    assert "scenario.extends" in str(err) and "too deep" in str(err)


def test_extends_chain_lays_each_file_over_the_last(tmp_path):
    base = copy_sanming(tmp_path)
    write(tmp_path, "mid.toml", '[scenario]\nextends = "sanming.toml"\nname = "mid"\npopulation_scale = 0.5\n'
          '[budgets]\nindustry = 1000\nwelfare = { 2015 = 7, 2016 = 8 }\n'
          '[parameters]\n"shocks.illness_rate" = 0.0123\n')
    leaf = write(tmp_path, "sub/leaf.toml", '[scenario]\nextends = "../mid.toml"\nname = "leaf"\n'
                 '[budgets]\nemployment = 2000\n')
    # sub/leaf.toml may not reach ../mid.toml (outside its folder) ...
    assert "outside" in str(_refused(leaf))
    leaf = write(tmp_path, "leaf.toml", '[scenario]\nextends = "mid.toml"\nname = "leaf"\n'
                 '[budgets]\nemployment = 2000\n')
    loaded = load_scenario(leaf)
    spec = loaded.spec
    base_spec = load_scenario(base).spec
    assert loaded.files == [base, tmp_path / "mid.toml", leaf] or [f.resolve() for f in loaded.files] == [
        base.resolve(), (tmp_path / "mid.toml").resolve(), leaf.resolve()]
    assert spec.scenario.name == "leaf"
    assert spec.scenario.extends is None or spec.scenario.extends == "mid.toml"
    assert spec.scenario.population_scale == 0.5            # from mid
    assert spec.scenario.start_year == 2015                  # from the base
    assert spec.budget("industry", 2015) == 1000             # mid over base
    assert spec.budget("employment", 2015) == 2000           # leaf over base
    assert spec.budget("relocation", 2015) == base_spec.budget("relocation", 2015)  # base
    assert spec.budget("welfare", 2016) == 8
    # Tables merge key by key: a dated budget over a dated one keeps the years it does not give.
    base_welfare = base_spec.budgets["welfare"]
    expected_2017 = base_welfare.get(2017, 0.0) if isinstance(base_welfare, dict) else 0.0
    assert spec.budget("welfare", 2017) == expected_2017
    assert len(spec.population.counties) == 12
    assert loaded.params.value("shocks.illness_rate") == 0.0123
    assert Path(loaded.params["shocks.illness_rate"].origin).name == "mid.toml"


def test_error_in_an_extended_file_names_that_file(tmp_path):
    copy_sanming(tmp_path)
    mid = write(tmp_path, "mid.toml", '[scenario]\nextends = "sanming.toml"\nname = "mid"\n'
                '[budgets]\nindustry = -1\n[parameters]\n"shocks.ilness_rate" = 0.01\n')
    leaf = write(tmp_path, "leaf.toml", '[scenario]\nextends = "mid.toml"\nname = "leaf"\n')
    err = _refused(leaf)
    assert err.file == str(mid), str(err)
    mid.write_text('[scenario]\nextends = "sanming.toml"\nname = "mid"\n[parameters]\n"shocks.ilness_rate" = 0.01\n')
    err = _refused(leaf)
    assert err.file == str(mid), str(err)
    assert err.key == "parameters.shocks.ilness_rate"


def test_child_can_fix_what_its_base_set(tmp_path):
    copy_sanming(tmp_path)
    write(tmp_path, "mid.toml", '[scenario]\nextends = "sanming.toml"\nname = "mid"\n[budgets]\nindustry = 5\n')
    leaf = write(tmp_path, "leaf.toml", '[scenario]\nextends = "mid.toml"\nname = "leaf"\n[budgets]\nindustry = 6\n')
    assert load_scenario(leaf).spec.budget("industry", 2015) == 6


def test_with_changes_is_a_new_scenario_and_checks_the_changes(sanming):
    changed = sanming.with_changes({"scenario": {"population_scale": 0.25}, "budgets": {"industry": 1.0}})
    assert changed.spec.scenario.population_scale == 0.25
    assert changed.spec.budget("industry", 2015) == 1.0
    assert sanming.spec.scenario.population_scale == 1.0
    assert sanming.spec.budget("industry", 2015) > 1.0
    with pytest.raises(InputError) as exc:
        sanming.with_changes({"budgets": {"industry": -1.0}}, origin="notebook")
    assert str(exc.value).startswith("notebook: budgets.industry = -1.0")


def test_digest_depends_on_content_not_location(tmp_path, sanming):
    copy = load_scenario(copy_sanming(tmp_path))
    assert copy.spec.digest() == sanming.spec.digest()
    assert sanming.with_changes({"budgets": {"industry": 1.0}}).spec.digest() != sanming.spec.digest()


def test_dated_budget_is_zero_in_years_not_given(sanming):
    s = sanming.with_changes({"budgets": {"health": 0.0}})
    s = s.with_changes({"budgets": {"health": {"2016": 5.0, "2018": 7.0}}})
    assert [s.spec.budget("health", y) for y in range(2015, 2020)] == [0, 5, 0, 7, 0]


def test_scale_that_leaves_no_household_is_refused(sanming):
    with pytest.raises(InputError) as exc:
        sanming.with_changes({"scenario": {"population_scale": 1e-7}})
    assert "scenario.population_scale" in str(exc.value)


EARLY = ('[scenario]\nextends = "sanming.toml"\nname = "early"\nstart_year = 2010\nend_year = 2011\n'
         'population_scale = 0.02\n[population]\nbase_year = 2009\n[budgets]\n'
         + "".join(f"{p} = 1000000\n" for p in ("industry", "employment", "relocation", "education", "health",
                                                "welfare")))


def test_years_without_parameter_data_are_refused_when_loading(tmp_path):
    """The poverty line is dated from 2014: a run from 2010 cannot be simulated, and the check
    of the scenario (``tuopin validate``) must say so rather than the run failing later."""
    copy_sanming(tmp_path)
    path = write(tmp_path, "early.toml", EARLY)
    err = _refused(path)
    assert "poverty_line" in str(err) or "start_year" in str(err) or "base_year" in str(err)
    # Same budgets, years with data: it loads (the refusal above is about the years).
    ok = write(tmp_path, "ok.toml", EARLY.replace("2010", "2016").replace("2011", "2017").replace("2009", "2015"))
    assert load_scenario(ok).spec.scenario.start_year == 2016


def test_input_error_survives_pickling():
    """Worker processes send errors back pickled: the message must arrive whole."""
    import pickle

    err = InputError("a.toml", "budgets.industry", -5, "a budget cannot be negative", ">= 0")
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, InputError)
    assert str(back) == str(err)
    assert (back.file, back.key, back.value, back.problem, back.allowed) == (
        err.file, err.key, err.value, err.problem, err.allowed)


def test_unknown_key_lists_the_keys_allowed_there_and_the_closest(tmp_path):
    copy_sanming(tmp_path)
    cases = {
        '[scenario]\nextends = "sanming.toml"\nname = "x"\nstrat_year = 2015\n': ("scenario.strat_year", "start_year"),
        '[scenario]\nextends = "sanming.toml"\nname = "x"\n[population.categories.general]\nhouseholds = 1\npersns = 3\n':
            ("population.categories.general.persns", "persons"),
        '[scenario]\nextends = "sanming.toml"\nname = "x"\n[[population.counties]]\nname = "A"\npoor_persons = 3\nreductons = {2015 = 1}\n':
            ("population.counties.0.reductons", "reductions"),
    }
    for text, (key, closest) in cases.items():
        path = write(tmp_path, "child.toml", text)
        with pytest.raises(InputError) as err:
            load_scenario(path)
        assert err.value.key == key
        assert err.value.file == str(path)
        assert f"did you mean '{closest}'?" in err.value.problem
        assert closest in (err.value.allowed or "")


def test_a_list_replaced_by_a_child_is_blamed_on_the_child(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "child.toml",
                 '[scenario]\nextends = "sanming.toml"\nname = "x"\n[[population.counties]]\nname = "A"\npoor_persns = 3\n')
    with pytest.raises(InputError) as err:
        load_scenario(path)
    assert err.value.file == str(path)


def test_parameter_tables_merge_key_by_key_through_extends(tmp_path):
    copy_sanming(tmp_path)
    write(tmp_path, "b.toml", '[scenario]\nextends = "sanming.toml"\nname = "b"\n'
                              '[parameters.shocks]\nillness_rate = 0.01\ndisability_rate = 0.0001\n')
    c = write(tmp_path, "c.toml", '[scenario]\nextends = "b.toml"\nname = "c"\n[parameters.shocks]\nillness_rate = 0.02\n')
    params = load_scenario(c).params
    assert params.value("shocks.illness_rate") == 0.02
    assert params.value("shocks.disability_rate") == 0.0001
    assert params["shocks.disability_rate"].origin == str(tmp_path / "b.toml")


def test_a_year_table_over_a_single_amount_keeps_it_for_unlisted_years(tmp_path, sanming):
    copy_sanming(tmp_path)
    child = write(tmp_path, "c.toml", '[scenario]\nextends = "sanming.toml"\nname = "c"\n'
                                      '[budgets]\nemployment = { 2015 = 8e6, 2016 = 9e6 }\n')
    spec = load_scenario(child).spec
    base = sanming.spec.budget("employment", 2017)
    assert [spec.budget("employment", y) for y in spec.years] == [8e6, 9e6] + [base] * 4
    changed = sanming.with_changes({"budgets": {"employment": {2016: 1.0}}}).spec
    assert [changed.budget("employment", y) for y in changed.years] == [base, 1.0] + [base] * 4


def test_include_lays_a_parameter_file_under_the_scenarios_own_parameters(tmp_path):
    copy_sanming(tmp_path)
    write(tmp_path, "fitted.toml", '[parameters]\n"shocks.illness_rate" = 0.02\n"programme.employment.effect" = 9000\n')
    child = write(tmp_path, "child.toml", CHILD + 'include = ["fitted.toml"]\n'
                  '[parameters]\n"programme.employment.effect" = 7000\n')
    loaded = load_scenario(child)
    assert loaded.params.value("shocks.illness_rate", 2016) == 0.02
    assert loaded.params.value("programme.employment.effect", 2016) == 7000  # the scenario's own wins
    assert loaded.prov["parameters.shocks.illness_rate"].endswith("fitted.toml")


@pytest.mark.parametrize("body, key", [
    ('[parameters]\n"shocks.ilness_rate" = 0.02\n', "shocks.ilness_rate"),
    ('[budgets]\nindustry = 5\n', "budgets"),
])
def test_a_bad_included_file_is_named(tmp_path, body, key):
    copy_sanming(tmp_path)
    write(tmp_path, "fitted.toml", body)
    child = write(tmp_path, "child.toml", CHILD + 'include = ["fitted.toml"]\n')
    err = _refused(child)
    assert "fitted.toml" in str(err) and key in str(err)


def _sets(path: Path, rate: list[float], weight: list[float]) -> Path:
    import pandas as pd

    pd.DataFrame({"shocks.illness_rate": rate, "weight": weight}).to_parquet(path)
    return path


def test_parameter_sets_are_drawn_by_seed_and_recorded_by_content(tmp_path):
    copy_sanming(tmp_path)
    _sets(tmp_path / "posterior.parquet", [0.01, 0.02, 0.03], [1, 1, 2])
    child = write(tmp_path, "child.toml", CHILD + 'parameter_sets = "posterior.parquet"\n')
    loaded = load_scenario(child)
    assert loaded.spec.scenario.parameter_sets == f"sha256:{loaded.parameter_sets.digest}"
    drawn = [loaded.with_parameter_set(seed).params.value("shocks.illness_rate", 2016) for seed in range(200)]
    assert set(drawn) == {0.01, 0.02, 0.03}
    assert 0.35 < drawn.count(0.03) / len(drawn) < 0.65  # weight 2 of 4
    assert drawn == [load_scenario(child).with_parameter_set(s).params.value("shocks.illness_rate", 2016)
                     for s in range(200)]
    # The same content elsewhere is the same scenario; other content is another.
    other = tmp_path / "other"
    copy_sanming(other)
    _sets(other / "posterior.parquet", [0.01, 0.02, 0.03], [2, 2, 4])
    write(other, "child.toml", CHILD + 'parameter_sets = "posterior.parquet"\n')
    assert load_scenario(other / "child.toml").spec.digest() == loaded.spec.digest()
    _sets(other / "posterior.parquet", [0.01, 0.02, 0.04], [1, 1, 2])
    assert load_scenario(other / "child.toml").spec.digest() != loaded.spec.digest()


def test_a_parameter_the_scenario_sets_is_not_drawn(tmp_path):
    """An override (or a file's [parameters]) of a parameter the sets carry wins over the draw,
    through simulate's path as well: the sets supply only what the user leaves open."""
    import pandas as pd

    copy_sanming(tmp_path)
    pd.DataFrame({"shocks.illness_rate": [0.01, 0.02], "register.exit_margin": [0.05, 0.15],
                  "weight": [1, 1]}).to_parquet(tmp_path / "posterior.parquet")
    child = write(tmp_path, "child.toml", CHILD + 'parameter_sets = "posterior.parquet"\n')
    fixed = load_scenario(child).with_overrides({"shocks.illness_rate": 0.004})
    drawn = [fixed.with_parameter_set(seed).params for seed in range(40)]
    assert {p.value("shocks.illness_rate", 2016) for p in drawn} == {0.004}
    assert {p.value("register.exit_margin") for p in drawn} == {0.05, 0.15}
    in_file = write(tmp_path, "fixed.toml", CHILD + 'parameter_sets = "posterior.parquet"\n'
                    + '\n[parameters]\n"shocks.illness_rate" = 0.005\n')
    assert {load_scenario(in_file).with_parameter_set(seed).params.value("shocks.illness_rate", 2016)
            for seed in range(40)} == {0.005}


@pytest.mark.parametrize("rate, weight, key", [
    ([0.01], [-1], "weight"),
    ([], [], "weight"),
])
def test_bad_parameter_sets_are_refused(tmp_path, rate, weight, key):
    copy_sanming(tmp_path)
    _sets(tmp_path / "posterior.parquet", rate, weight)
    child = write(tmp_path, "child.toml", CHILD + 'parameter_sets = "posterior.parquet"\n')
    assert key in str(_refused(child))


def test_parameter_sets_naming_an_unknown_parameter_are_refused(tmp_path):
    import pandas as pd

    copy_sanming(tmp_path)
    pd.DataFrame({"shocks.ilness_rate": [0.01]}).to_parquet(tmp_path / "posterior.parquet")
    child = write(tmp_path, "child.toml", CHILD + 'parameter_sets = "posterior.parquet"\n')
    err = _refused(child)
    assert "posterior.parquet" in str(err) and "shocks.ilness_rate" in str(err) and "illness_rate" in str(err)
