"""sim/core/results.py (and the spending ledger's table in sim/core/budget.py): the tables of a run.

A total (county ``ALL``) is the exactly rounded sum of its county rows, so it does not depend on
the order of the terms or on the library that adds them; rows come year by year, counties in
alphabetical order and the total last.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.core.budget import TOTAL
from sim.model import TuopinModel

# Columns that are not sums over counties (ratios, the year's key, a target shared by every county).
NOT_SUMMED = {"year", "county", "programme", "pathway", "return_rate", "incidence", "cost_per_exit_household",
              "exits_near_line_share", "coverage_target", "coverage_reached"}


@pytest.fixture(scope="module")
def tables(small):
    """A run at a 10 % sample: counts are scaled by 1 / 0.1, so totals are not whole numbers."""
    return TuopinModel(small, seed=4).run().results.tables()


def _check_totals(df, keys):
    for key, group in df.groupby(keys, sort=False):
        parts, total = group[group.county != TOTAL], group[group.county == TOTAL]
        assert len(total) == 1, key
        for col in df.columns:
            if col in NOT_SUMMED or col in keys:
                continue
            terms = [x for x in parts[col].to_numpy(dtype=np.float64) if x == x]
            want = math.fsum(terms)
            got = total[col].iloc[0]
            if col in ("coverage_shortfall_households", "implied_cost") and not terms:
                assert np.isnan(got), (key, col)  # empty where every county's is
            else:
                assert got == want, (key, col, got, want)


def test_yearly_totals_are_exact_sums_of_the_counties(tables):
    _check_totals(tables["yearly"], ["year"])


def test_pathway_totals_are_exact_sums_of_the_counties(tables):
    _check_totals(tables["pathways"], ["year", "pathway"])


def test_spending_totals_are_exact_sums_of_the_counties(tables):
    spending = tables["spending"]
    _check_totals(spending, ["year", "programme"])
    total = spending[spending.county == TOTAL]
    assert (total.coverage_target.isna() | (total.coverage_target > 0)).all()


def test_yearly_rows_come_year_by_year_counties_sorted_then_the_total(tables, small):
    yearly = tables["yearly"]
    names = sorted(c.name for c in small.spec.population.counties)
    for year, group in yearly.groupby("year", sort=False):
        assert group.county.tolist() == names + [TOTAL]
    assert yearly.year.is_monotonic_increasing
    assert yearly.index.tolist() == list(range(len(yearly)))


def test_yearly_budget_is_the_sum_of_the_programmes(tables):
    yearly, spending = tables["yearly"], tables["spending"]
    row = yearly[yearly.county != TOTAL].iloc[0]
    mine = spending[(spending.year == row.year) & (spending.county == row.county)]
    assert row.budget == math.fsum(mine.budget) and row.spent == math.fsum(mine.spent)


def test_tables_keep_their_types(tables):
    yearly, spending = tables["yearly"], tables["spending"]
    assert yearly.year.dtype == np.int64 and spending.year.dtype == np.int64
    assert yearly.poor_villages_end.dtype == np.int64  # villages are counted, not sampled
    assert yearly.poor_persons_end.dtype == np.float64 and spending.participants.dtype == np.float64
    assert tables["pathways"].exits_households.dtype == np.float64
