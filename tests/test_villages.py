"""Village-level projects (sim/villages.py): funded within budget, paying only their villages."""

import numpy as np
import pytest

from sim.core.population import build_population
from sim.core.state import Status
from sim.model import TuopinModel


def initially_listed(model):
    """The poor-village list at the start of the run (villages leave it, never join it)."""
    return build_population(model.spec, model.params, model.seed, len(model.programmes))[1].listed


@pytest.fixture(scope="module")
def village_run(sanming):
    """Only the industry programme, all of it spent on village projects."""
    changes = {
        "scenario": {"population_scale": 0.2},
        "budgets": {p: 0.0 for p in ("employment", "relocation", "education", "health", "welfare")}
        | {"industry": 40e6},
        "parameters": {"programme.industry.village_share": 1.0, "budget.scale": 1.0},
    }
    model = TuopinModel(sanming.with_changes(changes), seed=3)
    model.run()
    return model


def test_projects_are_funded_in_listed_villages_within_budget(village_run):
    projects = village_run.programmes[0].villages
    funded = projects.started >= 0
    assert funded.sum() > 0
    # Precision targeting: only villages on the poor-village list at funding time.
    assert np.all(initially_listed(village_run)[funded])
    spending = village_run.results.spending
    ind = spending[(spending.programme == "industry") & (spending.county != "ALL")]
    assert (ind.spent <= ind.budget + 1e-6).all()
    assert ind.new_village_projects.sum() == funded.sum()


def test_project_income_reaches_only_households_of_funded_villages(village_run):
    hh = village_run.hh
    projects = village_run.programmes[0].villages
    # Budget the projects could not use goes to households; look at households never enrolled.
    not_enrolled = hh.enrolled_month[0] < 0
    contrib = hh.contribution[0]
    in_funded = projects.started[hh.village] >= 0
    assert np.all(contrib[not_enrolled & ~in_funded] == 0)
    assert contrib[not_enrolled & in_funded].sum() > 0
    # No household gets more than the cap from projects in the last year.
    cap = village_run.params.value("programme.industry.village_max_per_household")
    assert contrib[not_enrolled].max() <= cap + 1e-3
    # Households without labour do not fit industry and draw nothing from its projects. Who draws
    # is settled each January, so a household that lost its labour during the year keeps that
    # year's share (and an enrolled one its own project's income): only a few may have any.
    no_labour = not_enrolled & (hh.labour == 0)
    assert no_labour.sum() > 100 and (contrib[no_labour] > 0).mean() < 0.02


def test_no_village_share_means_no_projects(sanming):
    model = TuopinModel(sanming.with_changes({
        "scenario": {"population_scale": 0.05},
        "parameters": {"programme.industry.village_share": 0.0, "programme.employment.village_share": 0.0}}), seed=1)
    assert all(p.villages is None for p in model.programmes)
    model.run()
    assert (model.results.spending.new_village_projects == 0).all()


def test_untargeted_projects_may_go_to_any_village(sanming):
    changes = {
        "scenario": {"population_scale": 0.2, "targeting": "untargeted"},
        "budgets": {"industry": 80e6},
        "parameters": {"programme.industry.village_share": 1.0, "budget.scale": 1.0},
    }
    model = TuopinModel(sanming.with_changes(changes), seed=3).run()
    funded = model.programmes[0].villages.started >= 0
    assert funded.sum() > 0 and (~initially_listed(model)[funded]).any()
    assert np.all(model.hh.status[model.hh.contribution[0] > 0] != Status.NEVER)
