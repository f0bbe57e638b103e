"""Vector helpers the monthly stages share: the same arithmetic as plain numpy indexing, faster."""

from __future__ import annotations

import numpy as np

DENSE_SHARE = 0.25  # above this share of the households, ``add_to`` adds a dense vector


def add_to(n: int, idx: np.ndarray, values: np.ndarray, *targets: np.ndarray) -> None:
    """``target[idx] += values`` for each target of length ``n`` (``idx`` ascending and unique).
    Where ``idx`` covers much of the population one dense addition (of zero elsewhere, which leaves
    every other value as it was) is faster than a gather and a scatter; the sums are the same."""
    if len(idx) > DENSE_SHARE * n:
        dense = np.zeros(n, dtype=np.result_type(targets[0].dtype, values.dtype))
        dense[idx] = values
        for target in targets:
            np.add(target, dense, out=target)
    else:
        for target in targets:
            target[idx] += values


KEEP_DENSE_SHARE = 0.15  # above this share of the households, a ``Flow`` keeps its dense vector


class Flow:
    """``values`` added to households ``idx`` (ascending, unique) of arrays of length ``n``, month
    after month while it stays the same. Where ``idx`` covers much of the population the flow keeps
    a dense vector (``values`` at ``idx``, zero elsewhere) and adds it whole: one pass per target
    instead of a gather and a scatter, with the same sums (x + 0 is x)."""

    def __init__(self, n: int, idx: np.ndarray, values: np.ndarray):
        self.n, self.idx, self.values = n, idx, values
        self._dense: np.ndarray | None = None

    def add_to(self, *targets: np.ndarray) -> None:
        if len(self.idx) <= KEEP_DENSE_SHARE * self.n:
            add_to(self.n, self.idx, self.values, *targets)
            return
        if self._dense is None:
            self._dense = np.zeros(self.n, dtype=np.result_type(targets[0].dtype, self.values.dtype))
            self._dense[self.idx] = self.values
        for target in targets:
            np.add(target, self._dense, out=target)
