"""sim/core/vector.py: flows added where they belong, and numpy's quantiles of a sorted array."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.core.results import QUANTILES
from sim.core.vector import KEEP_DENSE_SHARE, Flow, sorted_quantiles


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
