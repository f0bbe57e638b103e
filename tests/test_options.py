"""The budget options shipped in scenarios/: each changes what it says and nothing else, so a
comparison with the baseline shows the policy alone."""

from __future__ import annotations

import pytest

from helpers import ROOT
from sim.analysis.compare_report import changes_from_baseline
from sim.analysis.compare import Comparison
from sim.inputs.scenario import load_scenario

SCENARIOS = ROOT / "scenarios"
ENTITLEMENTS = ("health", "welfare")


@pytest.fixture(scope="module")
def baseline():
    return load_scenario(SCENARIOS / "sanming.toml")


def _totals(s):
    return {y: sum(s.spec.budget(p, y) for p in s.spec.budgets) for y in s.spec.years}


def _changes(baseline, option):
    cmp = Comparison(["base", "option"], [baseline, option], [], 0)
    return set(changes_from_baseline(cmp).setting)


@pytest.mark.parametrize("name, factor", [("sanming-budget-minus20.toml", 0.8), ("sanming-budget-plus20.toml", 1.2)])
def test_scaled_total_options_scale_every_budget(baseline, name, factor):
    option = load_scenario(SCENARIOS / name)
    for p in baseline.spec.budgets:
        for y in baseline.spec.years:
            assert option.spec.budget(p, y) == pytest.approx(factor * baseline.spec.budget(p, y), abs=500), (p, y)
    assert all(k.startswith("budgets.") for k in _changes(baseline, option))


@pytest.mark.parametrize("target", ["employment", "industry"])
def test_shift_options_keep_each_years_total_and_the_entitlements(baseline, target):
    option = load_scenario(SCENARIOS / f"sanming-shift-{target}.toml")
    base_t, opt_t = _totals(baseline), _totals(option)
    for y in baseline.spec.years:
        assert opt_t[y] == pytest.approx(base_t[y], abs=5_000), y  # rounding to 1,000 yuan a programme
        gain = option.spec.budget(target, y) - baseline.spec.budget(target, y)
        assert gain == pytest.approx(0.1 * base_t[y], abs=1_000)
        for p in ENTITLEMENTS:
            assert option.spec.budget(p, y) == baseline.spec.budget(p, y)
    assert all(k.startswith("budgets.") for k in _changes(baseline, option))


def test_no_relocation_changes_only_relocation(baseline):
    option = load_scenario(SCENARIOS / "sanming-no-relocation.toml")
    assert all(option.spec.budget("relocation", y) == 0 for y in option.spec.years)
    assert {k.rsplit(".", 1)[0] for k in _changes(baseline, option)} == {"budgets.relocation"}


def test_health_taper_changes_only_the_cover_rule(baseline):
    option = load_scenario(SCENARIOS / "sanming-health-taper.toml")
    assert _changes(baseline, option) == {"parameters.programme.health.continue_after_exit_years",
                                          "parameters.programme.health.exited_cover"}
