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
