"""Vector helpers the stages share: a programme's monthly flow and the quantiles of the yearly
record, each the same arithmetic as the plain numpy it replaces, faster."""

from __future__ import annotations

import math

import numpy as np

from .kernels import scatter_add, scatter_add_pair

KEEP_DENSE_SHARE = 0.15  # above this share of the households, a ``Flow`` keeps its dense vector
WHOLE_EXACT = 2.0**53    # float64 holds every whole number below this exactly


class Flow:
    """``values`` (float32) added to households ``idx`` (ascending, unique) of float32 arrays of
    length ``n``, month after month while it stays the same. Where ``idx`` covers much of the
    population the flow keeps a dense vector (``values`` at ``idx``, zero elsewhere) and adds it
    whole, one streaming pass per target, with the same sums (x + 0 is x); elsewhere a compiled
    loop adds each value where it belongs."""

    def __init__(self, n: int, idx: np.ndarray, values: np.ndarray):
        self.n, self.idx, self.values = n, np.ascontiguousarray(idx, dtype=np.intp), values
        self._dense: np.ndarray | None = None

    def add_to(self, *targets: np.ndarray) -> None:
        if len(self.idx) <= KEEP_DENSE_SHARE * self.n:
            if len(targets) == 2:
                scatter_add_pair(self.idx, self.values, *targets)
            else:
                for target in targets:
                    scatter_add(self.idx, self.values, target)
            return
        if self._dense is None:
            self._dense = np.zeros(self.n, dtype=np.float32)
            self._dense[self.idx] = self.values
        for target in targets:
            np.add(target, self._dense, out=target)


def sorted_quantiles(s: np.ndarray, qs) -> np.ndarray:
    """``np.quantile(s, qs)`` (the linear method) of a sorted, non-empty, NaN-free array ``s``,
    computed as numpy computes it (float64), without the partition numpy makes first: numpy
    partitions even a sorted array around each order statistic, which costs more than the sort."""
    q = np.asarray(qs, dtype=np.float64)
    n = len(s)
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    last = virtual >= n - 1  # numpy takes the last value for these: both neighbours at −1
    previous[last] = -1
    following[last] = -1
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    gamma = virtual - previous
    a, b = s[previous], s[following]
    diff = b - a
    # numpy's interpolation: from the lower neighbour below the midpoint, from the upper at or above.
    out = np.add(a, diff * gamma)
    np.subtract(b, diff * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe", dtype=np.float64)
    return out




def exact_sums(a: np.ndarray) -> np.ndarray:
    """The sum of each row of a 2-D array, exactly rounded (``math.fsum``), NaN terms skipped (a
    sum of none is 0); whole numbers (int64) summed exactly. The tables' totals: a total is then
    the same whatever the order of the terms or the library that adds them."""
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return a.sum(axis=1, dtype=np.int64)
    a = a.astype(np.float64, copy=False)
    if not a.size or (np.all(a == np.trunc(a)) and np.abs(a).sum() < WHOLE_EXACT):
        # Whole numbers (no NaN, none infinite) whose magnitudes add up below 2⁵³: every partial
        # sum is a whole number a float64 holds exactly, so any order of addition is exact.
        return a.sum(axis=1)
    return np.array([math.fsum(row[row == row]) for row in a], dtype=np.float64)
