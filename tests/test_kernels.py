"""sim/core/kernels.py: each compiled loop gives, bit for bit, what its numpy expression gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core import kernels

N = st.integers(0, 300)
SEEDS = st.integers(0, 2**32 - 1)
# Thresholds as the parameter files hold them (Python floats), some between two float32 values.
RATES = st.floats(0, 1, allow_nan=False) | st.sampled_from([0.1, 1 / 3, 0.0008, 1 - 0.02])


def _uniform(rng: np.random.Generator, n: int) -> np.ndarray:
    u = rng.random(n, dtype=np.float32)
    u[rng.random(n) < 0.1] = np.float32(0.1)  # ties with a threshold
    return u


@given(seed=SEEDS, n=N)
def test_scatter_add_is_numpys_indexed_addition(seed, n):
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(rng.random(n) < rng.random())
    values = (rng.standard_normal(len(idx)) * 1e4).astype(np.float32)
    a, b = (rng.standard_normal(n) * 1e5).astype(np.float32), (rng.standard_normal(n) * 1e3).astype(np.float32)
    want_a, want_b = a.copy(), b.copy()
    want_a[idx] += values
    want_b[idx] += values
    one = a.copy()
    kernels.scatter_add(idx, values, one)
    kernels.scatter_add_pair(idx, values, a, b)
    assert np.array_equal(one, want_a) and np.array_equal(a, want_a) and np.array_equal(b, want_b)


@given(seed=SEEDS, n=N)
def test_scatter_add_reaches_a_row_of_a_table(seed, n):
    rng = np.random.default_rng(seed)
    table = rng.random((3, n), dtype=np.float32)
    idx = np.flatnonzero(rng.random(n) < 0.5)
    values = rng.random(len(idx), dtype=np.float32)
    want = table.copy()
    want[1][idx] += values
    kernels.scatter_add(idx, values, table[1])
    assert np.array_equal(table, want)


def _accrue_numpy(year_farm, year_wage, employed, labour, transfer, asset, income_year, sick_months):
    """The monthly accrual as numpy expressions over whole columns."""
    earned = year_wage * employed
    earned = year_farm + earned
    sick = np.flatnonzero(sick_months != 0)
    able = np.maximum(labour[sick], 1).astype(np.float32)
    earned[sick] *= np.where(labour[sick] > 0, (able - 1) / able, np.float32(1))
    earned += transfer
    earned += asset
    earned /= np.float32(12)
    income_year += earned
    sick_months[sick] -= 1


@given(seed=SEEDS, n=N, scale=st.sampled_from([1.0, 1e4, 1e7]))
def test_accrue_month_is_the_numpy_accrual(seed, n, scale):
    rng = np.random.default_rng(seed)
    cols = dict(
        year_farm=(rng.standard_normal(n) * scale).astype(np.float32),
        year_wage=(rng.random(n) * scale).astype(np.float32),
        employed=rng.random(n) < 0.6,
        labour=rng.integers(0, 4, n).astype(np.uint8),
        transfer=(rng.random(n) * scale).astype(np.float32),
        asset=(rng.random(n) * scale / 10).astype(np.float32),
        income_year=(rng.random(n) * scale).astype(np.float32),
        sick_months=(rng.integers(0, 4, n) * (rng.random(n) < 0.3)).astype(np.uint8),
    )
    want = {k: v.copy() for k, v in cols.items()}
    _accrue_numpy(**want)
    kernels.accrue_month(**cols)
    for name in ("income_year", "sick_months"):
        assert np.array_equal(cols[name], want[name]), name


@given(seed=SEEDS, n=N)
def test_below_is_flatnonzero_of_a_comparison(seed, n):
    rng = np.random.default_rng(seed)
    u = _uniform(rng, n)
    rate = np.where(rng.random(n) < 0.2, np.float32(0.1), rng.random(n, dtype=np.float32) * 0.3).astype(np.float32)
    got = kernels.below(u, rate)
    assert got.dtype == np.intp and np.array_equal(got, np.flatnonzero(u < rate))


@given(seed=SEEDS, n=N, rate=RATES, recovery=RATES)
def test_disability_draws_compare_as_numpy_compares_a_float32_with_a_python_float(seed, n, rate, recovery):
    rng = np.random.default_rng(seed)
    u = _uniform(rng, n)
    labour = rng.integers(0, 3, n).astype(np.uint8)
    chronic = rng.random(n) < 0.5
    hit, recover = kernels.disability_draws(u, np.float32(rate), labour, np.float32(1 - recovery), chronic)
    assert np.array_equal(hit, np.flatnonzero((u < rate) & (labour > 0)))
    assert np.array_equal(recover, np.flatnonzero((u >= 1 - recovery) & chronic))


@given(seed=SEEDS, n=N, loss=RATES, rehire=RATES)
def test_jobs_is_the_numpy_loss_and_rehire(seed, n, loss, rehire):
    rng = np.random.default_rng(seed)
    u = _uniform(rng, n)
    employed, had_job = rng.random(n) < 0.5, rng.random(n) < 0.7
    labour = rng.integers(0, 3, n).astype(np.uint8)
    want = employed.copy()
    lose = (u < loss) & want
    find = (u < rehire) & had_job & (labour > 0) & ~want
    want ^= lose
    want |= find
    kernels.jobs(u, np.float32(loss), np.float32(rehire), employed, had_job, labour)
    assert np.array_equal(employed, want)


@given(seed=SEEDS, n=N, groups=st.integers(1, 14))
def test_counts_by_county_are_numpys_bincounts(seed, n, groups):
    rng = np.random.default_rng(seed)
    mask = rng.random(n) < rng.random()
    county = rng.integers(0, groups, n).astype(np.int16)
    size = rng.integers(1, 12, n).astype(np.uint8)
    idx = np.flatnonzero(mask)
    counts = np.bincount(county[idx], minlength=groups)
    assert np.array_equal(kernels.count_where(mask, county, groups), counts)
    got_counts, got_sums = kernels.count_and_sum_where(mask, county, size, groups)
    assert np.array_equal(got_counts, counts)
    assert np.array_equal(got_sums, np.bincount(county[idx], weights=size[idx], minlength=groups))


def test_a_county_outside_the_range_is_an_error_not_a_stray_write():
    with pytest.raises(IndexError):
        kernels.count_where(np.ones(3, dtype=bool), np.array([0, 5, 1], dtype=np.int16), 3)


@given(seed=SEEDS, n=N, counties=st.integers(1, 14), tiers=st.integers(1, 4))
def test_a_queue_is_the_stable_argsort_by_county_and_tier(seed, n, counties, tiers):
    rng = np.random.default_rng(seed)
    county16 = rng.integers(0, counties, 2 * n + 1).astype(np.int16)
    units = rng.permutation(2 * n + 1)[:n].astype(np.intp)  # units in no particular order
    n_cont = int(rng.integers(0, n + 1))
    cont, cand = units[:n_cont], units[n_cont:]
    cont_cost, cand_cost = rng.gamma(2.0, 500.0, len(cont)), rng.gamma(2.0, 800.0, len(cand))
    cand_tier = rng.integers(0, tiers, len(cand)).astype(np.int8)
    # The numpy it replaces: continuing (tier 0) then candidates, stable-sorted by (county, tier).
    idx = np.concatenate([cont, cand])
    tier = np.concatenate([np.zeros(len(cont), np.int8), 1 + cand_tier])
    cost = np.concatenate([cont_cost, cand_cost])
    order = np.argsort(county16[idx].astype(np.int64) * (tiers + 1) + tier, kind="stable")
    want_bounds = np.concatenate([[0], np.cumsum(np.bincount(county16[idx], minlength=counties))])
    for county in (county16, county16.astype(np.int64)):
        got = kernels.queue_sorted(county, cont, cont_cost, cand, cand_cost, cand_tier, counties, tiers + 1)
        assert np.array_equal(got[0], idx[order]) and np.array_equal(got[1], tier[order])
        assert np.array_equal(got[2], cost[order]) and np.array_equal(got[3], want_bounds)


def test_a_queue_refuses_a_county_or_a_tier_out_of_range():
    county, units, none = np.array([0, 1, 5], np.int16), np.arange(3, dtype=np.intp), np.zeros(0, np.intp)
    with pytest.raises(IndexError):  # county 5 of 3
        kernels.queue_sorted(county, units, np.zeros(3), none, np.zeros(0), np.zeros(0, np.int8), 3, 1)
    with pytest.raises(IndexError):  # candidate tier 1 + 1 of 2 tiers
        kernels.queue_sorted(county, none, np.zeros(0), units[:2], np.zeros(2), np.ones(2, np.int8), 3, 2)


def _county_queue(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A county's part of a queue: costs ≥ 0 (some zero, some equal), tiers ascending from 0."""
    cost = np.round(rng.gamma(2.0, 500.0, n), int(rng.integers(0, 3)))
    cost[rng.random(n) < 0.1] = 0.0
    tier = np.sort(rng.integers(0, 3, n)).astype(np.int8)
    return cost, tier


@given(seed=SEEDS, n=N, budget_share=st.floats(0, 1.2), capacity=st.integers(0, 400))
def test_prefix_within_is_the_cumulative_sum_and_binary_search(seed, n, budget_share, capacity):
    rng = np.random.default_rng(seed)
    cost, tier = _county_queue(rng, n)
    running = np.cumsum(cost)
    budget = float(running[-1] * budget_share) if n else 0.0
    if n and rng.random() < 0.2:
        budget = float(running[int(rng.integers(0, n))])  # exactly a running total
    continuing = int(np.searchsorted(tier, 1))
    k = min(int(np.searchsorted(running, budget, side="right")), continuing + capacity)
    want = (k, continuing, float(running[k - 1]) if k else 0.0)
    assert kernels.prefix_within(cost, tier, budget, capacity) == want


@given(seed=SEEDS, n=N, need=st.integers(-1, 300), capacity=st.integers(0, 400))
def test_prefix_to_target_is_the_cumulative_counts_and_binary_search(seed, n, need, capacity):
    rng = np.random.default_rng(seed)
    cost, tier = _county_queue(rng, n)
    counts = rng.random(n) < rng.random()
    continuing = int(np.searchsorted(tier, 1))
    limit = min(n, continuing + capacity)
    k = 0 if need <= 0 else min(int(np.searchsorted(np.cumsum(counts[:limit]), need)) + 1, limit)
    want = (k, continuing, float(np.cumsum(cost[:k])[-1]) if k else 0.0)
    assert kernels.prefix_to_target(cost, tier, counts, need, capacity) == want


@given(seed=SEEDS, n=N, counties=st.integers(1, 14), once=st.booleans())
def test_coverage_counts_are_the_masks_counted_by_county(seed, n, counties, once):
    rng = np.random.default_rng(seed)
    county = rng.integers(0, counties, n).astype(np.int16)
    served, continuing, candidates = (rng.random(n) < rng.random() for _ in range(3))
    enrolled = np.where(rng.random(n) < 0.4, rng.integers(0, 60, n), -1).astype(np.int16)
    queued = np.bincount(county[(continuing | candidates) & served], minlength=counties)
    reached = served & (enrolled >= 0) & ~continuing & ~candidates if once else np.zeros(n, dtype=bool)
    got = kernels.coverage_counts(served, continuing, candidates, enrolled, once, county, counties)
    assert np.array_equal(got[0], queued) and np.array_equal(got[1], np.bincount(county[reached], minlength=counties))


@given(seed=SEEDS, n=N, counties=st.integers(1, 14))
def test_count_at_is_bincount_of_the_units_where_the_mask_holds(seed, n, counties):
    rng = np.random.default_rng(seed)
    county = rng.integers(0, counties, n).astype(np.int16)
    mask = rng.random(n) < rng.random()
    idx = rng.permutation(n)[: int(rng.integers(0, n + 1))].astype(np.intp)
    want = np.bincount(county[idx[mask[idx]]], minlength=counties)
    assert np.array_equal(kernels.count_at(idx, mask, county, counties), want)
    with pytest.raises(IndexError):
        kernels.count_at(np.array([0], np.intp), np.ones(1, bool), np.array([counties], np.int16), counties)


@given(seed=SEEDS, n=N, month=st.integers(0, 80))
def test_wage_flow_adds_the_wages_that_flow_where_they_are_not_zero(seed, n, month):
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(rng.random(n) < rng.random())
    gain = (rng.random(len(idx)) * 900).astype(np.float32)
    gain[rng.random(len(idx)) < 0.2] = 0  # members whose effect has not started
    post, employed = rng.random(n) < 0.3, rng.random(n) < 0.6
    support_end = rng.integers(-1, 90, n).astype(np.int16)
    a, b = (rng.standard_normal(n) * 1e4).astype(np.float32), (rng.standard_normal(n) * 1e2).astype(np.float32)
    flows = gain * np.where(post[idx], post[idx] & (month < support_end[idx]), employed[idx])
    keep = np.flatnonzero(flows != 0)
    want_a, want_b = a.copy(), b.copy()
    want_a[idx[keep]] += flows[keep]
    want_b[idx[keep]] += flows[keep]
    kernels.wage_flow(idx, gain, post, employed, support_end, month, a, b)
    assert np.array_equal(a, want_a) and np.array_equal(b, want_b)


def _pathways_numpy(contribution, exit_idx, net_pc, size, line, development, guarantees):
    """Pathways before claims, as whole-array numpy: the routes' largest positive contributions,
    then spontaneous or the largest contribution."""
    n_p, m = contribution.shape[0], len(exit_idx)
    contrib = np.empty((n_p, m))
    for k, row in enumerate(contribution):
        contrib[k] = row[exit_idx]
    sz = size[exit_idx]
    without = net_pc[exit_idx] * sz - contrib.sum(axis=0)
    out = np.empty(m, dtype=np.intp)
    decided = np.zeros(m, dtype=bool)
    for route in (list(np.flatnonzero(development)), list(np.flatnonzero(guarantees))):
        if route:
            part = contrib[route]
            took = np.flatnonzero((part.max(axis=0) > 0) & ~decided)
            out[took] = np.array(route)[part[:, took].argmax(axis=0)]
            decided[took] = True
    rest = np.flatnonzero(~decided)
    out[rest] = np.where(without[rest] >= line * sz[rest], n_p, contrib[:, rest].argmax(axis=0))
    return out


@given(seed=SEEDS, n=N, n_p=st.integers(1, 8), line=st.sampled_from([2952.0, 3185.0, 0.0, 1e4]))
def test_exit_pathways_are_the_whole_array_rules(seed, n, n_p, line):
    rng = np.random.default_rng(seed)
    contribution = (rng.standard_normal((n_p, n)) * rng.choice([1.0, 100.0, 3e3, 1e7], (n_p, n))).astype(np.float32)
    contribution[rng.random((n_p, n)) < 0.4] = 0  # programmes that did not reach the household
    contribution[:, rng.random(n) < 0.1] = np.float32(250)  # ties between programmes
    size = rng.integers(1, 9, n).astype(np.uint8)
    net_pc = rng.standard_normal(n) * 2e3 + line
    exact = np.flatnonzero(rng.random(n) < 0.2)  # income without contributions exactly at the line
    net_pc[exact] = (line * size[exact] + contribution[:, exact].astype(np.float64).sum(axis=0)) / size[exact]
    exit_idx = np.flatnonzero(rng.random(n) < rng.random())
    development, guarantees = rng.random(n_p) < 0.4, rng.random(n_p) < 0.3
    want = _pathways_numpy(contribution, exit_idx, net_pc, size, line, development, guarantees)
    got = kernels.exit_pathways(contribution, exit_idx, net_pc, size, line, development, guarantees)
    assert np.array_equal(got, want)


@given(seed=SEEDS, n=N, growth=st.sampled_from([0.0, 0.0905, 0.2]), transfer_growth=st.sampled_from([0.0, 0.0373]))
def test_shortfall_topup_is_the_float64_expression(seed, n, growth, transfer_growth):
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(rng.random(n) < rng.random())
    size = rng.integers(1, 9, n).astype(np.uint8)
    income = (rng.random(n) * 6000).astype(np.float32)
    contribution = (rng.random(n) * 3000 * (rng.random(n) < 0.5)).astype(np.float32)
    transfer = (rng.random(n) * 2000).astype(np.float32)
    category = rng.integers(0, 5, n).astype(np.uint8)
    line, special_line = 2952.0 * 0.92, max(2952.0 * 0.92, 0.7 * 11100)
    persons = size[idx].astype(np.float64)
    without = income[idx].astype(np.float64) * persons - contribution[idx]
    transfers = transfer[idx].astype(np.float64)
    expected = (without - transfers) * (1 + growth) + transfers * (1 + transfer_growth)
    target = np.where(category[idx] == 3, special_line, line)
    want = np.maximum(0.0, target * persons - expected)
    got = kernels.shortfall_topup(idx, size, income, contribution, transfer, category, 3, line, special_line,
                                  1 + growth, 1 + transfer_growth)
    assert got.dtype == np.float64 and np.array_equal(got, want)
