"""Numbers for a terminal: short forms (61.2k, 230M), intervals in few characters, and rich
tables rendered to plain text that fits ``WIDTH`` columns."""

from __future__ import annotations

import io

import numpy as np

WIDTH = 100  # terminal columns a table fits


def short(v: float) -> str:
    """A number in few characters: 61,234 → 61.2k, 2.3e8 → 230M, 0.0277 → 0.0277."""
    if v is None or not np.isfinite(v):
        return "–"
    a = abs(v)
    for size, suffix in ((1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            x = v / size
            return (f"{x:.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}") + suffix
    return f"{v:.0f}" if a >= 100 else f"{v:.3g}"


def span(lo: float, hi: float) -> str:
    """An interval in few characters: 84.3–86.4k (one suffix when both ends share it)."""
    a, b = short(lo), short(hi)
    suffix = next((x for x in ("bn", "M", "k") if a.endswith(x) and b.endswith(x)), "")
    if a.startswith("-") or b.startswith("-"):
        return f"{a} to {b}"
    return f"{a[:len(a) - len(suffix)]}–{b}" if suffix else f"{a}–{b}"


def render(*items, width: int = WIDTH) -> str:
    """rich renderables (tables, text) as plain text at most ``width`` columns wide."""
    from rich.console import Console

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    for item in items:
        console.print(item)
    return console.export_text()
