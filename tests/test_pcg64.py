"""sim/core/pcg64.py: the four-lane PCG64 gives numpy's own float32 uniforms, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core import pcg64


def _fresh(seed: int, key: tuple[int, ...]) -> np.random.PCG64:
    return np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))


@given(seed=st.integers(0, 2**63 - 1), key=st.tuples(st.integers(0, 40), st.integers(0, 10**4)),
       n=st.integers(0, 70))
def test_the_uniforms_are_numpys_for_any_seed_and_count(seed, key, n):
    # Counts around the four-lane blocks (8 uniforms) and odd counts (half an output) included.
    ours = pcg64.uniforms(_fresh(seed, key), n)
    numpys = np.random.Generator(_fresh(seed, key)).random(n, dtype=np.float32)
    assert ours.dtype == np.float32 and ours.shape == (n,)
    assert np.array_equal(ours, numpys)


@pytest.mark.parametrize("n", [1_000_003, 1 << 20])
def test_the_uniforms_are_numpys_for_a_population(n):
    ours = pcg64.uniforms(_fresh(7, (2, 5, 0)), n)
    assert np.array_equal(ours, np.random.Generator(_fresh(7, (2, 5, 0))).random(n, dtype=np.float32))


def test_a_generator_that_has_drawn_is_refused():
    bit_generator = _fresh(1, (1,))
    np.random.Generator(bit_generator).random(1, dtype=np.float32)  # keeps half an output
    with pytest.raises(ValueError, match="fresh PCG64"):
        pcg64.uniforms(bit_generator, 4)
    with pytest.raises(ValueError, match="fresh PCG64"):
        pcg64.uniforms(np.random.MT19937(1), 4)
