"""Submodels as functions of explicit inputs, each tested on a handful of households without
building a model: shocks, income, costs, the allocation routine, the budget year's settlement and
the 2014–2020 register's decisions."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import households
from sim.core import costs, income, shocks
from sim.core.allocation import fund_prefix
from sim.core.budget import fund_claims
from sim.core.clock import Clock
from sim.core.regimes import TargetedRegister
from sim.core.state import Cause, Status

S = {"illness_rate": 0.01, "illness_rate_multiplier_chronic": 2.5, "illness_cost_mean": 12000.0,
     "illness_cost_sigma": 0.8, "out_of_pocket_share_insured": 0.45, "illness_lost_months": 3,
     "disability_rate": 0.1, "job_loss_rate": 0.2, "rehire_rate": 0.5}


def test_illness_bills_the_ill_and_takes_their_work():
    hh = households(4, illness_rate=0.5, insured=[True, False, True, False])
    bill = shocks.illness(hh, S, np.array([0.1, 0.2, 0.7, 0.9], dtype=np.float32))
    assert bill.idx.tolist() == [0, 1]
    assert bill.share.tolist() == pytest.approx([0.45, 1.0])
    assert (bill.cost > 0).all() and hh.sick_months.tolist() == [3, 3, 0, 0]
    # The cost comes from the event's own uniform: a lower draw, a lower cost (same rate).
    assert bill.cost[0] < bill.cost[1]


def test_chronic_causes_fall_ill_more_often():
    rates = shocks.illness_rates(np.array([Cause.ILLNESS, Cause.SKILLS, Cause.DISABILITY]), S)
    assert rates.tolist() == pytest.approx([0.025, 0.01, 0.025])


def test_disability_takes_one_worker_and_his_share_of_earnings():
    hh = households(3, labour=[2, 1, 0], farm=1000.0, wage=500.0, year_farm=1000.0, year_wage=500.0)
    shocks.disability(hh, S, np.array([0.05, 0.5, 0.05], dtype=np.float32))
    assert hh.labour.tolist() == [1, 1, 0]
    assert hh.farm.tolist() == pytest.approx([500.0, 1000.0, 1000.0])
    assert hh.year_wage.tolist() == pytest.approx([250.0, 500.0, 500.0])


def test_jobs_are_lost_and_found_again():
    hh = households(4, employed=[True, True, False, False], had_job=[True, True, True, False], labour=1)
    shocks.jobs(hh, S, np.array([0.1, 0.3, 0.3, 0.3], dtype=np.float32))
    assert hh.employed.tolist() == [False, True, True, False]  # only a household that had a job looks


def test_a_market_shock_and_a_disaster_cut_this_years_farm_income():
    from sim.core.state import Counties, Villages

    hh = households(2, farm=1000.0, wage=100.0, county=[0, 1], village=[0, 1])
    villages, counties = Villages(2, 1), Counties(["a", "b"], ["", ""], 1)
    y = {"market_shock_rate": 0.5, "market_shock_loss": 0.2, "disaster_rate": 0.5, "disaster_farm_loss": 0.5,
         "income_noise_sigma": 0.0}
    shocks.yearly(hh, villages, counties, y, np.array([0.1, 0.9], np.float32), np.array([0.9, 0.1], np.float32),
                  np.zeros(2, np.float32))
    assert counties.market_factor.tolist() == pytest.approx([0.8, 1.0])
    assert hh.year_farm.tolist() == pytest.approx([800.0, 500.0])
    assert hh.year_wage.tolist() == pytest.approx([100.0, 100.0])


def test_a_new_year_grows_incomes_and_resets_the_accumulators():
    hh = households(2, farm=100.0, transfer=100.0, income_year=5.0, pupils=[1, 0], cause=[Cause.EDUCATION, 0],
                    relocation_area=[False, True])
    I = {"growth_rate": 0.1, "transfer_growth_rate": 0.0, "education_cost_per_pupil": 1200,
         "education_cost_multiplier_education_cause": 2.0, "housing_repair_rate": 1.0}
    income.new_year(hh, I, np.zeros(2, np.float32))
    assert hh.farm.tolist() == pytest.approx([110.0, 110.0]) and hh.transfer.tolist() == pytest.approx([100.0, 100.0])
    assert hh.income_year.tolist() == [0.0, 0.0]
    assert hh.education_monthly.tolist() == pytest.approx([200.0, 0.0])
    assert hh.housing_safe.tolist() == [True, False]  # relocation areas are made safe only by moving


def test_a_month_accrues_a_twelfth_and_the_sick_worker_earns_nothing():
    hh = households(2, year_farm=1200.0, year_wage=1200.0, employed=True, transfer=120.0, labour=[1, 2],
                    sick_months=[1, 1])
    income.accrue_month(hh)
    assert hh.income_year.tolist() == pytest.approx([10.0, 100.0 + 10.0])
    assert hh.sick_months.tolist() == [0, 0]


class _Cover:
    """A programme that halves whatever it is given to cover, crediting itself."""

    def __init__(self):
        self.credit = 0.0

    def cover_medical(self, hh, bill, clock):
        self.credit += float((bill.cost * bill.share / 2).sum())
        bill.share = bill.share / 2

    def cover_education(self, hh, bill, clock):
        bill.due = bill.due / 2


def test_costs_are_covered_in_programme_order_and_the_rest_paid():
    hh = households(2, education_monthly=[100.0, 0.0])
    bill = costs.MedicalBill(np.array([1]), np.array([1000.0], np.float32), np.array([0.5], np.float32))
    covers = [_Cover(), _Cover()]
    costs.pay_month(hh, bill, covers, Clock(2015, 12))
    assert hh.medical_oop.tolist() == pytest.approx([0.0, 125.0])
    assert [c.credit for c in covers] == pytest.approx([250.0, 125.0])
    assert hh.education_cost.tolist() == pytest.approx([25.0, 0.0])
    assert hh.education_monthly.tolist() == pytest.approx([100.0, 0.0])  # the bill never alters the cost itself


def test_a_county_funds_the_longest_prefix_within_budget_and_capacity():
    cost = np.array([10.0, 10.0, 5.0, 5.0, 5.0])
    tier = np.array([0, 0, 1, 1, 1], np.int8)
    assert fund_prefix(cost, tier, 27.0, 10).funded == 3
    assert fund_prefix(cost, tier, 100.0, 1).funded == 3  # two continuing + one new place
    f = fund_prefix(cost, tier, 15.0, 10)
    assert (f.funded, f.continuing, f.spent) == (1, 2, 10.0)  # a continuing participant dropped


def test_claims_are_paid_in_household_order_while_each_county_has_money():
    county = np.array([0, 1, 0, 1, 0])
    paid, pay, spent = fund_claims(county, 2, np.array([0, 1, 2, 4]), np.array([5.0, 7.0, 6.0, 1.0]),
                                   np.array([11.0, 3.0]))
    assert paid.tolist() == [0, 2] and pay.tolist() == [5.0, 6.0]  # county 0 stops before household 4
    assert spent.tolist() == [11.0, 0.0]


def test_the_register_decides_exits_returns_and_entries():
    hh = households(5, status=[Status.POOR, Status.POOR, Status.EXITED, Status.NEVER, Status.NEVER],
                    housing_safe=[True, False, True, True, True], insured=True, school_ok=True)
    regime = TargetedRegister({"exit_margin": 0.1, "entry_detection_rate": 0.5})
    net_pc = np.array([120.0, 200.0, 90.0, 80.0, 80.0])
    d = regime.decide(hh, net_pc, 100.0, np.array([0.9, 0.9, 0.9, 0.1, 0.9], np.float32))
    assert d.exits.tolist() == [True, False, False, False, False]  # the second lacks safe housing
    assert d.returns.tolist() == [False, False, True, False, False]
    assert d.entries.tolist() == [False, False, False, True, False]  # the fifth is not found this year
    regime.apply(hh, d, 2016, net_pc)
    assert hh.status.tolist() == [Status.EXITED, Status.POOR, Status.POOR, Status.POOR, Status.NEVER]
    assert hh.exit_year[0] == 2016 and hh.returns[2] == 1 and hh.entry_year[3] == 2016
    assert regime.within_window(hh, 2019, 3).tolist() == [True, True, True, True, False]
    assert regime.within_window(hh, 2020, 3).tolist() == [False, True, True, True, False]
