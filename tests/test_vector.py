"""sim/core/vector.py: flows added where they belong, numpy's quantiles of a sorted array, exact sums."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.core.results import QUANTILES
from sim.core.vector import KEEP_DENSE_SHARE, Flow, exact_sums, sorted_quantiles


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), scale=st.sampled_from([1.0, 1e3, 1e6]),
       ties=st.booleans())
def test_sorted_quantiles_are_numpys(seed, n, scale, ties):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * scale).astype(np.float32)
    if ties:
        x = np.round(x / scale * 3).astype(np.float32)
    s = np.sort(x)
    for qs in (QUANTILES, (0.0, 1.0), (0.5,), (1 / 3, 0.999)):
        want = np.quantile(s, qs)
        got = sorted_quantiles(s, qs)
        assert got.dtype == want.dtype and np.array_equal(got, want)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300), share=st.floats(0, 1))
def test_a_flow_adds_its_values_month_after_month_sparse_or_dense(seed, n, share):
    # Below KEEP_DENSE_SHARE of the households a flow scatters, above it it adds a dense vector.
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(rng.random(n) < share)
    values = (rng.standard_normal(len(idx)) * 100).astype(np.float32)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    want_a, want_b = a.copy(), b.copy()
    flow = Flow(n, idx, values)
    for _ in range(3):
        want_a[idx] += values
        want_b[idx] += values
        flow.add_to(a, b)
    assert np.array_equal(a, want_a) and np.array_equal(b, want_b)
    assert (flow._dense is not None) == (len(idx) > KEEP_DENSE_SHARE * n)


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 5), n=st.integers(0, 40), nan_share=st.floats(0, 1),
       magnitude=st.sampled_from([1.0, 1e6, 1e12]))
def test_exact_sums_are_exactly_rounded_skip_nan_and_ignore_order(seed, rows, n, nan_share, magnitude):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((rows, n)) * magnitude / rng.integers(1, 10, (rows, n))
    a[rng.random((rows, n)) < nan_share] = np.nan
    got = exact_sums(a)
    for r in range(rows):
        terms = [x for x in a[r] if x == x]
        assert got[r] == math.fsum(terms)  # a sum of none is 0
    assert np.array_equal(exact_sums(a[:, rng.permutation(n)]), got)


def test_exact_sums_of_whole_numbers_stay_whole():
    a = np.array([[2**62, 2**62 - 1, -5], [1, 2, 3]], dtype=np.int64)
    got = exact_sums(a[:, :2] // 2)
    assert got.dtype == np.int64 and got.tolist() == [2**62 - 1, 1]


@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 5), n=st.integers(0, 40),
       magnitude=st.sampled_from([10.0, 1e9, 2.0**52]))
def test_exact_sums_of_whole_floats_are_fsums_too(seed, rows, n, magnitude):
    # Whole numbers take a shortcut (a plain sum is exact below 2⁵³); near 2⁵³ they cannot.
    rng = np.random.default_rng(seed)
    a = np.round(rng.standard_normal((rows, n)) * magnitude)
    got = exact_sums(a)
    assert [float(x) for x in got] == [math.fsum(row) for row in a]
