"""Comparing budget options: outcomes that do not reward churn, paired differences under common
random numbers, the terminal table, the results folder (manifest, reproduce, no silent
overwrite) and the HTML report in a real browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from helpers import ROOT, chromium, copy_sanming, write
from sim.analysis.compare import OPTIONS, compare, outcomes, paired, ratio_of_means
from sim.analysis.compare_report import WIDTH, terminal_text
from sim.app.cli import app
from sim.app.compare_commands import REPORT, compare_to_folder
from sim.core.budget import TOTAL
from sim.execution.ensemble import Ensemble
from sim.inputs.errors import InputError
from sim.inputs.scenario import load_scenario, scale_budgets

runner = CliRunner()
SMALL = '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n'
MORE = '[scenario]\nextends = "small.toml"\nname = "more"\n'  # + every budget × 1.3 (``_more``)
SAME = '[scenario]\nextends = "small.toml"\nname = "same"\n'


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options")
    copy_sanming(folder)
    return {name: write(folder, f"{name}.toml", text) for name, text in
            (("small", SMALL), ("more", MORE + _more(folder)), ("same", SAME))}


def _more(folder) -> str:
    """Every budget of the shipped scenario × 1.3, as a [budgets] table (a budget option: the
    parameter sets, budget.scale among them, stay as they are)."""
    lines = ["[budgets]"]
    for prog, amount in scale_budgets(load_scenario(folder / "sanming.toml").raw["budgets"], 1.3).items():
        if isinstance(amount, dict):
            amount = "{ " + ", ".join(f"{y} = {v!r}" for y, v in amount.items()) + " }"
        lines.append(f"{prog} = {amount}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def published(options, tmp_path_factory):
    out = tmp_path_factory.mktemp("compared") / "cmp"
    scenarios = [load_scenario(options[n]) for n in ("small", "more", "same")]
    cmp, manifest = compare_to_folder(scenarios, out, seed=11, replicates=3, workers=1)
    return cmp, manifest


class _Fake:
    """An ensemble's yearly table, written by hand."""

    def __init__(self, yearly: pd.DataFrame):
        self.yearly = yearly


def _yearly(rows):
    cols = ["replicate", "year", "exits_persons", "returns_persons", "exited_persons_end", "poor_persons_end",
            "return_rate", "spent"]
    df = pd.DataFrame(rows, columns=cols)
    df["county"] = TOTAL
    return df


def test_churn_is_not_a_sustained_exit():
    """Two runs with the same end: one where 10 persons leave, one where 30 leave and 20 of them
    come back. Exits differ threefold; sustained exits and the end register do not."""
    steady = _yearly([(0, 2016, 10, 0, 10, 90, 0.0, 100), (0, 2017, 0, 0, 10, 90, 0.0, 100)])
    churn = _yearly([(0, 2016, 30, 0, 30, 70, 0.0, 100), (0, 2017, 0, 20, 10, 90, 20 / 30, 100)])
    a, b = outcomes(_Fake(steady), "steady"), outcomes(_Fake(churn), "churn")
    assert (a.exits_persons[0], b.exits_persons[0]) == (10, 30)
    assert a.sustained_exits_persons[0] == b.sustained_exits_persons[0] == 10
    assert b.returns_persons[0] == 20
    d = paired(a, b)
    assert d.sustained_exits_persons[0] == 0 and d.exits_persons[0] == 20
    # Person-years off the register: the churning run had 20 more persons off it for a year.
    assert d.persons_kept_out[0] == 20
    assert b.cost_per_sustained_exit[0] == pytest.approx(200 / 10)


def test_ratio_of_means_is_undefined_where_it_means_nothing():
    rng = np.random.default_rng(0)
    spent = rng.normal(1e6, 1e4, 20)
    assert np.isnan(ratio_of_means(spent, rng.normal(0, 50, 20), 1)[0])          # no distinguishable gain
    assert np.isnan(ratio_of_means(spent, rng.normal(-100, 5, 20), 1)[0])        # more spent for fewer
    ratio, lo, hi = ratio_of_means(spent, rng.normal(100, 5, 20), 1)
    assert lo < ratio < hi and ratio == pytest.approx(spent.mean() / 100, rel=0.05)
    gain = rng.normal(100, 5, 20)
    assert ratio_of_means(spent, gain, 7) == ratio_of_means(spent, gain, 7)  # the interval's draws are seeded


def test_the_same_option_twice_differs_by_exactly_nothing(published):
    """Common random numbers: an option identical to the baseline meets the same households and
    draws, so every paired difference is zero, not noise."""
    cmp, _ = published
    d = cmp.differences[cmp.differences.option == "same"]
    assert len(d) == 3
    assert (d.drop(columns=["option", "replicate"]) == 0).all().all()
    assert np.isnan(cmp.paired.loc[("same", "marginal_cost_per_sustained_exit"), "mean"])


def test_outcomes_hold_together(published):
    cmp, _ = published
    out = cmp.outcomes
    assert (out.sustained_exits_persons <= out.exits_persons).all()
    assert (out.sustained_exits_persons > 0).all()
    assert np.allclose(out.cost_per_sustained_exit, out.spent / out.sustained_exits_persons)
    spent = cmp.spending.groupby(["option", "replicate"]).spent.sum()
    assert np.allclose(out.set_index(["option", "replicate"]).spent, spent.loc[list(zip(out.option, out.replicate))])
    # A larger budget spends more and keeps more persons off the register, replicate by replicate.
    d = cmp.differences[cmp.differences.option == "more"]
    assert (d.spent > 0).all() and d.persons_kept_out.mean() > 0
    p = cmp.paired.loc[("more", "spent")]
    assert p.ci_low <= p["mean"] <= p.ci_high


def test_common_random_numbers_narrow_the_interval_of_a_difference(options):
    """The variance of a paired difference with common random numbers against independent seeds
    (the option run with another root seed). The ratio is printed for the record."""
    base, more = load_scenario(options["small"]), load_scenario(options["more"])
    reps = 8
    crn = compare([base, more], seed=3, replicates=reps, workers=1)
    indep = compare([more], seed=4, replicates=reps, workers=1)
    b = crn.outcomes[crn.outcomes.option == "small"].set_index("replicate")
    with_crn = crn.outcomes[crn.outcomes.option == "more"].set_index("replicate")
    without = indep.outcomes.set_index("replicate")
    ratios = {}
    for col in ("person_years_registered", "returns_persons", "registered_persons_end"):
        ratios[col] = (with_crn[col] - b[col]).var() / (without[col] - b[col]).var()
    print("variance ratio, CRN / independent:", {k: round(v, 3) for k, v in ratios.items()})
    assert ratios["person_years_registered"] < 0.5
    assert np.mean(list(ratios.values())) < 0.7


def test_terminal_table_fits_a_100_column_terminal(published):
    cmp, _ = published
    text = terminal_text(cmp)
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    for name in cmp.names:
        assert name in text
    assert "sustained" in text and "kept" in text


def test_options_must_share_years_and_counties(options):
    other = ROOT / "scenarios" / "yunnan.toml"
    with pytest.raises(InputError) as exc:
        compare([load_scenario(options["small"]), load_scenario(other)], replicates=1, workers=1)
    assert "yunnan.toml" in str(exc.value) and "baseline" in str(exc.value)


def test_folder_holds_tables_report_and_each_option(published):
    cmp, manifest = published
    out = manifest.parent
    info = json.loads(manifest.read_text())
    assert info["command"] == "compare" and [o["name"] for o in info["options"]] == cmp.names
    for name in ("outcomes", "summary", "differences", "paired", "yearly", "pathways", "spending", "budgets"):
        assert f"{name}.csv" in info["outputs"] and f"{name}.parquet" in info["outputs"]
    assert REPORT in info["outputs"]
    for name in cmp.names:
        assert (out / OPTIONS / name / "manifest.json").is_file()
    paired_file = pd.read_csv(out / "paired.csv")
    assert set(paired_file.option) == {"more", "same"}


def test_compare_reproduces_from_its_manifest(published, tmp_path):
    _, manifest = published
    result = runner.invoke(app, ["reproduce", str(manifest), "--out", str(tmp_path / "again"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "reproduced exactly" in result.stdout
    assert "MISMATCH" not in result.stdout


def test_a_comparison_never_writes_over_another(options, tmp_path, monkeypatch):
    args = [str(options["small"]), str(options["more"]), "--replicates", "1", "--workers", "1"]
    out = tmp_path / "cmp"
    first = runner.invoke(app, ["compare", *args, "--out", str(out), "--seed", "1"])
    assert first.exit_code == 0, first.output
    before = (out / "outcomes.csv").read_bytes()
    again = runner.invoke(app, ["compare", *args, "--out", str(out), "--seed", "1"])
    assert again.exit_code == 0 and "reused" in again.output
    assert (out / "outcomes.csv").read_bytes() == before
    refused = runner.invoke(app, ["compare", *args, "--out", str(out), "--seed", "2"])
    assert refused.exit_code == 3 and "holds another comparison" in refused.output
    assert (out / "outcomes.csv").read_bytes() == before
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["compare", *args, "--seed", "1"]).exit_code == 0
    assert runner.invoke(app, ["compare", *args, "--seed", "2"]).exit_code == 0
    assert json.loads((tmp_path / "results/compare-small/manifest.json").read_text())["root_seed"] == 1
    assert json.loads((tmp_path / "results/compare-small-2/manifest.json").read_text())["root_seed"] == 2


def test_bad_names_are_one_error_line(options):
    result = runner.invoke(app, ["compare", str(options["small"]), str(options["more"]), "--names", "a"])
    assert result.exit_code == 2 and "--names" in result.output and "Traceback" not in result.output


def test_html_report_in_a_browser(published, tmp_path):
    """Offline (every request but the page itself is refused), the report shows its charts and
    tables and logs no console error. The screenshot is kept for a person to look at."""
    _, manifest = published
    report = manifest.parent / REPORT
    text = report.read_text()
    assert not re.search(r"""(src|href)\s*=\s*['"]?(https?:)?//""", text), "the report must need no network"
    messages, requests = [], []
    with chromium() as browser:
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        pg.on("console", lambda m: messages.append((m.type, m.text)))
        pg.on("pageerror", lambda e: messages.append(("error", str(e))))

        def offline(route):
            requests.append(route.request.url)
            route.continue_() if route.request.url.startswith("file:") else route.abort()

        pg.route("**/*", offline)
        pg.goto(report.resolve().as_uri())
        images = pg.eval_on_selector_all("img", "els => els.map(e => [e.alt, e.complete, e.naturalWidth])")
        tables = pg.eval_on_selector_all("table.data", "els => els.map(e => e.rows.length)")
        pg.screenshot(path=str(tmp_path / "compare_report.png"), full_page=True)
    assert {alt for alt, *_ in images} >= {"registered_poor", "return_rates", "exits_by_pathway",
                                           "spending_and_cost", "differences"}
    assert all(complete and width > 100 for _, complete, width in images)
    assert len(tables) >= 4 and all(rows > 1 for rows in tables)
    assert not [m for m in messages if m[0] == "error"], messages
    assert all(url.startswith("file:") or url.startswith("data:") for url in requests)
    assert (tmp_path / "compare_report.png").stat().st_size > 50_000


@pytest.mark.parametrize("change, key", [
    (lambda m: m.update(options=[]), "options"),
    (lambda m: m.update(options={"a": 1}), "options"),
    (lambda m: m["options"][1].pop("scenario"), "options.1.scenario"),
    (lambda m: m["options"][0].update(name=5), "options.0.name"),
])
def test_a_tampered_comparison_manifest_is_one_error_line(published, tmp_path, change, key):
    _, manifest = published
    info = json.loads(manifest.read_text())
    change(info)
    bad = tmp_path / "m" / "manifest.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(info))
    result = runner.invoke(app, ["reproduce", str(bad), "--out", str(tmp_path / "again"), "--workers", "1"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: {key} = "), lines
