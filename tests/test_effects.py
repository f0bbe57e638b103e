"""Programme effects that evolve (sim/core/programme.py and the programme modules): effects that
mature, keep their real value, stop or persist when support ends; public-welfare posts for
households without full labour; health cover that tapers after 2020."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import ROOT, scaled
from sim import load_scenario
from sim.core.state import Category, Status
from sim.model import TuopinModel


def _programme(model, name):
    return next(p for p in model.programmes if p.name == name)


def _first_cohort_flow(model, name, months):
    """Steps ``months`` and returns each month's flow of the programme to households enrolled in
    the first January (mean yuan per household)."""
    p = _programme(model, name)
    flows = []
    for _ in range(months):
        before = model.hh.contribution[p.index].copy()
        model.step()
        cohort = model.hh.enrolled_month[p.index] == 0
        if model.clock.month % 12 == 1:  # a new January reset the contributions
            before[:] = 0
        flows.append(float((model.hh.contribution[p.index] - before)[cohort].mean()))
    return flows


def test_an_industry_project_earns_half_in_its_first_year_and_all_from_its_second(sanming):
    """Household by household: a first-January project with the same benefit in both months flows
    twice as much a month in its second year as in its first (households in a village whose own
    industry project began paying meanwhile, which adds to the same contribution, left out)."""
    model = TuopinModel(scaled(sanming, 0.1).with_overrides({"programme.industry.failure_rate": 0.0,
                                                             "programme.industry.indexed": False,
                                                             "shocks.market_shock_rate": 0.0}), seed=3)
    p = _programme(model, "industry")
    delay = model.params.value("programme.industry.delay_months")
    seen = {}
    for month in range(12 + delay + 2):
        before = model.hh.contribution[p.index].copy()
        if month % 12 == 0:
            before[:] = 0  # January resets the year's contributions
        model.step()
        if month in (delay + 1, 12 + delay + 1):
            seen[month] = (model.hh.contribution[p.index] - before, model.hh.benefit[p.index].copy())
    (flow1, benefit1), (flow2, benefit2) = seen[delay + 1], seen[12 + delay + 1]
    village_project = model.villages.project_started[p.index][model.hh.village] >= 0
    cohort = (model.hh.enrolled_month[p.index] == 0) & (benefit1 == benefit2) & (flow1 > 0) & ~village_project
    assert cohort.sum() > 100
    assert np.allclose(flow2[cohort], 2 * flow1[cohort], rtol=1e-5)


def test_an_indexed_effect_keeps_its_real_value(sanming):
    model = TuopinModel(scaled(sanming, 0.05), seed=3)
    industry = _programme(model, "industry")
    for _ in range(36):
        model.step()
    assert industry.price_index() == pytest.approx(model.line(2018) / model.line(2014))
    welfare = _programme(model, "welfare")
    assert welfare.price_index() == 1.0  # the top-up is set in current yuan each year


def test_posts_go_to_households_with_light_work_and_pay_what_they_cost(sanming):
    loaded = scaled(sanming, 0.2).with_overrides({"budgets.employment": 3e7,
                                                  "programme.employment.village_share": 0.0})
    model = TuopinModel(loaded, seed=4)
    model.step()  # January: placements and posts
    hh = model.hh
    e = _programme(model, "employment")
    posted = hh.post & (hh.enrolled_month[e.index] >= 0)
    market = ~hh.post & (hh.enrolled_month[e.index] >= 0)
    assert posted.sum() > 20 and market.sum() > 20
    assert (hh.labour[posted] == 0).all() and (hh.light_work[posted] > 0).all()
    assert (hh.labour[market] > 0).mean() > 0.99  # able when placed (a rare disability this month)
    for _ in range(11):
        model.step()
    wage = model.params.value("programme.employment.post_wage") * model.line(2015) / model.line(2014)  # 2015's prices
    # A post is paid every month of the year, whatever the labour market does.
    assert np.allclose(hh.contribution[e.index, posted & (hh.enrolled_month[e.index] == 0)],
                       wage * (12 - e.p["delay_months"]) / 12, rtol=1e-4)
    # Posts are renewed the next January while the household is served or within its window.
    model.step()
    renewed = posted & (hh.support_end[e.index] == 24)
    assert renewed.sum() >= 0.9 * posted.sum()


def test_without_support_after_exit_support_stops_the_january_after_exit(sanming):
    loaded = scaled(sanming, 0.1).with_overrides({"programme.health.continue_after_exit_years": 0})
    model = TuopinModel(loaded, seed=2)
    health = _programme(model, "health")
    for _ in range(13):
        model.step()
    exited = model.hh.status == Status.EXITED
    assert exited.sum() > 50
    assert not health.supported(model.hh)[exited].any()
    kept = TuopinModel(scaled(sanming, 0.1), seed=2)
    for _ in range(13):
        kept.step()
    assert _programme(kept, "health").supported(kept.hh)[kept.hh.status == Status.EXITED].mean() > 0.9


def test_extraordinary_health_cover_tapers_for_exited_households_after_2020():
    scenario = scaled(load_scenario(ROOT / "scenarios" / "sanming-transition.toml"), 0.1)
    model = TuopinModel(scenario, seed=6)
    health = _programme(model, "health")
    share = {}
    while not model.clock.done:
        model.step()
        if model.clock.month % 12 == 1 and model.clock.year >= 2021:  # just after a January
            year = model.clock.year
            hh = model.hh
            general = np.isin(hh.category, [Category.GENERAL, Category.NEAR_LINE])  # not dibao, not five-guarantee
            exited = (hh.status == Status.EXITED) & general & (hh.enrolled_month[health.index] >= 0)
            share[year] = float(health.supported(hh)[exited].mean())
    assert share[2021] == pytest.approx(0.8, abs=0.05) and share[2023] == pytest.approx(0.4, abs=0.05)
    assert share[2025] == 0.0
