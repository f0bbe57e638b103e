"""Behaviour of whole runs: budgets, targeting, determinism and common random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import SANMING_PROGRAMMES, budgets, scaled, snapshot, totals, zero_budgets
from sim.execution.ensemble import run_ensemble
from sim.core.budget import BudgetYear
from sim.model import TuopinModel, simulate
from sim.core.state import FIELDS, Status


def test_run_covers_every_year_and_county(small):
    m = TuopinModel(small, seed=1).run()
    assert m.month == m.n_months == 72
    y = m.results.yearly
    assert sorted(y.year.unique()) == list(range(2015, 2021))
    assert set(y.county) == set(m.counties.names) | {"ALL"}
    assert len(y) == 6 * 13
    # Tables are at full scale: the register starts at the plan's 82,143 persons (up to rounding).
    start = totals(y).set_index("year").poor_persons_start[2015]
    assert start == pytest.approx(82143, abs=13 * 0.5 / 0.1)


def test_zero_budget_leaves_only_spontaneous_exits(small):
    m = TuopinModel(zero_budgets(small), seed=3).run()
    r = m.results
    pw = r.pathways
    assert set(pw.pathway) == set(SANMING_PROGRAMMES) | {"spontaneous"}
    assert (pw[pw.pathway != "spontaneous"].exits_households == 0).all()
    assert pw[pw.pathway == "spontaneous"].exits_households.sum() > 0  # there are exits to attribute
    assert (r.spending.spent == 0).all() and (r.spending.budget == 0).all()
    assert (r.spending.new_enrolments == 0).all() and (r.spending.participants == 0).all()
    assert np.all(m.hh.contribution == 0)
    assert (totals(r.yearly).spent == 0).all()


@pytest.mark.parametrize("targeting", ["precision", "untargeted"])
def test_welfare_lifts_households_without_labour_and_industry_does_not(small, targeting):
    base = scaled(small, 0.1, targeting=targeting)
    outcomes = {}
    for option, only in {"none": set(), "welfare": {"welfare"}, "industry": {"industry"}}.items():
        m = TuopinModel(budgets(base, 1.0, only=only), seed=9)
        no_labour = (m.hh.labour == 0) & (m.hh.status == Status.POOR)
        m.run()
        hh = m.hh
        outcomes[option] = {name: getattr(hh, name)[no_labour].copy()
                            for name in ("status", "exit_year", "returns", "last_income_pc")}
        industry = next(p.index for p in m.programmes if p.name == "industry")
        outcomes[option]["industry_contribution"] = hh.contribution[industry][no_labour].copy()
    assert no_labour.sum() > 100
    # Industry needs labour: households without it end exactly as with no budget at all.
    for name in ("status", "exit_year", "returns", "last_income_pc"):
        assert np.array_equal(outcomes["industry"][name], outcomes["none"][name]), name
    assert np.all(outcomes["industry"]["industry_contribution"] == 0)
    # Welfare lifts them: many more of them ever exit than without it, and before the plan's
    # deadline (from which income at the line is enough) at least twice as many.
    ever = {k: int((v["exit_year"] >= 0).sum()) for k, v in outcomes.items()}
    assert ever["welfare"] >= ever["none"] + 50, ever
    deadline = base.spec.scenario.exit_deadline
    early = {k: int(((v["exit_year"] >= 0) & (v["exit_year"] < deadline)).sum()) for k, v in outcomes.items()}
    assert early["welfare"] >= 2 * max(early["none"], 1), early


def test_more_budget_never_leaves_more_poverty_on_average(small):
    """Person-years on the register and the register at the end fall as the budget rises, and the
    plan's budgets make many more exits that last than none.

    Exits that last are not asked to rise with every step of money: money also keeps households
    from becoming poor (temporary assistance and the dibao's December settlement draw on the
    welfare budget's remainder), and a household that never entered the register never exits it.
    With the calibrated parameter sets, doubling the half budget has about 780 fewer persons enter
    the register in 2017–2020 and about 460 fewer exits that last (6 replicates)."""
    from sim.analysis.compare import outcomes

    sustained, years, poor = [], [], []
    for factor in (0.0, 0.5, 1.0, 2.0):
        ens = run_ensemble(budgets(small, factor), seed=11, replicates=6, workers=1, progress=False)
        o = outcomes(ens, str(factor))
        sustained.append(o.sustained_exits_persons.mean())
        years.append(o.person_years_registered.mean())
        poor.append(o.registered_persons_end.mean())
    assert all(b < a for a, b in zip(years, years[1:])), years
    assert all(b <= a for a, b in zip(poor, poor[1:])), poor
    assert sustained[2] > 1.2 * sustained[0], sustained  # the plan's budgets make a real difference


def test_same_seed_same_results_other_seed_other(small):
    a = TuopinModel(small, seed=21).run().results
    b = TuopinModel(small, seed=21).run().results
    c = TuopinModel(small, seed=22).run().results
    for name in ("yearly", "pathways", "spending"):
        pd.testing.assert_frame_equal(a.tables()[name], b.tables()[name])
    assert not a.yearly.equals(c.yearly)
    assert not np.allclose(a.yearly.exits_persons, c.yearly.exits_persons)


def test_a_run_taken_a_year_at_a_time_is_the_same_run(small):
    """``run_through(year)`` stops after that year's December and ``run`` goes on from there;
    the register's tables alone are those of ``results``, without the spending columns."""
    whole = TuopinModel(small, seed=21).run()
    fresh = TuopinModel(small, seed=21).ledger.pathways_table()  # before any assessment: no rows
    assert len(fresh) == 0 and list(fresh.columns) == list(whole.results.pathways.columns)
    parts = TuopinModel(small, seed=21).run_through(2016)
    assert parts.month == 24 and sorted(parts.results.yearly.year.unique()) == [2015, 2016]
    y2016 = whole.results.yearly.query("year == 2016").set_index("county").poor_persons_end
    np.testing.assert_array_equal(parts.ledger.persons_end(2016), y2016[whole.counties.names])
    parts.run_through(2016).run()
    for name in ("yearly", "pathways", "spending", "incomes"):
        pd.testing.assert_frame_equal(parts.results.tables()[name], whole.results.tables()[name])
    register = whole.register_tables()
    yearly = whole.results.yearly
    assert set(yearly.columns) - set(register["yearly"].columns) == {"budget", "spent", "cost_per_exit_household"}
    pd.testing.assert_frame_equal(register["yearly"], yearly[register["yearly"].columns])
    for name in ("pathways", "incomes", "start"):
        pd.testing.assert_frame_equal(register[name], whole.results.tables()[name])


def test_a_model_without_a_seed_draws_one_and_records_it(small):
    """As Mesa models do (batch_run passes seed=None for each iteration): a fresh seed each time,
    kept in model.seed so that the run can be made again. simulate() uses the scenario's seed."""
    a, b = TuopinModel(small), TuopinModel(small)
    assert a.seed != b.seed
    again = TuopinModel(small, seed=a.seed)
    assert np.array_equal(a.hh.last_income_pc, again.hh.last_income_pc)
    assert not np.array_equal(a.hh.last_income_pc, b.hh.last_income_pc)
    assert simulate(small).seed == small.spec.scenario.seed


def _recording(model):
    """Record every draw the model makes: {(stream, month): uniforms}."""
    draws = {}
    original = model.draw

    def draw(stream):
        u = original(stream)
        draws[(stream, model.month)] = u.copy()
        return u

    model.draw = draw
    return draws


def test_budget_options_share_households_and_shocks(small):
    """Common random numbers: two budget options run with one seed differ by policy only."""
    options = [budgets(small, 1.0), budgets(small, {"health": 0.0, "welfare": 3.0, "industry": 0.2})]
    models = [TuopinModel(s, seed=33) for s in options]
    before = [snapshot(m.hh) for m in models]
    assert before[0].keys() == before[1].keys()
    for name in before[0]:
        assert np.array_equal(before[0][name], before[1][name]), name
    assert set(FIELDS) <= set(before[0])
    assert np.array_equal(models[0].hh.illness_rate, models[1].hh.illness_rate)
    draws = [_recording(m) for m in models]
    markets = [[], []]
    for k, m in enumerate(models):
        while m.month < m.n_months:
            m.step()
            if m.month % 12 == 1:
                markets[k].append(m.counties.market_factor.copy())
    for stream in ("illness", "disability", "job_loss", "entry_detection"):
        keys = sorted(k for k in draws[0] if k[0] == stream)
        assert len(keys) >= 6, stream
        assert keys == sorted(k for k in draws[1] if k[0] == stream), stream
        for key in keys:
            assert np.array_equal(draws[0][key], draws[1][key]), key
    ill = [sorted(k for k in d if k[0] == "illness") for d in draws]
    assert len(ill[0]) == 72
    assert all(np.array_equal(a, b) for a, b in zip(markets[0], markets[1]))
    # ... while the outcomes do differ (the options are different policies).
    assert not np.array_equal(models[0].hh.status, models[1].hh.status)


def test_no_household_is_both_continuing_and_a_new_candidate(small, monkeypatch):
    """A household is funded at most once per programme and year: a continuing participant is
    renewed, not enrolled again (otherwise its cost is counted twice against the budget)."""
    original = BudgetYear.offer
    calls = []

    def checked(self, prog, hh, served, year):
        offer = original(self, prog, hh, served, year)
        q = offer.households
        calls.append((year, prog.name, int((q.tier == 0).sum()), len(q.idx) - len(np.unique(q.idx))))
        return offer

    monkeypatch.setattr(BudgetYear, "offer", checked)
    m = TuopinModel(small, seed=1).run()
    assert len(calls) == len(SANMING_PROGRAMMES) * len(m.spec.years)
    assert sum(c[2] for c in calls) > 0
    overlaps = [c for c in calls if c[3]]
    assert not overlaps, f"(year, programme, continuing, queued twice): {overlaps}"


@pytest.mark.parametrize("scale", [0.05, 0.2])
def test_yearly_budget_and_spending_are_at_full_scale(sanming, scale):
    m = TuopinModel(scaled(sanming, scale), seed=2).run()
    r = m.results
    y = totals(r.yearly).set_index("year")
    for year in m.spec.years:
        assert y.budget[year] == pytest.approx(
            m.params.value("budget.scale") * sum(m.spec.budget(p, year) for p in SANMING_PROGRAMMES), rel=1e-9)
    sp = r.spending[r.spending.county == "ALL"].groupby("year").spent.sum()
    assert np.allclose(y.spent.loc[sp.index].values, sp.values, rtol=1e-9)
    assert (y.spent <= y.budget * (1 + 1e-9)).all()
    # cost per exit is spending over exits
    assert np.allclose(y.cost_per_exit_household, y.spent / y.exits_households)


@pytest.mark.parametrize("scale", [0.1, 1.0])
def test_poor_village_counts_are_not_rescaled(sanming, scale):
    m = TuopinModel(scaled(sanming, scale), seed=2).run()
    y = totals(m.results.yearly).set_index("year")
    listed = [float(m.spec.population.poor_villages)] + list(y.poor_villages_end.values)
    # The list only shrinks, by the villages that left it that year; it starts at the plan's 380.
    assert np.allclose(np.array(listed[:-1]) - y.villages_exited.values, y.poor_villages_end.values)
    assert y.poor_villages_end.max() <= 380
    assert y.poor_villages_end.iloc[-1] == int(m.villages.listed.sum())


def test_return_rate_and_incidence(small):
    y = TuopinModel(small, seed=4).run().results.yearly
    has = y.exited_households_start > 0
    assert np.allclose(y.return_rate[has], y.returns_households[has] / y.exited_households_start[has])
    assert y.return_rate[~has].isna().all()
    assert np.allclose(y.incidence, y.poor_persons_end / y.rural_population)
    assert (y.incidence >= 0).all() and (y.incidence < 0.2).all()
    assert (y[y.year == y.year.min()].incidence > 0).all()  # a county's register may empty later


def test_programme_effects_on_the_guarantees(small):
    """Relocation makes housing safe and ends life in the relocation area once the move is done;
    education puts children in school; health insures."""
    m = TuopinModel(budgets(small, 2.0), seed=6).run()
    hh = m.hh
    idx = {p.name: p.index for p in m.programmes}
    delay = m.params.value("programme.relocation.delay_months")
    moved = (hh.enrolled_month[idx["relocation"]] >= 0) & (hh.enrolled_month[idx["relocation"]] + delay < m.n_months)
    assert moved.sum() > 0
    assert hh.housing_safe[moved].all() and not hh.relocation_area[moved].any()
    schooled = hh.enrolled_month[idx["education"]] >= 0
    assert schooled.sum() > 0 and hh.school_ok[schooled].all()
    insured = hh.enrolled_month[idx["health"]] >= 0
    assert insured.sum() > 0 and hh.insured[insured].all()
    # Only registered households are ever enrolled: near-line ones only after they entered.
    ever = (hh.enrolled_month >= 0).any(axis=0)
    assert np.all(hh.entry_year[ever] >= 0)


def test_precision_targeting_reaches_matched_causes_first(small):
    """With a tight industry budget, precision targeting funds households whose cause matches
    the programme before others; untargeted allocation does not look at causes."""
    from sim.core.state import Cause

    shares = {}
    for targeting in ("precision", "untargeted"):
        s = budgets(scaled(small, 0.1, targeting=targeting), 0.3, only={"industry"})
        m = TuopinModel(s, seed=8)
        labour_at_start = m.hh.labour.copy()
        m.run()
        industry = next(p.index for p in m.programmes if p.name == "industry")
        enrolled = m.hh.enrolled_month[industry] == 0  # the first January's enrolments
        assert enrolled.sum() > 20
        matched = np.isin(m.hh.cause, [Cause[c.upper()] for c in
                                       m.params.value("programme.industry.matched_causes")])
        shares[targeting] = matched[enrolled].mean()
        if targeting == "precision":
            assert np.all(labour_at_start[enrolled] > 0)  # industry needs labour
    assert shares["precision"] > 0.95
    assert shares["untargeted"] < 0.6


def test_budget_shares_split_every_budget_between_counties(small):
    names = [c.name for c in small.spec.population.counties]
    shares = {name: 0.0 for name in names}
    shares[names[0]], shares[names[1]] = 0.75, 0.25
    m = TuopinModel(small.with_changes({"budget_shares": shares}), seed=1).run()
    sp = m.results.spending
    for (year, prog), g in sp[sp.county != "ALL"].groupby(["year", "programme"]):
        total = m.spec.budget(prog, year) * m.params.value("budget.scale")
        by = g.set_index("county").budget
        assert by[names[0]] == pytest.approx(0.75 * total) and by[names[1]] == pytest.approx(0.25 * total)
        assert (by.drop([names[0], names[1]]) == 0).all()
    others = sp[~sp.county.isin(names[:2] + ["ALL"])]
    assert (others.spent == 0).all() and (others.new_enrolments == 0).all()


def test_shorter_run_of_other_years(small):
    s = small.with_changes({"scenario": {"start_year": 2016, "end_year": 2018}, "population": {"base_year": 2015},
                            "budgets": {p: 2e6 for p in SANMING_PROGRAMMES}})
    m = TuopinModel(s, seed=1).run()
    assert m.n_months == 36
    assert sorted(m.results.yearly.year.unique()) == [2016, 2017, 2018]


def test_industry_project_failure_is_the_same_draw_whichever_year_a_household_enrols(sanming):
    """Common random numbers: two budget options that enrol the same household in different years
    must give its project the same fate."""
    base = sanming.with_changes({"scenario": {"population_scale": 0.2}})
    low = base.with_changes({"budgets": {"industry": {2015: 2e6, 2016: 30e6, 2017: 30e6, 2018: 30e6,
                                                      2019: 30e6, 2020: 30e6}}})
    high = base.with_changes({"budgets": {"industry": 30e6}})
    a, b = TuopinModel(low, seed=11).run(), TuopinModel(high, seed=11).run()
    i = a.programmes[0].index
    both = (a.hh.enrolled_month[i] >= 0) & (b.hh.enrolled_month[i] >= 0)
    moved = both & (a.hh.enrolled_month[i] != b.hh.enrolled_month[i])
    assert moved.sum() > 50  # the options really enrol many households in different years
    failed_a = a.hh.benefit[i] == 0
    failed_b = b.hh.benefit[i] == 0
    assert np.array_equal(failed_a[both], failed_b[both])
    assert failed_a[both].any() and (~failed_a[both]).any()


def test_education_spending_is_what_households_receive(sanming):
    """The grant is paid in full: a year's education spending equals the grants households got."""
    loaded = sanming.with_changes({"scenario": {"population_scale": 0.2}})
    model = TuopinModel(loaded, seed=2)
    for _ in range(12):
        model.step()
    edu = next(p for p in model.programmes if p.name == "education")
    received = float(model.hh.contribution[edu.index].sum())
    spent = sum(float(r.spent.sum()) for r in model.budget.ledger.records if r.programme == "education")
    assert spent > 0
    assert received == pytest.approx(spent, rel=1e-4)


def test_health_is_credited_against_what_the_household_would_have_paid(sanming):
    """Uninsured before enrolment: the programme saves 1 − 0.1 of an illness's cost; insured
    before: 0.45 − 0.1. The credit (contribution) must follow."""
    model = TuopinModel(sanming.with_changes({"scenario": {"population_scale": 0.3},
                                              "budgets": {"health": 1e9}}), seed=5)
    for _ in range(12):
        model.step()
    hh = model.hh
    health = next(p for p in model.programmes if p.name == "health")
    p = model.params
    covered_share = p.value("programme.health.out_of_pocket_share")
    insured_share = p.value("shocks.out_of_pocket_share_insured")
    ill = (hh.medical_oop > 0) & (hh.enrolled_month[health.index] >= 0)
    ratio = hh.contribution[health.index] / np.where(ill, hh.medical_oop, 1)
    by_programme = ill & hh.insured_by_health
    before = ill & ~hh.insured_by_health
    assert by_programme.sum() > 5 and before.sum() > 5
    assert np.allclose(ratio[by_programme], (1 - covered_share) / covered_share, rtol=1e-3)
    assert np.allclose(ratio[before], (insured_share - covered_share) / covered_share, rtol=1e-3)
