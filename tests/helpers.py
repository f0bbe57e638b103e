"""Helpers shared by the tests (importable because tests/ has no __init__.py)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import numpy as np

from sim.core.state import Status
from sim.programmes import PROGRAMME_NAMES
from sim.inputs.scenario import LoadedScenario

ROOT = Path(__file__).resolve().parent.parent
SANMING = ROOT / "scenarios" / "sanming.toml"
MONTHS = 12
# The programmes the shipped Sanming scenario funds (its [budgets] names them), in run order.
SANMING_PROGRAMMES = ("industry", "employment", "relocation", "education", "health", "welfare")


def scaled(loaded: LoadedScenario, scale: float, **meta) -> LoadedScenario:
    """``loaded`` with another population scale (and any other [scenario] keys)."""
    return loaded.with_changes({"scenario": {"population_scale": float(scale), **meta}})


def budgets(loaded: LoadedScenario, factor: float | dict[str, float] = 1.0,
            only: set[str] | None = None) -> LoadedScenario:
    """Every programme budget times ``factor`` (one number, or one per programme); with ``only``,
    the programmes not named get nothing."""
    factors = {prog: (factor.get(prog, 1.0) if isinstance(factor, dict) else factor) for prog in PROGRAMME_NAMES}
    if only is not None:
        factors = {prog: (f if prog in only else 0.0) for prog, f in factors.items()}
    return loaded.with_budgets_scaled(factors)


def zero_budgets(loaded: LoadedScenario) -> LoadedScenario:
    return budgets(loaded, 0.0)


def run_with_checks(model, after_assessment: Callable[[object, int], None]):
    """Run ``model`` month by month, calling ``after_assessment(model, year)`` after every December
    (``year`` is the year just assessed: the model's clock has moved on to the next January)."""
    while model.month < model.n_months:
        december = model.month % MONTHS == MONTHS - 1
        year = model.year
        model.step()
        if december:
            after_assessment(model, year)
    return model


def found_but_not_returned(model, year: int) -> np.ndarray:
    """Exited households whose per-person income at the assessment of ``year`` was below the line
    although that December's review found them (their draw below ``register.return_detection_rate``):
    they should have returned. Call it from ``run_with_checks`` (the clock is in the next January).
    An exited household below the line that the review did not find stays exited, by design."""
    hh = model.hh
    found = model.streams.uniform("entry_detection", model.month - 1, hh.n) < model.params.value("register.return_detection_rate")
    return np.flatnonzero((hh.status == Status.EXITED) & (hh.last_income_pc < model.line(year)) & found)


def copy_sanming(folder: Path) -> Path:
    """A copy of the shipped scenario in ``folder`` (so that ``extends`` can reach it), with the
    calibration's parameter sets it runs (``scenarios/calibrated/``)."""
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / "sanming.toml"
    shutil.copyfile(SANMING, dest)
    with_calibrated(folder)
    return dest


def with_calibrated(folder: Path) -> Path:
    """The calibration's parameter sets that the shipped Sanming scenario names
    (``calibrated/``), copied into ``folder``: a copy of that scenario there loads."""
    shutil.copytree(SANMING.parent / "calibrated", folder / "calibrated", dirs_exist_ok=True)
    return folder


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def totals(df, county: str = "ALL"):
    return df[df.county == county]


def snapshot(hh) -> dict[str, np.ndarray]:
    """Copies of every array of a Households object."""
    return {k: v.copy() for k, v in vars(hh).items() if isinstance(v, np.ndarray)}


def kill_self_once(marks: str, name: str) -> None:
    """SIGKILL this process, the first time only: a file ``name`` in folder ``marks`` remembers it
    across processes."""
    import os
    import signal

    try:
        fd = os.open(os.path.join(marks, name), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def households(n: int, n_programmes: int = 1, **columns):
    """A handful of households for a submodel's unit test: every column at its declared start
    value, then ``columns`` set (a scalar or one value per household)."""
    from sim.core.state import Households

    hh = Households(n, n_programmes)
    for name, value in columns.items():
        getattr(hh, name)[...] = value
    return hh


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def chromium():
    """Debian's Chromium, headless, through Playwright (``make test`` installs it): a context
    manager giving (browser, console messages of every page)."""
    import contextlib
    import os

    from playwright.sync_api import sync_playwright

    @contextlib.contextmanager
    def launched():
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("TUOPIN_CHROMIUM", "/usr/bin/chromium"),
                                        headless=True, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()

    return launched()
