"""The Yunnan scenarios: they validate, run at a small sample, and have the intended sizes."""

from __future__ import annotations

import pytest

from sim.model import TuopinModel
from sim.core.budget import TOTAL
from sim.app.runs import estimated_households
from sim.inputs.scenario import load_scenario

from helpers import ROOT, scaled

YUNNAN = ROOT / "scenarios" / "yunnan.toml"
RURAL = ROOT / "scenarios" / "yunnan-rural.toml"


@pytest.fixture(scope="module")
def yunnan():
    return load_scenario(YUNNAN)


@pytest.fixture(scope="module")
def rural():
    return load_scenario(RURAL)


def test_both_validate(yunnan, rural):
    assert yunnan.name == "yunnan-baseline" and rural.name == "yunnan-rural"
    assert rural.files[0].name == "yunnan.toml"  # extends


def test_plan_figures(yunnan):
    spec = yunnan.spec
    assert spec.scenario.region == "western" and spec.scenario.targeting == "precision"
    assert spec.scenario.poverty_line == "national"
    assert list(spec.years) == [2016, 2017, 2018, 2019, 2020] and spec.population.base_year == 2015
    counties = spec.population.counties
    assert len(counties) == 129                                          # Yunnan's counties
    assert sum(c.name.startswith("poor-") for c in counties) == 88      # 000 Part 11
    assert sum(c.poor_persons for c in counties) == 4_710_000           # 000 Part 11
    rural_pop = sum(c.rural_population for c in counties)
    assert sum(c.poor_persons for c in counties) / rural_pop == pytest.approx(0.127, abs=1e-4)
    assert spec.population.poor_villages == 4277
    assert sum(g.persons for g in spec.population.categories.values()) == 4_710_000
    for y in (2016, 2017, 2018):                                         # 000 box 30: 60 bn / 3 years
        assert spec.budget("relocation", y) == 20e9
    assert spec.budget("relocation", 2019) == 0


def test_runs_at_one_percent(yunnan):
    yearly = TuopinModel(scaled(yunnan, 0.01)).run().results.yearly
    names = {c.name for c in yunnan.spec.population.counties}
    assert set(yearly.county) == names | {TOTAL}
    assert sorted(yearly.year.unique()) == [2016, 2017, 2018, 2019, 2020]
    total = yearly[yearly.county == TOTAL]
    assert total.poor_persons_start.iloc[0] == pytest.approx(4_710_000, rel=0.01)


def test_registered_households_about_1_2_million(yunnan):
    ratio = yunnan.params.value("population.near_line_ratio")
    registered = estimated_households(yunnan) / (1 + ratio)
    assert registered == pytest.approx(1.2e6, rel=0.15)


def test_whole_rural_population_about_10_million(rural, yunnan):
    assert estimated_households(rural) == pytest.approx(10e6, rel=0.15)
    # Same register as yunnan.toml: only the households off it are added.
    ratio = rural.params.value("population.near_line_ratio")
    assert estimated_households(rural) / (1 + ratio) == pytest.approx(
        estimated_households(yunnan) / (1 + yunnan.params.value("population.near_line_ratio")), rel=1e-6)


def test_the_calibrated_defaults_carry_to_yunnan(yunnan):
    """Transfer: Yunnan was not fitted. Given only its plan's figures and budgets (scenarios/
    yunnan.toml) and the parameter defaults that the Sanming calibration set (its budget scale
    aside, which is Sanming's own), its register empties as the national register did: down every
    year, under a tenth of its start by 2019 and under 5 % by 2020 (the national register: 30 % of
    the end-2015 figure left at the end of 2018, 10 % at the end of 2019, 0 at the end of 2020)."""
    assert yunnan.parameter_sets is None and yunnan.params.value("budget.scale") == 1.0
    small = scaled(yunnan, 0.02)
    shares = []
    for seed in (1, 2):
        y = TuopinModel(small, seed=seed).run().results.yearly
        total = y[y.county == TOTAL].set_index("year")
        shares.append(total.poor_persons_end / total.poor_persons_start.iloc[0])
    share = sum(shares) / len(shares)
    assert (share.diff().dropna() < 0).all(), share.round(3).to_dict()
    assert share[2019] < 0.10 and share[2020] < 0.05, share.round(3).to_dict()
