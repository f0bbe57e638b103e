"""The effective sample size of importance weights (sim/analysis/weights.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.analysis.weights import effective_size


def test_equal_weights_count_fully_and_one_heavy_weight_counts_once():
    assert np.isclose(effective_size(np.ones(60)), 60)
    assert np.isclose(effective_size(np.array([5.0, 5.0, 0.0, 0.0])), 2)
    assert effective_size(np.r_[1.0, np.zeros(59)]) == 1


@given(st.lists(st.floats(0.001, 1000), min_size=1, max_size=200))
def test_between_one_and_the_number_of_weights_whatever_their_scale(weights):
    w = np.array(weights)
    n = effective_size(w)
    assert 1 - 1e-9 <= n <= len(w) + 1e-9
    assert np.isclose(effective_size(3.5 * w), n)
