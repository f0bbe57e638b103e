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
    cost = np.concatenate([continuing_cost, candidate_cost]).astype(np.float64)
    tier = np.concatenate([np.zeros(len(continuing), np.int8), 1 + candidate_tier.astype(np.int8)])
    n_tiers = int(tier.max()) + 1 if len(tier) else 1
    c = county[idx]
    key = c.astype(np.int32) * n_tiers + tier
    key = key.astype(np.int16) if n_counties * n_tiers < 2**15 else key  # radix sort for int16
    order = np.argsort(key, kind="stable")
    del key
    idx, cost, tier, c = idx[order], cost[order], tier[order], c[order]

    starts = np.searchsorted(c, np.arange(n_counties))
    cum = np.cumsum(cost)
    before = np.concatenate([[0.0], cum])[starts]  # cumulative cost before each county's block
    within = cum - before[c]
    is_new = tier > 0
    cum_new = np.cumsum(is_new)
    new_before = np.concatenate([[0], cum_new])[starts]
    new_within = cum_new - new_before[c]
    funded = (within <= budget[c]) & (~is_new | (new_within <= capacity[c]))

    spent = np.bincount(c[funded], weights=cost[funded], minlength=n_counties)
    new_mask = funded & is_new
    return Allocation(
        funded_continuing=idx[funded & ~is_new],
        dropped_continuing=idx[~funded & ~is_new],
        new=idx[new_mask],
        spent=spent,
        new_count=np.bincount(c[new_mask], minlength=n_counties),
    )
