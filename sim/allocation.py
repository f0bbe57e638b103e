"""Yearly allocation of each programme's county budget to households (四到县: funds to counties).

Each January, for every programme and every county at once: continuing participants come first
(their yearly cost), then new candidates in priority order (precision targeting: the programme's
matching causes first; untargeted: one queue). Funds are committed down the queue while the
county's cumulative cost stays within its budget, and new enrolments within the programme's
capacity. Spending can therefore never exceed the budget; what is left is reported as unspent.
Within a tier the order is the population's lottery order (household index).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Allocation:
    funded_continuing: np.ndarray  # household indices
    dropped_continuing: np.ndarray
    new: np.ndarray
    spent: np.ndarray              # yuan per county
    new_count: np.ndarray          # new enrolments per county


def allocate(county: np.ndarray, n_counties: int, continuing: np.ndarray, continuing_cost: np.ndarray,
             candidates: np.ndarray, candidate_cost: np.ndarray, candidate_tier: np.ndarray,
             budget: np.ndarray, capacity: np.ndarray) -> Allocation:
    """Choose who is funded. ``budget`` and ``capacity`` are per county."""
    idx = np.concatenate([continuing, candidates])
    tier = np.concatenate([np.zeros(len(continuing), np.int8), 1 + candidate_tier.astype(np.int8)])
    n_tiers = int(tier.max()) + 1 if len(tier) else 1
    key = county[idx].astype(np.int32) * n_tiers + tier
    key = key.astype(np.int16) if n_counties * n_tiers < 2**15 else key  # radix sort for int16
    order = np.argsort(key, kind="stable")
    del key
    # Reorder one array at a time: a month's peak memory is set here at province scale.
    idx = idx[order]
    tier = tier[order]
    cost = np.concatenate([continuing_cost, candidate_cost]).astype(np.float64)[order]
    del order
    bounds = np.searchsorted(county[idx], np.arange(n_counties + 1))

    # Each county's queue is funded as a prefix: its running cost stays within the budget, and
    # new enrolments (after all continuing ones) within the capacity.
    funded_n = np.zeros(n_counties, dtype=np.int64)
    continuing_n = np.zeros(n_counties, dtype=np.int64)
    spent = np.zeros(n_counties)
    for j in range(n_counties):
        a, b = bounds[j], bounds[j + 1]
        if a == b:
            continue
        running = np.cumsum(cost[a:b])
        continuing_n[j] = np.searchsorted(tier[a:b], 1)  # tiers ascend within the county
        k = min(int(np.searchsorted(running, budget[j], side="right")), continuing_n[j] + int(capacity[j]))
        funded_n[j] = k
        spent[j] = running[k - 1] if k else 0.0

    def pick(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Households at queue positions [lo_j, hi_j) of every county j, in queue order."""
        parts = [idx[bounds[j] + lo[j]: bounds[j] + hi[j]] for j in range(n_counties) if hi[j] > lo[j]]
        return np.concatenate(parts) if parts else idx[:0]

    zero = np.zeros(n_counties, dtype=np.int64)
    funded_cont = np.minimum(funded_n, continuing_n)
    return Allocation(
        funded_continuing=pick(zero, funded_cont),
        dropped_continuing=pick(funded_cont, continuing_n),
        new=pick(continuing_n, np.maximum(funded_n, continuing_n)),
        spent=spent,
        new_count=np.maximum(funded_n - continuing_n, 0),
    )
