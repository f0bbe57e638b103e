"""Run arguments — the root seed, the number of replicates, worker processes — checked against
stated limits wherever they come from (the command line, a seed file, a manifest, a Python call),
so that a bad one is one InputError naming its origin, the argument and the value."""

from __future__ import annotations

import numbers
from typing import Any

from .errors import InputError

# Seeds are below 2**63: replicate seeds are masked to 63 bits (core/streams.py), and a scenario
# file's seed is held to the same limit, so every seed a run records can be given back to it.
SEED_LIMIT = 2**63
# Replicates of one run: the seed list, the progress bar and replicates/ hold one entry per
# replicate. 100,000 replicates of Sanming at full size are about a week on one core; a larger
# study is several runs with distinct root seeds.
MAX_REPLICATES = 100_000
COMMAND_LINE = "command line"  # the origin named in errors about a command-line option


def whole_number(value: Any, origin: str, key: str, low: int, high: int, what: str) -> int:
    """``value`` as an int in ``low``..``high``; a bool is not a number here (``true`` is not 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(origin, key, value, f"{what} must be a whole number", f"{low:,} to {high:,}")
    if not low <= int(value) <= high:
        raise InputError(origin, key, value, f"{what} is out of range", f"{low:,} to {high:,}")
    return int(value)


def check_seed(value: Any, origin: str, key: str) -> int:
    return whole_number(value, origin, key, 0, SEED_LIMIT - 1, "a seed")


def check_replicates(value: Any, origin: str, key: str) -> int:
    return whole_number(value, origin, key, 1, MAX_REPLICATES, "the number of replicates")


def check_workers(value: Any, origin: str, key: str) -> int | None:
    """None (one per core) or at least one; more than there are replicates is allowed (capped)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InputError(origin, key, value, "the number of worker processes must be a whole number >= 1",
                         "1 or more, or none for one per core")
    return int(value)
