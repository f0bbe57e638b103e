"""The one entry point ``simulate(scenario, seed, overrides)`` and the dotted key space of overrides."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from sim import InputError, simulate
from sim.inputs.scenario import overrides_to_changes


def test_simulate_is_a_pure_function_of_its_arguments(tiny):
    a = simulate(tiny, seed=5, overrides={"budgets.employment": 1e7})
    b = simulate(tiny, seed=5, overrides={"budgets.employment": 1e7})
    for name in ("yearly", "pathways", "spending", "series"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.seed == 5 and a.scenario == tiny.name
    # The same option written as a change of the scenario gives the same tables.
    c = simulate(tiny.with_changes({"budgets": {"employment": 1e7}}), seed=5)
    pd.testing.assert_frame_equal(a.yearly, c.yearly)
    # Its results are plain data: cheap to send back from a worker.
    assert pickle.loads(pickle.dumps(a)).yearly.equals(a.yearly)


def test_seed_defaults_to_the_scenario_seed(tiny):
    assert simulate(tiny).seed == tiny.spec.scenario.seed


@pytest.mark.parametrize("overrides, changed", [
    ({"budgets.employment": 5e6}, lambda s: s.budget("employment", 2016) == 5e6),
    ({"budgets.welfare.2016": 1e6}, lambda s: s.budget("welfare", 2016) == 1e6 and s.budget("welfare", 2017) == 58_200_000),
    ({"budgets.employment.2016": 8e6}, lambda s: s.budget("employment", 2016) == 8e6 and s.budget("employment", 2017) == 3_460_000),
    ({"scenario.targeting": "untargeted"}, lambda s: s.scenario.targeting == "untargeted"),
    ({"scenario.exit_deadline": 2017}, lambda s: s.scenario.exit_deadline == 2017),
    ({"programme.employment.effect": 8000}, lambda s: s.parameters["programme.employment.effect"] == 8000),
    ({"parameters.shocks.illness_rate": 0.01}, lambda s: s.parameters["shocks.illness_rate"] == 0.01),
    ({"programme.industry.effect": np.float64(2000.0)}, lambda s: s.parameters["programme.industry.effect"] == 2000.0),
])
def test_overrides_reach_budgets_settings_and_parameters(sanming, overrides, changed):
    option = sanming.with_overrides(overrides)
    assert changed(option.spec)
    key = next(iter(overrides))
    if not key.startswith(("budgets.", "scenario.")):
        name = key.removeprefix("parameters.")
        assert option.params.value(name) == float(overrides[key])


@pytest.mark.parametrize("overrides, key, problem", [
    ({"budgets.employmnet": 1.0}, "budgets.employmnet", "did you mean 'employment'"),
    ({"programme.employment.efect": 1.0}, "programme.employment.efect", "did you mean 'programme.employment.effect'"),
    ({"budgets.employment": "a lot"}, "budgets.employment", ""),
    ({"budgets.employment": -5.0}, "budgets.employment", ">= 0"),
    ({"programme.employment.effect": -1.0}, "programme.employment.effect", "out of bounds"),
    ({"shocks.illness_rate": 2.0}, "shocks.illness_rate", "out of bounds"),
    ({"budgets.employment.20x6": 1.0}, "budgets.employment.20x6", "a budget year"),
    ({"budgets.employment.2031": 1.0}, "budgets.employment.2031", "year outside the run"),
    ({"scenario.extends": "other.toml"}, "scenario.extends", "not a setting"),
    ({"scenario.population_scale": 0.0}, "scenario.population_scale", "greater than 0"),
])
def test_a_bad_override_is_one_error_naming_the_key_and_value(sanming, overrides, key, problem):
    with pytest.raises(InputError) as err:
        simulate(sanming, seed=1, overrides=overrides)
    message = str(err.value)
    assert err.value.file == "<overrides>", message
    assert key in message and repr(next(iter(overrides.values())))[:8] in message, message
    assert problem in message, message


def test_overrides_are_checked_whole_before_anything_runs(sanming, monkeypatch):
    """One bad key among good ones: refused before a model is built."""
    import sim.model.entry as entry

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(entry, "TuopinModel", no_model)
    with pytest.raises(InputError):
        entry.simulate(sanming, seed=1, overrides={"budgets.employment": 1.0, "shocks.illness_rate": -1.0})


def test_overrides_become_one_table_of_changes(sanming):
    changes = overrides_to_changes({"budgets.industry": 1.0, "budgets.welfare.2016": 2.0,
                                    "scenario.seed": 3, "shocks.illness_rate": 0.01}, sanming.params)
    assert changes == {"budgets": {"industry": 1.0, "welfare": {"2016": 2.0}}, "scenario": {"seed": 3},
                       "parameters": {"shocks.illness_rate": 0.01}}
    with pytest.raises(InputError, match="either one amount"):
        overrides_to_changes({"budgets.industry": 1.0, "budgets.industry.2016": 2.0}, sanming.params)
    assert sanming.override_keys()[:2] == ["budgets.ecology", "budgets.education"]
