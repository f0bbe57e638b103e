"""A progress bar for the long commands (calibrate, sensitivity, optimize): tqdm on a terminal,
nothing when the output goes elsewhere."""

from __future__ import annotations

import sys
from typing import Callable


def progress_bar(label: str) -> tuple[object, Callable[[int, int], None]]:
    """The bar and the ``update(done, total)`` callback the long-running functions take."""
    from tqdm.auto import tqdm

    bar = tqdm(total=1, desc=label, unit="run", disable=not sys.stderr.isatty())

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update
