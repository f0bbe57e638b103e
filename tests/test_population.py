"""The synthetic population matches the scenario's published figures exactly where it says so."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import budgets, scaled
from sim.core.population import build_population, draw_sizes, largest_remainder, two_way_split
from sim.programmes import PROGRAMME_NAMES
from sim.inputs.scenario import REGISTERED_CATEGORIES
from sim.core.state import FIELDS, Category, Cause, Status


@pytest.fixture(scope="module")
def pop(small):
    return build_population(small.spec, small.params, 11, len(PROGRAMME_NAMES))


@given(total=st.integers(0, 10**6), weights=st.lists(st.floats(0, 1e6), min_size=1, max_size=30))
def test_largest_remainder_splits_exactly(total, weights):
    out = largest_remainder(total, np.array(weights))
    assert len(out) == len(weights)
    w = np.array(weights)
    if w.sum() <= 0:
        assert out.sum() == 0
        return
    assert out.sum() == total
    exact = total * w / w.sum()
    assert np.all(out >= np.floor(exact) - 1e-9) and np.all(out <= np.ceil(exact) + 1e-9)


@given(households=st.integers(1, 300), ratio=st.floats(1.0, 6.0), seed=st.integers(0, 2**32 - 1))
def test_draw_sizes_sum_exactly_to_persons(households, ratio, seed):
    persons = int(round(households * ratio))
    sizes = draw_sizes(np.random.default_rng(seed), households, persons)
    assert len(sizes) == households
    assert sizes.sum() == persons
    assert sizes.min() >= 1 and sizes.max() <= 10


@pytest.mark.parametrize("households, persons, seed", [(2, 18, 0), (1, 10, 0), (3, 29, 1)])
def test_draw_sizes_handles_large_households(households, persons, seed):
    # Large mean sizes are feasible: the sizes must still add up exactly.
    sizes = draw_sizes(np.random.default_rng(seed), households, persons)
    assert len(sizes) == households and sizes.sum() == persons and sizes.min() >= 1


def test_registered_persons_match_the_table_per_county_and_category(small, pop):
    """Persons per county match the county table, and persons per category (over the counties)
    the category table, both exactly."""
    hh, villages, counties = pop
    spec = small.spec
    scale = spec.scenario.population_scale
    reg = hh.status == Status.POOR
    cat_persons = np.array([spec.population.categories[c].persons for c in REGISTERED_CATEGORIES])
    targets = np.array([int(round(c.poor_persons * scale)) for c in spec.population.counties])
    for ci, county in enumerate(spec.population.counties):
        here = reg & (hh.county == ci)
        assert int(hh.size[here].sum()) == targets[ci], county.name
    got = [int(hh.size[reg & (hh.category == k)].sum()) for k in range(len(REGISTERED_CATEGORIES))]
    assert got == largest_remainder(int(targets.sum()), cat_persons).tolist()
    assert counties.names == [c.name for c in spec.population.counties]


@given(rows=st.lists(st.integers(0, 20000), min_size=1, max_size=15),
       weights=st.lists(st.floats(0, 1e5), min_size=1, max_size=6))
def test_two_way_split_matches_both_margins(rows, weights):
    out = two_way_split(np.array(rows), np.array(weights))
    w = np.array(weights)
    assert out.shape == (len(rows), len(weights)) and (out >= 0).all()
    if w.sum() <= 0 or sum(rows) == 0:
        assert out.sum() == 0
        return
    assert out.sum(axis=1).tolist() == rows
    assert out.sum(axis=0).tolist() == largest_remainder(sum(rows), w).tolist()
    exact = np.array(rows)[:, None] * w[None, :] / w.sum()
    assert (np.abs(out - exact) < 2).all()  # each cell within one unit of its floor or ceiling, or one more


def test_household_counts_follow_the_category_ratios(small, pop):
    hh, _, _ = pop
    cats = small.spec.population.categories
    reg = hh.status == Status.POOR
    for k, name in enumerate(REGISTERED_CATEGORIES):
        sel = reg & (hh.category == k)
        mean_size = hh.size[sel].mean()
        expected = cats[name].persons / cats[name].households
        assert mean_size == pytest.approx(expected, rel=0.05), name


def test_household_attributes_are_consistent(pop):
    hh, villages, counties = pop
    reg = hh.status == Status.POOR
    near = hh.category == Category.NEAR_LINE
    assert np.array_equal(reg, ~near)
    assert np.all(hh.status[near] == Status.NEVER)
    assert np.all(hh.cause[near] == Cause.NONE) and np.all(hh.cause[reg] != Cause.NONE)
    assert np.all(hh.entry_year[reg] == 2014) and np.all(hh.entry_year[near] == -1)
    assert np.all(hh.exit_year == -1)
    assert np.all(hh.size >= 1)
    assert np.all(hh.labour <= hh.size) and np.all(hh.pupils + hh.labour <= hh.size)
    no_labour = np.isin(hh.category, [Category.DIBAO_NO_LABOUR, Category.FIVE_GUARANTEE])
    assert np.all(hh.labour[no_labour] == 0)
    assert np.all(hh.labour[~no_labour] >= 1)
    assert np.all(hh.labour[hh.cause == Cause.LABOUR] <= 1)
    assert np.all(hh.pupils[hh.category == Category.FIVE_GUARANTEE] == 0)
    assert np.all(hh.cause[reg & (hh.cause == Cause.LOCATION)] == Cause.LOCATION)
    assert np.all(hh.relocation_area[hh.cause == Cause.LOCATION])
    # Guarantees fail only for registered households.
    assert np.all(hh.housing_safe[near] & hh.insured[near] & hh.school_ok[near])
    assert np.all(hh.school_ok[hh.pupils == 0])
    # Only households with labour have wages; income sources add up to the base income.
    assert np.all(hh.wage[hh.labour == 0] == 0)
    assert np.all(hh.employed == (hh.wage > 0))
    total = hh.farm.astype(np.float64) + hh.wage + hh.transfer + hh.asset
    assert np.allclose(total / hh.size, hh.last_income_pc, rtol=1e-4)
    # Villages lie in the household's own county.
    assert np.array_equal(villages.county[hh.village], hh.county)


def test_initial_incomes_lie_in_the_assumed_bands(small, pop):
    hh, _, _ = pop
    P = small.params.group("population")
    line = small.params.value("poverty_line.national", 2014)
    reg = hh.status == Status.POOR
    ratio = hh.last_income_pc / line
    assert ratio[reg].min() >= P["registered_income_low"] - 1e-4
    assert ratio[reg].max() <= P["registered_income_high"] + 1e-4
    assert ratio[~reg].min() >= P["near_line_income_low"] - 1e-4
    assert ratio[~reg].max() <= P["near_line_income_high"] + 1e-4


def test_near_line_households_in_proportion(small, pop):
    hh, _, _ = pop
    reg = int((hh.status == Status.POOR).sum())
    near = int((hh.status == Status.NEVER).sum())
    assert near == int(round(reg * small.params.value("population.near_line_ratio")))


def test_poor_villages_listed_as_in_the_plan(small, pop):
    _, villages, counties = pop
    assert int(villages.listed.sum()) == small.spec.population.poor_villages == 380
    # Every county with listed villages also has unlisted ones.
    for ci in range(counties.n):
        assert (~villages.listed[villages.county == ci]).any()


def test_same_seed_same_population_other_seed_other(small):
    a, _, _ = build_population(small.spec, small.params, 5, len(PROGRAMME_NAMES))
    b, _, _ = build_population(small.spec, small.params, 5, len(PROGRAMME_NAMES))
    c, _, _ = build_population(small.spec, small.params, 6, len(PROGRAMME_NAMES))
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert not np.array_equal(a.last_income_pc, c.last_income_pc)


def test_population_does_not_depend_on_budgets_or_targeting(small):
    a, _, _ = build_population(small.spec, small.params, 5, len(PROGRAMME_NAMES))
    other = budgets(small, {p: 3.0 for p in PROGRAMME_NAMES}).with_changes({"scenario": {"targeting": "untargeted"}})
    b, _, _ = build_population(other.spec, other.params, 5, len(PROGRAMME_NAMES))
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("scale", [0.02, 0.3])
def test_scale_only_changes_the_sample_size(sanming, scale):
    s = scaled(sanming, scale)
    hh, villages, counties = build_population(s.spec, s.params, 3, len(PROGRAMME_NAMES))
    registered_persons = hh.size[hh.status == Status.POOR].sum()
    expected = sum(round(c.poor_persons * scale) for c in s.spec.population.counties)
    assert registered_persons == expected
    # The rural population (the denominator of incidence) is at the same scale as the sample.
    full = sum(c.poor_persons for c in s.spec.population.counties) / s.params.value("population.initial_incidence")
    assert counties.population.sum() == pytest.approx(full * scale)
