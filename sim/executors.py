"""Where replicate runs execute: one concurrent.futures interface for every backend.

- a local process pool (default), with workers started by forkserver;
- a Dask distributed cluster (``--dask ADDRESS`` or the ``TUOPIN_DASK`` environment variable),
  through ``distributed.Client.get_executor()``, which speaks the same interface.

Every replicate is a pure function of (scenario, seed), so results are identical whichever runs it.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Iterator

DASK_ENV = "TUOPIN_DASK"


def dask_address(explicit: str | None = None) -> str | None:
    """The Dask scheduler to use: the explicit address, else ``$TUOPIN_DASK``, else none."""
    return explicit or os.environ.get(DASK_ENV) or None


@contextmanager
def executor_for(workers: int, dask: str | None = None) -> Iterator[Executor]:
    """An executor for ``workers`` local processes, or for the Dask cluster at ``dask``."""
    if dask:
        from distributed import Client

        client = Client(dask, set_as_default=False)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
        try:
            yield pool
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
