"""Random streams for common random numbers (CRN).

Every kind of random decision has its own named stream. A draw is keyed by (root seed, stream,
period) and is always made for the whole population in household order, so household *i* gets the
same number in a given month whatever the scenario's budgets or targeting did to other households.
Differences between two budget options run with the same seed are then policy, not noise.

Stream ids are stable: the core's are listed in ``CORE_STREAMS``; a programme declares its own in
``Programme.streams``. A new stream gets a new id and never changes the draws of another.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import numpy as np

from . import pcg64

FRESH_STATES_KEPT = 8192  # generator states a process keeps: a few runs' worth (about 300 a run per seed)

# Stable ids: never reuse or renumber an id, or every published run changes.
CORE_STREAMS: dict[str, int] = {
    "population": 1,
    "illness": 2,
    "illness_cost": 3,   # reserved: an illness's cost comes from the illness uniform
    "disability": 4,
    "job_loss": 5,
    "rehire": 6,         # reserved: rehire uses the job_loss uniform (disjoint households)
    "income_noise": 7,
    "market": 8,
    "disaster": 9,
    "takeup": 10,        # reserved
    "entry_detection": 12,
    "housing_repair": 13,
    "dropout": 14,       # reserved
    "income_permanent": 16,
    "monitoring": 19,
    "exit_verification": 20,
    "assistance": 21,
}
# Ids held by programmes (industry_failure = 11) and the next free one are in sim/programmes.


class Streams:
    """Draws for ``n`` units (households, villages or counties) keyed by stream and period."""

    def __init__(self, seed: int, ids: Mapping[str, int] | None = None):
        self.seed = int(seed)
        self.ids = dict(CORE_STREAMS if ids is None else ids)

    def generator(self, stream: str, period: int, unit: int = 0) -> np.random.Generator:
        return np.random.Generator(_bit_generator(self.seed, self._key(stream, period, unit)))

    def uniform(self, stream: str, period: int, n: int, unit: int = 0) -> np.ndarray:
        """``n`` uniforms on [0, 1) as float32: one per household, in household order; exactly
        ``generator(stream, period, unit).random(n, dtype=np.float32)``, made faster."""
        return pcg64.uniforms_from(*_fresh_state(self.seed, self._key(stream, period, unit)), n)

    def _key(self, stream: str, period: int, unit: int) -> tuple[int, int, int]:
        return self.ids[stream], int(period) + 1, int(unit)

    def normal(self, stream: str, period: int, n: int, unit: int = 0) -> np.ndarray:
        return self.generator(stream, period, unit).standard_normal(n, dtype=np.float32)


def _bit_generator(seed: int, key: tuple[int, int, int]) -> np.random.PCG64:
    return np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key))


@lru_cache(maxsize=FRESH_STATES_KEPT)
def _fresh_state(seed: int, key: tuple[int, int, int]) -> tuple[int, int]:
    """The starting state of a stream's generator for a period. Deriving it (SeedSequence, then
    PCG64's seeding) costs about 25 µs, a run asks for a few hundred, and runs with the same seeds
    (a calibration's replicates, the options of a comparison) ask for the same ones: a process
    keeps the last ones it derived."""
    return pcg64.fresh_state(_bit_generator(seed, key))


def merge_stream_ids(*tables: Mapping[str, int]) -> dict[str, int]:
    """One id table from the core's and the programmes'; a name or an id used twice is an error."""
    out: dict[str, int] = {}
    for table in tables:
        for name, sid in table.items():
            if name in out and out[name] != sid:
                raise ValueError(f"random stream {name!r} declared with two ids ({out[name]}, {sid})")
            if sid in out.values() and out.get(name) != sid:
                raise ValueError(f"random stream id {sid} used by {name!r} and another stream")
            out[name] = sid
    return out


def replicate_seeds(root_seed: int, replicates: int) -> list[int]:
    """Seeds of replicates 0..K-1, derived from the root seed with SeedSequence.

    Replicate k's seed depends only on (root_seed, k), so running 10 or 100 replicates, in any
    order and on any number of workers, gives replicate k the same numbers.
    """
    return [int(np.random.SeedSequence(int(root_seed), spawn_key=(k,)).generate_state(1, np.uint64)[0]
                & np.uint64(2**63 - 1)) for k in range(replicates)]
