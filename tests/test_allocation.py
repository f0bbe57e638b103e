"""County allocation: the vectorized rule equals a plain loop over counties and queue order.

The documented rule (sim/allocation.py): per county, continuing participants first (their yearly
cost), then new candidates tier by tier (within a tier in household order); funds are committed
down the queue while the county's cumulative cost stays within its budget (a thousandth of a yuan
of tolerance) and new enrolments within the capacity. Spending never exceeds the budget.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.core.allocation import allocate

TOLERANCE = 1e-3


def reference(county, n_counties, continuing, continuing_cost, candidates, candidate_cost, tier,
              budget, capacity):
    funded, dropped, new = [], [], []
    spent = [0.0] * n_counties
    new_count = [0] * n_counties
    queues = [[] for _ in range(n_counties)]
    for i, cost in zip(continuing, continuing_cost):
        queues[county[i]].append((-1, int(i), float(cost)))  # continuing: before every tier
    for i, cost, t in zip(candidates, candidate_cost, tier):
        queues[county[i]].append((int(t), int(i), float(cost)))
    for c in range(n_counties):
        # Continuing in the order given; candidates by tier, then household order.
        queue = [q for q in queues[c] if q[0] < 0] + sorted(q for q in queues[c] if q[0] >= 0)
        total, enrolled, open_ = 0.0, 0, True
        for t, i, cost in queue:
            is_new = t >= 0
            if open_:
                total += cost
                if total > budget[c] + TOLERANCE or (is_new and enrolled + 1 > capacity[c]):
                    open_ = False
            if not open_:
                if not is_new:
                    dropped.append(i)
                continue
            spent[c] += cost
            if is_new:
                new.append(i)
                enrolled += 1
            else:
                funded.append(i)
        new_count[c] = enrolled
    return sorted(funded), sorted(dropped), sorted(new), np.array(spent), np.array(new_count)


@st.composite
def inputs(draw):
    n_counties = draw(st.integers(1, 6))
    n = draw(st.integers(0, 300))
    county = np.array(draw(st.lists(st.integers(0, n_counties - 1), min_size=n, max_size=n)), dtype=np.int16)
    role = draw(st.lists(st.sampled_from([0, 1, 1, 2]), min_size=n, max_size=n))  # 0 none, 1 cand, 2 cont
    role = np.array(role, dtype=np.int64)
    continuing = np.flatnonzero(role == 2)
    candidates = np.flatnonzero(role == 1)
    # Whole quarter-yuan costs keep every partial sum exact in binary floating point.
    cost = st.integers(0, 40_000).map(lambda q: q / 4)
    continuing_cost = np.array(draw(st.lists(cost, min_size=len(continuing), max_size=len(continuing))))
    candidate_cost = np.array(draw(st.lists(cost, min_size=len(candidates), max_size=len(candidates))))
    n_tiers = draw(st.integers(1, 3))
    tier = np.array(draw(st.lists(st.integers(0, n_tiers - 1), min_size=len(candidates),
                                  max_size=len(candidates))), dtype=np.int8)
    budget = np.array(draw(st.lists(st.integers(0, 400_000).map(lambda q: q / 4),
                                    min_size=n_counties, max_size=n_counties)))
    capacity = np.array(draw(st.lists(st.integers(0, 60), min_size=n_counties, max_size=n_counties)),
                        dtype=np.int64)
    return county, n_counties, continuing, continuing_cost, candidates, candidate_cost, tier, budget, capacity


@given(inputs())
def test_allocate_equals_the_plain_loop(args):
    got = allocate(*args)
    funded, dropped, new, spent, new_count = reference(*args)
    assert sorted(got.funded_continuing.tolist()) == funded
    assert sorted(got.dropped_continuing.tolist()) == dropped
    assert sorted(got.new.tolist()) == new
    assert np.allclose(got.spent, spent, rtol=0, atol=1e-6)
    assert got.new_count.tolist() == new_count.tolist()


@given(inputs())
def test_allocate_keeps_within_budget_and_capacity(args):
    county, n_c, cont, cont_cost, cand, cand_cost, tier, budget, capacity = args
    got = allocate(*args)
    assert np.all(got.spent <= budget + TOLERANCE)
    assert np.all(got.new_count <= capacity)
    # Every continuing participant is either funded or dropped, exactly once.
    both = np.concatenate([got.funded_continuing, got.dropped_continuing])
    assert sorted(both.tolist()) == sorted(cont.tolist())
    assert set(got.new.tolist()) <= set(cand.tolist())
    assert len(set(got.new.tolist())) == len(got.new)
    # Spending is the sum of the funded costs.
    cost = dict(zip(cont.tolist(), cont_cost)) | dict(zip(cand.tolist(), cand_cost))
    per = np.zeros(n_c)
    for i in np.concatenate([got.funded_continuing, got.new]):
        per[county[i]] += cost[int(i)]
    assert np.allclose(per, got.spent)


def test_continuing_first_then_tiers_then_household_order():
    county = np.zeros(10, dtype=np.int16)
    cont = np.array([7])
    cand = np.array([1, 2, 3, 4])
    tier = np.array([1, 0, 1, 0], dtype=np.int8)
    cost = np.full(4, 10.0)
    # Budget for the continuing one and two newcomers: tier 0 (households 2 and 4) go first.
    got = allocate(county, 1, cont, np.array([10.0]), cand, cost, tier, np.array([30.0]), np.array([5]))
    assert got.funded_continuing.tolist() == [7]
    assert sorted(got.new.tolist()) == [2, 4]
    assert got.spent.tolist() == [30.0]
    # Capacity one: only the first of tier 0 in household order.
    got = allocate(county, 1, cont, np.array([10.0]), cand, cost, tier, np.array([1e9]), np.array([1]))
    assert got.new.tolist() == [2]


def test_the_queue_stops_at_the_first_household_that_does_not_fit():
    county = np.zeros(3, dtype=np.int16)
    cand = np.array([0, 1, 2])
    got = allocate(county, 1, np.array([], dtype=np.int64), np.array([]), cand, np.array([5.0, 100.0, 1.0]),
                   np.zeros(3, np.int8), np.array([50.0]), np.array([3]))
    assert got.new.tolist() == [0]  # household 2 would fit, but the queue has stopped
    assert got.spent.tolist() == [5.0]


def test_budget_too_small_for_continuing_drops_them_and_funds_no_one_new():
    county = np.array([0, 0, 1, 1], dtype=np.int16)
    got = allocate(county, 2, np.array([0, 2]), np.array([10.0, 10.0]), np.array([1, 3]), np.array([1.0, 1.0]),
                   np.zeros(2, np.int8), np.array([5.0, 20.0]), np.array([1, 1]))
    assert got.dropped_continuing.tolist() == [0]
    assert got.funded_continuing.tolist() == [2]
    assert got.new.tolist() == [3]
    assert got.spent.tolist() == [0.0, 11.0]
    assert got.new_count.tolist() == [0, 1]


def test_empty_queue():
    got = allocate(np.zeros(0, np.int16), 3, np.array([], np.int64), np.array([]), np.array([], np.int64),
                   np.array([]), np.array([], np.int8), np.zeros(3), np.zeros(3, np.int64))
    assert got.spent.tolist() == [0, 0, 0] and got.new_count.tolist() == [0, 0, 0]
    assert len(got.new) == len(got.funded_continuing) == len(got.dropped_continuing) == 0


def test_many_counties_and_tiers():
    # Keys beyond the int16 range take the int64 path; the result must not change.
    rng = np.random.default_rng(0)
    n_c = 5000
    county = rng.integers(0, n_c, 20000).astype(np.int16)
    cand = np.arange(20000)
    tier = rng.integers(0, 9, 20000).astype(np.int8)
    cost = rng.integers(1, 100, 20000).astype(np.float64)
    budget = rng.integers(0, 300, n_c).astype(np.float64)
    capacity = rng.integers(0, 5, n_c)
    args = (county, n_c, np.array([], np.int64), np.array([]), cand, cost, tier, budget, capacity)
    got = allocate(*args)
    _, _, new, spent, new_count = reference(*args)
    assert sorted(got.new.tolist()) == new
    assert np.allclose(got.spent, spent)
