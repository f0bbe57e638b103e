"""Named random streams (common random numbers) and replicate seeds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.core.streams import CORE_STREAMS as STREAMS, Streams, replicate_seeds, _fresh_state


def test_stream_ids_are_unique():
    assert len(set(STREAMS.values())) == len(STREAMS)


@given(seed=st.integers(0, 2**63 - 1), period=st.integers(0, 3000), n=st.integers(1, 500))
def test_a_draw_depends_only_on_seed_stream_and_period(seed, period, n):
    a = Streams(seed).uniform("illness", period, n)
    b = Streams(seed).uniform("illness", period, n)
    assert a.dtype == np.float32 and a.shape == (n,)
    assert np.array_equal(a, b)
    assert np.all((a >= 0) & (a < 1))


def test_household_i_gets_the_same_number_whatever_the_population_size():
    s = Streams(42)
    assert np.array_equal(s.uniform("job_loss", 7, 1000)[:100], s.uniform("job_loss", 7, 100))
    assert np.array_equal(s.normal("income_noise", 2016, 1000)[:10], s.normal("income_noise", 2016, 10))


def test_streams_periods_and_seeds_differ():
    s = Streams(1)
    base = s.uniform("illness", 3, 1000)
    assert not np.array_equal(base, s.uniform("disability", 3, 1000))
    assert not np.array_equal(base, s.uniform("illness", 4, 1000))
    assert not np.array_equal(base, Streams(2).uniform("illness", 3, 1000))
    assert not np.array_equal(base, s.uniform("illness", 3, 1000, unit=1))
    # Roughly uniform.
    assert abs(float(base.mean()) - 0.5) < 0.05


def test_replicate_seeds_do_not_depend_on_the_number_of_replicates():
    many = replicate_seeds(20151124, 50)
    assert replicate_seeds(20151124, 3) == many[:3]
    assert replicate_seeds(20151124, 1) == many[:1]
    assert len(set(many)) == 50
    assert all(isinstance(s, int) and 0 <= s < 2**63 for s in many)
    assert replicate_seeds(20151125, 3) != many[:3]
    assert replicate_seeds(7, 0) == []


@pytest.mark.parametrize("n", [0, 1, 2, 3, 1001, 100_003])
def test_household_uniforms_are_the_generator_s_own(n):
    """Streams.uniform makes its float32 uniforms from the generator's raw outputs (faster); they
    must be exactly what Generator.random(dtype=float32) gives, or results would move with it. A
    numpy that draws floats otherwise fails here."""
    streams = Streams(20151124)
    for stream, period in (("illness", 0), ("income_noise", 7), ("entry_detection", 71)):
        expected = streams.generator(stream, period).random(n, dtype=np.float32)
        assert np.array_equal(streams.uniform(stream, period, n), expected), (stream, period, n)


def test_a_kept_generator_state_gives_the_same_draws_as_a_fresh_one():
    """A process keeps the starting states it derived (``_fresh_state``): drawing again, after
    other streams and seeds, or with the kept states dropped, gives the same numbers."""
    a, b = Streams(5), Streams(6)
    first = a.uniform("illness", 3, 1000)
    b.uniform("illness", 3, 1000)
    a.uniform("disability", 3, 1000)
    assert np.array_equal(a.uniform("illness", 3, 1000), first)
    _fresh_state.cache_clear()
    assert np.array_equal(a.uniform("illness", 3, 1000), first)
    assert not np.array_equal(b.uniform("illness", 3, 1000), first)
