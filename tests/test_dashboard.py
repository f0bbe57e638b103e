"""The dashboard (issue 11): controls turned into overrides, the option written as a scenario file
that loads and reproduces the dashboard's numbers, bad values refused with a scenario file's
message, runs that can be cancelled; and the page itself in Debian's Chromium: load it, move a
budget slider, see the paired difference change, save the option, step one run, no console
error, a screenshot.

``TUOPIN_DASHBOARD_SCREENSHOT=1`` also writes the screenshot to docs/dashboard.png (the README's).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import ROOT, chromium, copy_sanming, write
from sim import InputError, load_scenario, run_ensemble
from sim.app import dashboard_options as opts
from sim.app.dashboard_runs import Cancelled, Engine, Job

TRANSITION = ROOT / "scenarios" / "sanming-transition.toml"
SAMPLE = 0.05
SCREENSHOT_ENV = "TUOPIN_DASHBOARD_SCREENSHOT"


@pytest.fixture
def start(tmp_path):
    """Sanming (a copy, so that saved options land in tmp_path) at a 5 % sample, 2 replicates."""
    return opts.start(copy_sanming(tmp_path), sample=SAMPLE, replicates=2)


# ---- controls and overrides ---------------------------------------------------------------------

def test_controls_start_at_the_scenario(start):
    spec = start.scenario.spec
    c = start.controls
    assert start.programmes == list(spec.budgets)
    assert c.budget("employment") == pytest.approx(3.46)
    # A year table shows as its average over the run.
    assert c.budget("industry") == pytest.approx(sum(spec.budget("industry", y) for y in spec.years) / 6 / 1e6)
    assert start.tables == {"industry", "welfare"}
    assert (c.targeting, c.support_years, c.monitoring, c.sample, c.replicates, c.seed) == (
        "precision", 5.0, True, SAMPLE, 2, spec.scenario.seed)
    assert not start.reaches_transition
    assert opts.option_overrides(start, c) == {}
    assert not opts.check(start, c).changed
    assert opts.start(TRANSITION).reaches_transition


def test_controls_become_overrides_of_what_changed(start):
    c = start.controls
    # Within half a slider step of the scenario's value is the scenario's value.
    assert opts.option_overrides(start, c.with_budget("employment", 3.46 + 1e-12)) == {}
    assert opts.option_overrides(start, c.with_budget("employment", 4.5)) == {"budgets.employment": 4.5e6}
    # A year table is scaled by one factor: every year keeps its share.
    years = start.budget_years("industry")
    scaled = opts.option_overrides(start, c.with_budget("industry", 2 * c.budget("industry")))["budgets.industry"]
    assert scaled == {str(y): pytest.approx(2 * v) for y, v in years.items()}
    changed = replace(c, targeting="untargeted", support_years=2.0, monitoring=False)
    over = opts.option_overrides(start, changed)
    assert over["scenario.targeting"] == "untargeted"
    assert over["transition.monitoring"] is False
    assert {k: v for k, v in over.items() if k.endswith("continue_after_exit_years")} == {
        f"programme.{p}.continue_after_exit_years": 2 for p in start.programmes}
    # The run settings are not the option: both sides run at the sample.
    checked = opts.check(start, replace(c, sample=0.07))
    assert not checked.changed
    assert checked.option.spec.scenario.population_scale == checked.baseline.spec.scenario.population_scale == 0.07
    both = opts.check(start, c.with_budget("employment", 4.5))
    assert both.option.spec.budgets["employment"] == 4.5e6 and both.baseline.spec.budgets["employment"] == 3.46e6


def test_a_bad_value_is_refused_with_a_scenario_files_message(start, tmp_path):
    with pytest.raises(InputError) as refused:
        opts.check(start, replace(start.controls, sample=2.0))
    bad = write(tmp_path, "bad.toml", '[scenario]\nextends = "sanming.toml"\nname = "bad"\npopulation_scale = 2.0\n')
    with pytest.raises(InputError) as in_file:
        load_scenario(bad)
    assert str(refused.value).startswith("dashboard: scenario.population_scale = 2.0: ")
    assert str(refused.value).removeprefix("dashboard") == str(in_file.value).removeprefix(str(bad))
    with pytest.raises(InputError, match=r"^dashboard: seed = -1: a seed is out of range"):
        opts.check(start, replace(start.controls, seed=-1))
    with pytest.raises(InputError, match=r"^dashboard: replicates = 0: "):
        opts.check(start, replace(start.controls, replicates=0))


# ---- the option as a scenario file ---------------------------------------------------------------

def test_the_saved_option_loads_and_reproduces_the_dashboards_numbers(start):
    c = replace(start.controls.with_budget("employment", 5.0).with_budget("welfare", 40.0),
                targeting="untargeted", support_years=3.0, seed=7)
    path = opts.write_overlay(start, c)
    assert path.parent == start.path.parent and path.name.startswith("sanming-option-")
    text = path.read_text(encoding="utf-8")
    assert 'extends = "sanming.toml"' in text and "employment = 5000000.0" in text
    budgets = text.split("[budgets]")[1].split("[parameters]")[0]
    assert "employment" in budgets and "welfare" in budgets and "relocation" not in budgets  # only what changed
    from sim.app.cli import app

    ok = CliRunner().invoke(app, ["validate", str(path)])
    assert ok.exit_code == 0, ok.output
    loaded = load_scenario(path)
    checked = opts.check(start, c)
    assert loaded.spec.budgets["employment"] == 5e6
    assert loaded.spec.scenario.population_scale == SAMPLE and loaded.spec.scenario.seed == 7
    # The same scenario but for its name, title and seed (the dashboard gives the seed to the run,
    # the file keeps it in [scenario] so that `tuopin run` uses it).
    mine, theirs = checked.option.spec.model_dump(), loaded.spec.model_dump()
    for d in (mine, theirs):
        del d["scenario"]["name"], d["scenario"]["title"], d["scenario"]["seed"]
    assert mine == theirs
    # The same tables as the dashboard's run of the option, with the file's own seed.
    dashboard = run_ensemble(checked.option, seed=c.seed, replicates=1, progress=False)
    reproduced = run_ensemble(loaded, replicates=1, progress=False)
    assert dashboard.yearly.drop(columns="seed").equals(reproduced.yearly.drop(columns="seed"))
    assert opts.write_overlay(start, c) == path  # the same option, the same file


def test_the_option_is_saved_only_where_extends_reaches_the_scenario(start, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(InputError, match="save it beside it or in a folder above it"):
        opts.write_overlay(start, start.controls, elsewhere)
    above = opts.write_overlay(opts.start(copy_sanming(tmp_path / "deep" / "er"), sample=SAMPLE),
                               start.controls, tmp_path / "deep")
    assert 'extends = "er/sanming.toml"' in above.read_text(encoding="utf-8")
    load_scenario(above)


# ---- runs ----------------------------------------------------------------------------------------

def test_a_run_compares_with_common_random_numbers_keeps_the_scenario_and_can_be_cancelled(start):
    with ThreadPoolExecutor(1) as pool:
        engine = Engine(1, pool=pool)
        c = replace(start.controls, replicates=2, sample=0.03)
        first = engine.run(opts.check(start, c))
        assert first.replicates_run == 2  # the scenario alone: the option is the scenario
        paired = first.comparison.paired
        assert (paired["mean"].drop(("option", "marginal_cost_per_sustained_exit"), errors="ignore") == 0).all()

        # A newer change cancels the older: replicates not started are dropped.
        job = Job()
        seen = []

        def progress(done, total):
            seen.append(done)
            job.cancel()  # at the first report (every 10 ms): the second replicate has not started

        with pytest.raises(Cancelled):
            engine.run(opts.check(start, c.with_budget("employment", 9.0)), job, progress, poll=0.01)
        assert job.done < job.total == 2

        more = engine.run(opts.check(start, c.with_budget("employment", 9.0)))
        assert more.replicates_run == 2  # the option only: the scenario's ensemble was kept
        row = more.comparison.paired.loc[("option", "spent")]
        assert row["mean"] > 0  # a larger budget is spent
        v = more.views
        assert set(v.charts) == {"paired", "registered", "exits", "pathways", "spending"}
        assert all(png.startswith(b"\x89PNG") for png in v.charts.values())
        assert "Ninghua" in v.counties_html and v.paired[0]["outcome"] == "sustained_exits_persons"


# ---- the page in a browser -------------------------------------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Launched:
    """``tuopin dashboard`` started in its own process; its output read as it comes."""

    def __init__(self, folder: Path):
        from sim.app import dashboard_assets

        dashboard_assets.install()  # once per environment, from the npm registry (as make does)
        self.folder = folder
        scenario = copy_sanming(folder)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sim.app.cli", "dashboard", str(scenario), "--port", str(_free_port()),
             "--sample", str(SAMPLE), "--replicates", "2", "--workers", "1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True).start()

    def url(self, timeout: float = 150) -> str:
        deadline = time.monotonic() + timeout
        while not any("tuopin dashboard: http" in line for line in self.lines):
            assert self.proc.poll() is None, "the dashboard ended: " + "".join(self.lines)
            assert time.monotonic() < deadline, "the dashboard did not start: " + "".join(self.lines)
            time.sleep(0.2)
        return re.search(r"http://\S+", next(x for x in self.lines if "tuopin dashboard: http" in x)).group(0)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module", autouse=True)
def launched(tmp_path_factory):
    """The dashboard on a copy of Sanming at a 5 % sample with 2 replicates, started with the
    module so that its start overlaps the tests before the browser's."""
    dashboard = Launched(tmp_path_factory.mktemp("dashboard"))
    try:
        yield dashboard
    finally:
        dashboard.stop()


@pytest.fixture
def served(launched):
    """(the page's address, the folder of the scenario it serves)."""
    return launched.url(), launched.folder


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_page_moves_a_budget_and_saves_the_option(served, tmp_path):
    url, folder = served
    errors: list[str] = []
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1500, "height": 2700})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="networkidle")

        sustained = page.locator("[data-outcome=sustained_exits_persons]")
        sustained.wait_for(timeout=60_000)
        assert sustained.inner_text() == "+0"  # the option is the scenario: no difference
        chart = page.locator(".tuopin-paired-chart img")
        before = chart.get_attribute("src")

        # Move the employment budget slider to its end (11 M yuan a year, from 3.46).
        thumb = page.locator(".tuopin-budget-employment .v-slider-thumb")
        thumb.focus()
        thumb.press("End")
        page.get_by_test_id("option-changes").get_by_text("employment").wait_for(timeout=10_000)
        page.wait_for_function(
            "() => { const e = document.querySelector('[data-outcome=sustained_exits_persons]');"
            " return e && e.innerText !== '+0'; }", timeout=60_000)
        assert chart.get_attribute("src") != before
        spent = page.locator("[data-outcome=spent]").inner_text()
        assert spent.startswith("+") and spent != "+0.0"

        # A bad sample is refused with the message a scenario file would get.
        sample = page.get_by_label("Sample: share of households (population_scale)")
        sample.fill("2")
        sample.press("Enter")
        refused = page.locator(".tuopin-refused")
        refused.wait_for(timeout=10_000)
        assert "scenario.population_scale = 2.0" in refused.inner_text()
        sample.fill(str(SAMPLE))
        sample.press("Enter")
        refused.wait_for(state="detached", timeout=10_000)

        # Save the option: a scenario file beside the scenario that loads, with the new budget.
        page.get_by_role("button", name="Save as scenario file").click()
        saved = page.locator(".tuopin-saved")
        saved.wait_for(timeout=10_000)
        path = Path(re.search(r"saved (\S+\.toml)", saved.inner_text()).group(1))
        assert path.parent == folder
        option = load_scenario(path)
        assert option.spec.budgets["employment"] == pytest.approx(11e6)
        assert option.spec.budgets["relocation"] == 45e6  # unchanged, from the scenario

        # One run, month by month: SolaraViz's Step runs a month, fed by the DataCollector.
        page.get_by_role("button", name="Step").click()
        page.get_by_text(re.compile(r"month 1 of 72")).wait_for(timeout=20_000)

        # The screenshot is taken once the charts are drawn.
        page.wait_for_function("() => document.querySelectorAll('img').length >= 8", timeout=20_000)
        page.wait_for_timeout(500)
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot))
    assert not errors, errors
    data = shot.read_bytes()
    width, height = _png_size(data)
    assert width >= 1500 and height >= 2700 and len(data) > 100_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, ROOT / "docs" / "dashboard.png")
