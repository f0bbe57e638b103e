"""The model as Mesa users know it (sim/model): county agents that act, a DataCollector,
``mesa.batch_run``, and the month's stages as data."""

from __future__ import annotations

import warnings

import mesa
import numpy as np
import pandas as pd
import pytest

from helpers import SANMING, scaled, totals
from sim.model import STAGES, County, TuopinModel


def test_datacollector_series_match_the_tables(small):
    model = TuopinModel(small, seed=3).run()
    df = model.datacollector.get_model_vars_dataframe()
    assert len(df) == model.n_months + 1  # the set-up, then every month
    assert list(df.year[:2]) == [2014, 2015] and df.month.iloc[0] == 12 and df.month.iloc[-1] == 12
    y = totals(model.results.yearly).set_index("year")
    decembers = df[df.month == 12].iloc[1:].set_index("year")
    assert np.allclose(decembers.registered_persons, y.poor_persons_end)
    assert np.allclose(decembers.registered_households, y.poor_households_end)
    assert np.allclose(decembers.exits_persons, y.exits_persons)
    assert np.allclose(decembers.returns_persons, y.returns_persons)
    assert np.allclose(decembers.entries_persons, y.entries_persons)
    spent = sum(decembers[f"spent_{p.name}"] for p in model.programmes)
    assert np.allclose(spent, y.spent)
    # The register's mean income per person rises as incomes grow, until the plan's deadline
    # (after it, the register holds only the last December's entrants and returners).
    income = decembers.mean_income_registered
    assert df.mean_income_registered.iloc[0] < income[model.spec.scenario.exit_deadline - 1]
    hh = model.hh
    registered = model.regimes.now().served(hh)
    size = hh.size[registered].astype(np.float64)
    assert income.iloc[-1] == pytest.approx(float((hh.last_income_pc[registered] * size).sum() / size.sum()))
    # County agents report their year's budget and what January's funding spent of it.
    agents = model.datacollector.get_agent_vars_dataframe()
    assert set(agents.county) == set(model.counties.names)
    january = agents.xs(1 + 12, level="Step")  # January of the second year
    assert (january.spent <= january.budget * (1 + 1e-9)).all() and january.budget.sum() > 0


def test_a_run_that_collects_nothing_has_the_same_tables(small):
    """``collect=False`` (a calibration's candidates) leaves the series empty, and nothing else."""
    quiet = TuopinModel(small, seed=3, collect=False).run()
    assert quiet.datacollector.get_model_vars_dataframe().empty
    full = TuopinModel(small, seed=3).run().results.tables()
    for name, table in quiet.results.tables().items():
        pd.testing.assert_frame_equal(table, full[name], check_exact=True)


def test_counties_are_agents_that_fund_their_own_part(small):
    model = TuopinModel(small, seed=4)
    counties = list(model.agents_by_type[County])
    assert [c.name for c in counties] == model.counties.names
    decisions = []
    original = model.budget.commit

    def commit(hh, offer, county_decisions, year):
        decisions.append((offer.programme, offer, county_decisions))
        original(hh, offer, county_decisions, year)

    model.budget.commit = commit
    model.step()  # January: for each programme, each county funds its part of the programme's lists
    assert [d[0] for d in decisions] == model.programmes
    for programme, offer, county_decisions in decisions:
        assert len(county_decisions) == len(counties)
        for c, (village, households) in zip(counties, county_decisions):
            assert village.spent + households.spent <= offer.budget[c.index] * (1 + 1e-12)
        if not programme.once:
            continue  # welfare: households already on dibao carry enrolment month 0 from the start
        # What the counties decided is what the households got.
        new = np.flatnonzero(model.hh.enrolled_month[programme.index] == 0)
        per_county = np.bincount(model.hh.county[new], minlength=model.counties.n)
        funded = [max(h.funded - h.continuing, 0) for _, h in county_decisions]
        assert np.array_equal(per_county, funded), programme.name
    # Each county agent reports the year's budget and what it spent of it, at full size.
    assert sum(c.budget for c in counties) == pytest.approx(
        model.params.value("budget.scale") * sum(model.spec.budget(p.name, 2015) for p in model.programmes))
    assert all(0 <= c.spent <= c.budget for c in counties)


def test_batch_run_as_mesa_users_expect():
    """``mesa.batch_run`` with a budget swept by its dotted key and seeds given as ``rng``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        rows = mesa.batch_run(TuopinModel, parameters={
            "scenario": str(SANMING), "scenario.population_scale": 0.03,
            "budgets.employment": [0.0, 2e7]}, rng=[1, 2], max_steps=1000, display_progress=False)
    every_county = pd.DataFrame(rows)
    assert len(every_county) == 4 * 12  # 2 budgets × 2 seeds, the last step, a row per county agent
    assert set(every_county.county) == {c.name for c in scaled_counties()}
    df = every_county.drop_duplicates("RunId")
    assert set(df["budgets.employment"]) == {0.0, 2e7}
    assert (df.Step == 72).all() and (df.year == 2020).all()
    assert (df[df["budgets.employment"] == 0.0].spent_employment == 0).all()
    assert (df[df["budgets.employment"] == 2e7].spent_employment > 0).all()
    # The same seed and budget give the same run; iterations (seed None each time) differ.
    again = mesa.batch_run(TuopinModel, parameters={"scenario": str(SANMING), "scenario.population_scale": 0.03,
                                                      "budgets.employment": 0.0}, rng=[1], display_progress=False)
    first = df[(df["budgets.employment"] == 0.0) & (df.iteration == 0)].iloc[0]
    assert again[0]["registered_persons"] == first.registered_persons
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        iters = mesa.batch_run(TuopinModel, parameters={"scenario": str(SANMING), "scenario.population_scale": 0.03},
                               iterations=2, display_progress=False)
    runs = pd.DataFrame(iters)
    # Two seeds drawn at random: two different runs (the register at the end alone can coincide
    # at a 3 % sample, where a few households remain; the county agents' spending does not).
    assert runs.RunId.nunique() == 2
    per_run = runs.groupby("RunId")[["registered_persons", "spent", "budget"]].apply(lambda d: tuple(d.to_numpy().ravel()))
    assert per_run.nunique() == 2


def scaled_counties():
    from sim import load_scenario

    return load_scenario(SANMING).spec.population.counties


def test_stages_are_listed_in_order_and_due_when_they_say():
    names = [s.name for s in STAGES]
    assert names == ["fund", "new_year", "yearly_shocks", "monthly_shocks", "accrue", "costs", "monitor", "flows",
                     "assess"]
    from sim.core.clock import Clock

    due = {m: [s.name for s in STAGES if s.due(Clock(2015, 24, m))] for m in (0, 5, 11)}
    assert due[0] == names[:-1]
    assert due[5] == ["monthly_shocks", "accrue", "costs", "monitor", "flows"]
    assert due[11] == ["monthly_shocks", "accrue", "costs", "monitor", "flows", "assess"]
    assert all(s.does for s in STAGES)


def test_stage_timing_covers_every_stage(small):
    model = TuopinModel(small, seed=1)
    model.stage_seconds = {}
    model.run()
    assert list(model.stage_seconds) == [s.name for s in STAGES]
    assert all(t > 0 for t in model.stage_seconds.values())


def test_overrides_as_keyword_arguments_are_checked_before_anything_runs(small):
    from sim.inputs.errors import InputError

    with pytest.raises(InputError, match="budgets.employmnet"):
        TuopinModel(small, seed=1, **{"budgets.employmnet": 1.0})
    m = TuopinModel(small, seed=1, **{"budgets.employment": 1.0})
    assert m.spec.budget("employment", 2015) == 1.0
