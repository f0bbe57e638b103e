"""The transition period after 2020 (sim/core/regimes/transition.py): households at risk are found
by channels with delays and hit rates, monitored, served and assisted, and their risk is removed;
a run can span 2015–2025 or take up a saved end-2020 state with the same draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, households
from sim import load_scenario, simulate
from sim.core.clock import Clock
from sim.core.regimes import MonthEvents, TransitionRegister
from sim.core.state import Status
from sim.inputs.params import ParameterSet
from sim.model import TuopinModel
from sim.model.checkpoint import Checkpoint

TRANSITION = ROOT / "scenarios" / "sanming-transition.toml"


def _regime(**t):
    """The transition regime alone: the register period's temporary assistance left out."""
    params = ParameterSet.defaults()
    base = {**params.group("transition"), **t}
    register = {**params.group("register"), "assistance_reach": 0.0}
    return TransitionRegister(register, base, Clock(2015, 132, 72))


def _events(n, u, ill=(), cost=(), disaster=None):
    return MonthEvents(np.array(ill, dtype=np.int64), np.array(cost, dtype=np.float32),
                       np.zeros(n, bool) if disaster is None else np.array(disaster),
                       np.array(u, dtype=np.float32))


def test_an_at_risk_household_is_identified_by_the_first_channel_that_finds_it():
    # Delays: self-report 1, cadre 3, matching 2 months; hit rates 0.3, 0.6, 0.5.
    r = _regime()
    hh = households(4, status=[Status.EXITED, Status.EXITED, Status.EXITED, Status.NEVER],
                    last_income_pc=[3000.0, 3000.0, 3000.0, 9000.0], size=1)
    u = [[0.1, 0.9, 0.9, 0.1],   # self-report finds household 0
         [0.1, 0.1, 0.9, 0.1],   # cadres find 0 and 1
         [0.9, 0.1, 0.9, 0.1]]   # matching finds 1
    r.monthly(hh, 72, 4000.0, _events(4, u))  # January 2021: below 1.5 × 4,000 is at risk
    assert hh.identify_at.tolist() == [73, 74, -1, -1]  # 3 was never at risk, 2 not found
    assert not hh.monitored.any()
    r.monthly(hh, 73, 4000.0, _events(4, np.ones((3, 4))))
    assert hh.monitored.tolist() == [True, False, False, False]
    r.monthly(hh, 74, 4000.0, _events(4, np.ones((3, 4))))
    assert hh.monitored.tolist() == [True, True, False, False]


def test_hit_rates_set_the_share_found():
    n = 20_000
    rng = np.random.default_rng(1)
    r = _regime(self_report_hit_rate=0.2, cadre_hit_rate=0.0, matching_hit_rate=0.0)
    hh = households(n, status=Status.EXITED, last_income_pc=1000.0, size=1)
    r.monthly(hh, 72, 4000.0, _events(n, rng.random((3, n))))
    assert (hh.identify_at >= 0).mean() == pytest.approx(0.2, abs=0.01)


def test_a_medical_shock_puts_a_household_at_risk_in_any_month():
    r = _regime(self_report_hit_rate=1.0)
    hh = households(3, status=Status.EXITED, last_income_pc=10000.0, size=2)  # well above the threshold
    r.monthly(hh, 77, 4000.0, _events(3, np.zeros((3, 3)), ill=[0, 1], cost=[10000.0, 100.0]))
    assert hh.identify_at.tolist() == [77 + 1, -1, -1]  # 10,000 > 0.3 × 20,000; 100 is not


def test_monitoring_switched_off_identifies_nobody():
    r = _regime(monitoring=False)
    hh = households(2, status=Status.EXITED, last_income_pc=100.0, size=1)
    r.monthly(hh, 72, 4000.0, _events(2, np.zeros((3, 2))))
    assert (hh.identify_at == -1).all() and r.draws_channels() == 0
    assert not r.assisted(hh).any()


def test_risk_is_removed_after_enough_years_above_the_threshold():
    r = _regime(removal_years=2)
    hh = households(3, status=Status.EXITED, monitored=True, identify_at=72, size=1,
                    housing_safe=True, insured=True, school_ok=True)
    u = np.ones(3, np.float32)
    net = np.array([7000.0, 7000.0, 5000.0])  # threshold 6,000
    for year, expect in ((2021, [True, True, True]), (2022, [False, False, True])):
        r.clock.month = 12 * (year - 2015) + 11
        d = r.decide(hh, net, 4000.0, u, u, np.zeros(3, bool))
        r.apply(hh, d, year, net, 4000.0)
        assert hh.monitored.tolist() == expect, year
    assert hh.identify_at.tolist() == [-1, -1, 72]


def test_monitored_households_are_served_for_the_support_years_and_relocated_keep_support():
    r = _regime(support_years=2)
    hh = households(3, status=Status.EXITED, monitored=[True, True, False], identify_at=[72, 40, -1],
                    relocated=[False, False, True], exit_year=2016)
    r.clock.month = 80
    assert r.served(hh).tolist() == [True, False, False]
    assert r.within_window(hh, 2021, 1).tolist() == [True, False, True]


@pytest.fixture(scope="module")
def transition_small():
    return load_scenario(TRANSITION).with_overrides({"scenario.population_scale": 0.15})


def test_a_run_taken_up_from_a_checkpoint_continues_the_same_households_and_draws(transition_small, tmp_path):
    whole = simulate(transition_small, seed=5)
    model = TuopinModel(transition_small, seed=5)
    for _ in range(72):
        model.step()
    path = model.checkpoint().save(tmp_path / "end-2020.npz")
    later = simulate(transition_small, start=path)
    assert sorted(later.yearly.year.unique()) == list(range(2021, 2026))
    for name in ("yearly", "pathways", "spending", "returns"):
        a = getattr(whole, name)
        pd.testing.assert_frame_equal(a[a.year >= 2021].reset_index(drop=True),
                                      getattr(later, name).reset_index(drop=True), check_dtype=False)
    assert Checkpoint.load(path).month == 72


def test_a_checkpoint_of_other_households_is_refused(transition_small, tmp_path):
    from sim import InputError

    model = TuopinModel(transition_small.with_overrides({"scenario.population_scale": 0.1}), seed=5)
    for _ in range(12):
        model.step()
    with pytest.raises(InputError, match="other households"):
        TuopinModel(transition_small, start=model.checkpoint())


def test_monitoring_lowers_returns_in_the_transition_period(transition_small):
    """Paired: the same seeds with and without monitoring."""
    off = transition_small.with_overrides({"transition.monitoring": False})
    returns = {}
    for name, scenario in (("on", transition_small), ("off", off)):
        rs = [simulate(scenario, seed=s).yearly for s in (1, 2)]
        returns[name] = [y[(y.county == "ALL") & (y.year >= 2021)].returns_households.sum() for y in rs]
        before = [y[(y.county == "ALL") & (y.year <= 2020)].returns_households.sum() for y in rs]
        returns[name + "-before"] = before
    assert returns["on-before"] == returns["off-before"]  # identical until monitoring starts
    assert all(on < 0.6 * off for on, off in zip(returns["on"], returns["off"])), returns


def test_the_transition_tables_report_monitoring(transition_small):
    y = simulate(transition_small, seed=2).yearly
    y = y[y.county == "ALL"].set_index("year")
    assert (y.loc[2015:2020, ["monitored_households_end", "identified_households"]] == 0).all().all()
    assert y.loc[2021, "identified_households"] > 0 and y.loc[2021, "monitored_households_end"] > 0
    assert (y.loc[2021:, "risk_removed_households"] > 0).any()
    assert y.loc[2021:, "monitoring_support_spent"].sum() > 0
    assert (y.returns_monitored_households <= y.returns_households).all()
