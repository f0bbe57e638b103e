"""The allocation routine: a county funds its queue as a prefix within its budget and capacity.

A queue holds, for every county at once, continuing participants first (their yearly cost), then
new candidates in priority order (precision targeting: the programme's matching causes first;
untargeted: one queue). Within a tier the order is the population's lottery order (household
index). A county funds the longest prefix of its own part whose cumulative cost stays within its
budget and whose new enrolments stay within its capacity (``fund_prefix``). Spending can therefore
never exceed the budget; what is left is reported as unspent. The same routine funds village
projects and the December settlement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .kernels import prefix_within, queue_sorted


@dataclass
class Queue:
    """Units (households or villages) grouped by county, in priority order within each county."""

    idx: np.ndarray       # unit indices
    tier: np.ndarray      # 0 = continuing, 1 + candidate tier
    cost: np.ndarray      # yuan each
    bounds: np.ndarray    # county j's part is [bounds[j], bounds[j + 1])

    @classmethod
    def build(cls, county: np.ndarray, n_counties: int, continuing: np.ndarray, continuing_cost: np.ndarray,
              candidates: np.ndarray, candidate_cost: np.ndarray, candidate_tier: np.ndarray) -> "Queue":
        """``county`` gives each unit's county; ``continuing`` and ``candidates`` are unit indices."""
        tiers = np.ascontiguousarray(candidate_tier, dtype=np.int8)
        n_tiers = 2 + int(tiers.max()) if len(tiers) else 1  # continuing participants are tier 0
        idx, tier, cost, bounds = queue_sorted(
            county, np.ascontiguousarray(continuing, dtype=np.intp), np.ascontiguousarray(continuing_cost, dtype=np.float64),
            np.ascontiguousarray(candidates, dtype=np.intp), np.ascontiguousarray(candidate_cost, dtype=np.float64),
            tiers, n_counties, n_tiers)
        return cls(idx, tier, cost, bounds)

    def part(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """County j's (cost, tier) in queue order."""
        a, b = self.bounds[j], self.bounds[j + 1]
        return self.cost[a:b], self.tier[a:b]

    def pick(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Units at queue positions [lo_j, hi_j) of every county j, in queue order."""
        parts = [self.idx[self.bounds[j] + lo[j]: self.bounds[j] + hi[j]]
                 for j in range(len(self.bounds) - 1) if hi[j] > lo[j]]
        return np.concatenate(parts) if parts else self.idx[:0]


@dataclass
class Funding:
    """One county's decision on its part of a queue."""

    funded: int = 0       # queue positions [0, funded) are funded
    continuing: int = 0   # the first ``continuing`` positions are continuing participants
    spent: float = 0.0    # yuan


def fund_prefix(cost: np.ndarray, tier: np.ndarray, budget: float, capacity: float) -> Funding:
    """The longest prefix whose running cost stays within ``budget`` and whose new enrolments (the
    positions after the continuing ones) stay within ``capacity``."""
    if not len(cost):
        return Funding()
    return Funding(*prefix_within(cost, tier, float(budget), int(capacity)))


@dataclass
class Allocation:
    funded_continuing: np.ndarray  # unit indices
    dropped_continuing: np.ndarray
    new: np.ndarray
    spent: np.ndarray              # yuan per county
    new_count: np.ndarray          # new enrolments per county


def assemble(queue: Queue, decisions: list[Funding]) -> Allocation:
    """Every county's decision on its part of ``queue``, as unit indices in queue order."""
    funded_n = np.array([d.funded for d in decisions], dtype=np.int64)
    continuing_n = np.array([d.continuing for d in decisions], dtype=np.int64)
    # A county with an empty part decided nothing: its continuing count is 0.
    zero = np.zeros(len(decisions), dtype=np.int64)
    funded_cont = np.minimum(funded_n, continuing_n)
    return Allocation(
        funded_continuing=queue.pick(zero, funded_cont),
        dropped_continuing=queue.pick(funded_cont, continuing_n),
        new=queue.pick(continuing_n, np.maximum(funded_n, continuing_n)),
        spent=np.array([d.spent for d in decisions], dtype=np.float64),
        new_count=np.maximum(funded_n - continuing_n, 0),
    )


def allocate(county: np.ndarray, n_counties: int, continuing: np.ndarray, continuing_cost: np.ndarray,
             candidates: np.ndarray, candidate_cost: np.ndarray, candidate_tier: np.ndarray,
             budget: np.ndarray, capacity: np.ndarray) -> Allocation:
    """Every county funds its part of one queue: ``budget`` and ``capacity`` are per county."""
    queue = Queue.build(county, n_counties, continuing, continuing_cost, candidates, candidate_cost, candidate_tier)
    return assemble(queue, [fund_prefix(*queue.part(j), budget[j], capacity[j]) for j in range(n_counties)])
