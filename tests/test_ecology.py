"""The seventh programme, ecological compensation (forest-ranger posts): added as one module, one
parameter file and its place in the registry. Without an ecology budget nothing else moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, scaled
from sim import load_scenario, simulate
from sim.model import TuopinModel


@pytest.fixture(scope="module")
def yunnan_small():
    return scaled(load_scenario(ROOT / "scenarios" / "yunnan.toml"), 0.01)


def test_a_scenario_without_an_ecology_budget_does_not_run_it(sanming):
    model = TuopinModel(scaled(sanming, 0.05), seed=1)
    assert "ecology" not in [p.name for p in model.programmes]
    assert not hasattr(model.hh, "ecological_area")


def test_an_ecology_budget_of_zero_changes_no_other_outcome(yunnan_small):
    """Naming the programme with no money adds its rows and its own draws, nothing else: the
    register, exits, returns and every other programme's spending are as before (CRN)."""
    without = simulate(yunnan_small, seed=3)
    with_zero = simulate(yunnan_small.with_overrides({"budgets.ecology": 0.0}), seed=3)
    cols = ["poor_persons_end", "exits_persons", "returns_persons", "entries_persons", "spent"]
    assert np.array_equal(without.yearly[cols].values, with_zero.yearly[cols].values)
    other = with_zero.spending[with_zero.spending.programme != "ecology"].reset_index(drop=True)
    pd.testing.assert_frame_equal(without.spending[other.columns].reset_index(drop=True), other)  # NaN = NaN
    eco = with_zero.pathways[with_zero.pathways.pathway == "ecology"]
    assert len(eco) > 0 and (eco.exits_households == 0).all()


def test_posts_go_to_able_households_in_ecological_areas_within_budget(yunnan_small):
    model = TuopinModel(yunnan_small.with_overrides({"budgets.ecology": 3e8}), seed=4).run()
    eco = next(p for p in model.programmes if p.name == "ecology")
    hh = model.hh
    posted = hh.enrolled_month[eco.index] >= 0
    assert posted.sum() > 50
    assert hh.ecological_area[posted].all()
    area = hh.ecological_area.mean()
    assert area == pytest.approx(model.params.value("programme.ecology.area_share"), abs=0.03)
    sp = model.results.spending
    eco_rows = sp[(sp.programme == "ecology") & (sp.county != "ALL")]
    assert (eco_rows.spent <= eco_rows.budget * (1 + 1e-9)).all() and eco_rows.spent.sum() > 0
    pw = model.results.pathways
    assert pw[(pw.pathway == "ecology") & (pw.county == "ALL")].exits_persons.sum() > 0


def test_a_post_pays_its_wage_month_by_month(yunnan_small):
    model = TuopinModel(yunnan_small.with_overrides({"budgets.ecology": 3e8}), seed=5)
    for _ in range(12):
        model.step()
    eco = next(p for p in model.programmes if p.name == "ecology")
    hh = model.hh
    wage = model.params.value("programme.ecology.cost_per_year")
    delay = model.params.value("programme.ecology.delay_months")
    posted = hh.enrolled_month[eco.index] == 0
    assert posted.sum() > 20
    assert (hh.labour[posted] > 0).mean() > 0.95  # able when posted; a rare disability since may take it
    # Paid from the month after the delay to December: (12 - delay) twelfths of the wage.
    assert np.allclose(hh.contribution[eco.index, posted], wage * (12 - delay) / 12, rtol=1e-5)
