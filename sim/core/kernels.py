"""Compiled loops: the few per-household passes of a month that numpy cannot make in one pass.

Each kernel does, household by household, exactly the floating-point operations of the numpy
expression it replaces, in the same order, so results are identical to the last bit (``tests/test_kernels.py``
checks each against its numpy expression). They are compiled by Numba when this module is imported
(the explicit signatures make the compilation eager), and the machine code is cached next to the
module, so a later process loads it instead of compiling again. Numba is used without fast-math:
no operation is reordered or fused (no multiply-add), so the results do not depend on the
processor's instruction set.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit("void(intp[::1], float32[::1], float32[:])", cache=True, nogil=True)
def scatter_add(idx, values, target):  # pragma: no cover (compiled)
    """``target[idx] += values`` (``idx`` unique): a gather, an addition and a scatter in one pass."""
    for k in range(idx.size):
        target[idx[k]] += values[k]


@njit("void(intp[::1], float32[::1], float32[:], float32[:])", cache=True, nogil=True)
def scatter_add_pair(idx, values, a, b):  # pragma: no cover (compiled)
    """``a[idx] += values`` and ``b[idx] += values`` (``idx`` unique) in one pass over ``idx``."""
    for k in range(idx.size):
        i = idx[k]
        v = values[k]
        a[i] += v
        b[i] += v


@njit("void(intp[::1], float32[::1], boolean[::1], boolean[::1], int16[::1], int64, float32[::1], float32[::1])",
      cache=True, nogil=True)
def wage_flow(idx, gain, post, employed, support_end, month, a, b):  # pragma: no cover (compiled)
    """Employment's month: ``gain`` (at ``idx``, unique) added to ``a`` and ``b`` where the wage
    flows: a post's while ``month < support_end``, a market job's while ``employed``. The same sums
    as ``gain * np.where(post, post & (month < support_end), employed)`` added where not zero."""
    for k in range(idx.size):
        i = idx[k]
        flows = month < support_end[i] if post[i] else employed[i]
        v = gain[k] * np.float32(flows)
        if v != 0:
            a[i] += v
            b[i] += v


@njit("intp[::1](float32[:, ::1], intp[::1], float64[::1], uint8[::1], float64, boolean[::1], boolean[::1])",
      cache=True, nogil=True)
def exit_pathways(contribution, exit_idx, net_pc, size, line, development, guarantees):  # pragma: no cover (compiled)
    """Each exit's pathway from this year's contributions (one row per programme), before any
    programme claims it: the development programme with the largest positive contribution; else
    the income-guaranteeing one with the largest positive contribution; else ``n_programmes``
    (spontaneous) if income without every contribution reaches the line; else the programme with
    the largest contribution. Ties go to the first in programme order. The sums and comparisons
    are numpy's on the float64 contributions: ``net_pc × size − Σ contributions`` with the rows
    added in programme order."""
    n_p = contribution.shape[0]
    if n_p == 0:
        raise ValueError("no programme rows")
    out = np.empty(exit_idx.size, dtype=np.intp)
    for j in range(exit_idx.size):
        i = exit_idx[j]
        decided = False
        for route in (development, guarantees):
            best, top = -1, 0.0
            for k in range(n_p):
                c = np.float64(contribution[k, i])
                if route[k] and (best < 0 or c > top):
                    best, top = k, c
            if best >= 0 and top > 0:
                out[j] = best
                decided = True
                break
        if decided:
            continue
        total = np.float64(contribution[0, i])
        best, top = 0, total
        for k in range(1, n_p):
            c = np.float64(contribution[k, i])
            total += c
            if c > top:
                best, top = k, c
        s = np.float64(size[i])
        out[j] = n_p if net_pc[i] * s - total >= line * s else best
    return out


@njit("float64[::1](intp[::1], uint8[::1], float32[::1], float32[::1], float32[::1], uint8[::1], int64, float64, "
      "float64, float64, float64)", cache=True, nogil=True)
def shortfall_topup(idx, size, last_income_pc, contribution, transfer, category, special, line, special_line,
                    growth, transfer_growth):  # pragma: no cover (compiled)
    """Yuan a year that bring each household ``idx`` to its support line (``special_line`` per
    person for households of category ``special``, ``line`` for the others) from its expected
    income: last year's income without the programme's ``contribution``, transfers grown by
    ``transfer_growth``, the rest by ``growth`` (each a factor, 1 + rate); 0 where it reaches the
    line. numpy's float64 operations on the gathered columns, in the same order."""
    out = np.empty(idx.size, dtype=np.float64)
    for k in range(idx.size):
        i = idx[k]
        persons = np.float64(size[i])
        without = np.float64(last_income_pc[i]) * persons - np.float64(contribution[i])
        transfers = np.float64(transfer[i])
        expected = (without - transfers) * growth + transfers * transfer_growth
        target = special_line if category[i] == special else line
        short = target * persons - expected
        out[k] = short if short > 0.0 else 0.0
    return out


@njit("void(float32[::1], float32[::1], boolean[::1], uint8[::1], float32[::1], float32[::1], "
      "float32[::1], uint8[::1])", cache=True, nogil=True)
def accrue_month(year_farm, year_wage, employed, labour, transfer, asset, income_year,
                 sick_months):  # pragma: no cover (compiled)
    """One month of income for every household, as numpy would compute it element by element:
    ((year_farm + year_wage × employed) × the sick member's share + transfer + asset) / 12, added
    to ``income_year``; a sick household's months of lost work count down by one."""
    twelve = np.float32(12.0)
    one = np.float32(1.0)
    for i in range(income_year.size):
        earned = year_wage[i] * np.float32(employed[i])
        earned = year_farm[i] + earned
        if sick_months[i] != 0:
            if labour[i] > 0:
                able = np.float32(labour[i])
                earned = earned * ((able - one) / able)
            sick_months[i] -= np.uint8(1)
        earned = earned + transfer[i]
        earned = earned + asset[i]
        earned = earned / twelve
        income_year[i] += earned


@njit("intp[::1](float32[::1], float32[::1])", cache=True, nogil=True)
def below(u, rate):  # pragma: no cover (compiled)
    """``np.flatnonzero(u < rate)``: the households whose uniform falls below their own rate."""
    out = np.empty(u.size, dtype=np.intp)
    k = 0
    for i in range(u.size):
        if u[i] < rate[i]:
            out[k] = i
            k += 1
    return out[:k].copy()


@njit("Tuple((intp[::1], intp[::1]))(float32[::1], float32, uint8[::1], float32, boolean[::1])",
      cache=True, nogil=True)
def disability_draws(u, rate, labour, recover_above, chronic):  # pragma: no cover (compiled)
    """The month's disability and recovery from one uniform: ``np.flatnonzero((u < rate) &
    (labour > 0))`` and ``np.flatnonzero((u >= recover_above) & chronic)``."""
    hit = np.empty(u.size, dtype=np.intp)
    recover = np.empty(u.size, dtype=np.intp)
    h = r = 0
    for i in range(u.size):
        if u[i] < rate and labour[i] > 0:
            hit[h] = i
            h += 1
        if u[i] >= recover_above and chronic[i]:
            recover[r] = i
            r += 1
    return hit[:h].copy(), recover[:r].copy()


@njit("void(float32[::1], float32, float32, boolean[::1], boolean[::1], uint8[::1])", cache=True, nogil=True)
def jobs(u, loss_rate, rehire_rate, employed, had_job, labour):  # pragma: no cover (compiled)
    """A held job is lost below ``loss_rate``; a household that had a job and has labour finds
    one again below ``rehire_rate`` (the sets are disjoint: one uniform serves both)."""
    for i in range(u.size):
        if employed[i]:
            if u[i] < loss_rate:
                employed[i] = False
        elif u[i] < rehire_rate and had_job[i] and labour[i] > 0:
            employed[i] = True


# Counting by county: without a branch on the mask (a mask near half full defeats branch
# prediction), into four rows of counters taken in turn (consecutive households do not wait on the
# same counter), summed at the end.
_ROWS = 4


@njit(inline="always")
def _group_of(group, i, n_groups):  # pragma: no cover (compiled)
    """Unit i's group, checked to lie in [0, n_groups) (the counters are not bounds-checked)."""
    g = group[i]
    if g < 0 or g >= n_groups:
        raise IndexError("group out of range")
    return g


@njit("int64[::1](boolean[::1], int16[::1], int64)", cache=True, nogil=True)
def count_where(mask, group, n_groups):  # pragma: no cover (compiled)
    """``np.bincount(group[np.flatnonzero(mask)], minlength=n_groups)`` for groups in [0, n_groups)."""
    counts = np.zeros((_ROWS, n_groups), dtype=np.int64)
    for i in range(mask.size):
        g = _group_of(group, i, n_groups)
        counts[i % _ROWS, g] += mask[i]
    return counts.sum(axis=0)


@njit("Tuple((int64[::1], float64[::1]))(boolean[::1], int16[::1], uint8[::1], int64)", cache=True, nogil=True)
def count_and_sum_where(mask, group, weight, n_groups):  # pragma: no cover (compiled)
    """``count_where`` and, per group, the sum of ``weight`` over the same households, in float64
    as ``np.bincount(..., weights=weight[idx])`` gives it (whole numbers far below 2⁵³: summed as
    integers, the same values)."""
    counts = np.zeros((_ROWS, n_groups), dtype=np.int64)
    sums = np.zeros((_ROWS, n_groups), dtype=np.int64)
    for i in range(mask.size):
        g = _group_of(group, i, n_groups)
        m = np.int64(mask[i])
        counts[i % _ROWS, g] += m
        sums[i % _ROWS, g] += m * np.int64(weight[i])
    return counts.sum(axis=0), sums.sum(axis=0).astype(np.float64)


@njit("Tuple((int64[::1], int64[::1]))(boolean[::1], boolean[::1], boolean[::1], int16[::1], boolean, int16[::1], "
      "int64)", cache=True, nogil=True)
def coverage_counts(served, continuing, candidates, enrolled_month, one_off, group, n_groups):  # pragma: no cover (compiled)
    """A programme's coverage base by county in one pass: households in its queue that the
    register serves (``(continuing | candidates) & served``), and, for a one-off programme, the
    served ones it enrolled in an earlier year that are in neither list (``reached``; zeros
    otherwise)."""
    queued = np.zeros((_ROWS, n_groups), dtype=np.int64)
    reached = np.zeros((_ROWS, n_groups), dtype=np.int64)
    for i in range(served.size):
        g = _group_of(group, i, n_groups)
        listed = continuing[i] | candidates[i]
        queued[i % _ROWS, g] += served[i] & listed
        if one_off:
            reached[i % _ROWS, g] += served[i] & (enrolled_month[i] >= 0) & (not listed)
    return queued.sum(axis=0), reached.sum(axis=0)


@njit(["int64[::1](intp[::1], boolean[::1], int16[::1], int64)"], cache=True, nogil=True)
def count_at(idx, mask, group, n_groups):  # pragma: no cover (compiled)
    """``np.bincount(group[idx[mask[idx]]], minlength=n_groups)``: the units ``idx`` where ``mask``
    holds, counted by group, in one pass over ``idx``."""
    counts = np.zeros((_ROWS, n_groups), dtype=np.int64)
    for k in range(idx.size):
        i = idx[k]
        g = _group_of(group, i, n_groups)
        counts[k % _ROWS, g] += mask[i]
    return counts.sum(axis=0)


_QUEUE = "Tuple((intp[::1], int8[::1], float64[::1], intp[::1]))({}[::1], intp[::1], float64[::1], intp[::1], " \
         "float64[::1], int8[::1], int64, int64)"


@njit([_QUEUE.format("int16"), _QUEUE.format("int64")], cache=True, nogil=True)
def queue_sorted(county, continuing, continuing_cost, candidates, candidate_cost, candidate_tier, n_counties,
                 n_tiers):  # pragma: no cover (compiled)
    """A programme's queue: the ``continuing`` units (tier 0) and the ``candidates`` (tier 1 +
    their ``candidate_tier``), sorted by (county, tier) by counting, ties in that order (as
    ``np.argsort(kind="stable")`` orders the continuing units followed by the candidates).
    Returns the units, their tiers, their costs, and where each county's part begins
    (``bounds[j]``; ``bounds[n_counties]`` is the length)."""
    n_keys = n_counties * n_tiers
    start = np.zeros(n_keys + 1, dtype=np.intp)
    for k in range(continuing.size):
        c = county[continuing[k]]
        if c < 0 or c >= n_counties:
            raise IndexError("county out of range")
        start[c * n_tiers + 1] += 1
    for k in range(candidates.size):
        c = county[candidates[k]]
        t = 1 + candidate_tier[k]
        if c < 0 or c >= n_counties or t < 1 or t >= n_tiers:
            raise IndexError("county or tier out of range")
        start[c * n_tiers + t + 1] += 1
    for key in range(n_keys):
        start[key + 1] += start[key]
    bounds = np.empty(n_counties + 1, dtype=np.intp)
    for j in range(n_counties + 1):
        bounds[j] = start[j * n_tiers]
    n = continuing.size + candidates.size
    idx = np.empty(n, dtype=np.intp)
    tier = np.empty(n, dtype=np.int8)
    cost = np.empty(n, dtype=np.float64)
    for k in range(continuing.size):
        key = county[continuing[k]] * n_tiers
        p = start[key]
        idx[p], tier[p], cost[p] = continuing[k], 0, continuing_cost[k]
        start[key] = p + 1
    for k in range(candidates.size):
        t = 1 + candidate_tier[k]
        key = county[candidates[k]] * n_tiers + t
        p = start[key]
        idx[p], tier[p], cost[p] = candidates[k], t, candidate_cost[k]
        start[key] = p + 1
    return idx, tier, cost, bounds


# A county's funding decision (sim/core/allocation.py, sim/core/coverage.py), once per county and
# programme each January: a running sum that stops where the budget or the target is met, in place
# of a cumulative sum of the whole part and a binary search (the same sequential float64 sums).

@njit(inline="always")
def _continuing_and_limit(tier, capacity):  # pragma: no cover (compiled)
    """The number of continuing entries (tier 0, first in a county's part) and the most entries a
    prefix may hold with at most ``capacity`` after them."""
    n = tier.size
    continuing = n
    for i in range(n):
        if tier[i] >= 1:
            continuing = i
            break
    return continuing, min(n, max(continuing + capacity, 0))


@njit("Tuple((int64, int64, float64))(float64[::1], int8[::1], float64, int64)", cache=True, nogil=True)
def prefix_within(cost, tier, budget, capacity):  # pragma: no cover (compiled)
    """The longest prefix of a county's queue (``cost`` ≥ 0, ``tier`` ascending, 0 = continuing)
    whose running cost stays within ``budget`` and that holds at most ``capacity`` entries after
    the continuing ones: (its length, the number of continuing entries, its cost)."""
    continuing, limit = _continuing_and_limit(tier, capacity)
    spent = 0.0
    k = 0
    while k < limit:
        running = spent + cost[k]
        if running > budget:
            break
        spent = running
        k += 1
    return k, continuing, spent


@njit("Tuple((int64, int64, float64))(float64[::1], int8[::1], boolean[::1], int64, int64)", cache=True, nogil=True)
def prefix_to_target(cost, tier, counts, need, capacity):  # pragma: no cover (compiled)
    """The shortest prefix of a county's queue holding ``need`` entries that count, with at most
    ``capacity`` entries after the continuing ones (the longest capacity allows if that many
    cannot be had): (its length, the number of continuing entries, its cost)."""
    continuing, limit = _continuing_and_limit(tier, capacity)
    k = 0
    if need > 0:
        k = limit
        held = 0
        for i in range(limit):
            held += counts[i]
            if held >= need:
                k = i + 1
                break
    spent = 0.0
    for i in range(k):
        spent += cost[i]
    return k, continuing, spent
