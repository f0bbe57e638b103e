"""`tuopin bench` functions at tiny sizes: the figures exist and are positive (timings not asserted)."""

from __future__ import annotations

import pytest

from sim.app import bench
from sim.model import STAGES
from sim.inputs.scenario import load_scenario

from helpers import ROOT, scaled

MEASURE_KEYS = {"households", "months", "build_seconds", "run_seconds", "household_months_per_second",
                "state_bytes_per_household", "peak_bytes_per_household", "peak_rss_mib", "stage_share"}


def test_measure_tiny():
    r = bench.measure(20_000, 12)
    assert set(r) == MEASURE_KEYS
    assert r["months"] == 12
    assert 15_000 < r["households"] < 25_000
    for key in ("run_seconds", "household_months_per_second", "state_bytes_per_household", "peak_rss_mib"):
        assert r[key] > 0, key
    # Every stage of a month is timed; the shares add up to the whole run.
    assert list(r["stage_share"]) == [s.name for s in STAGES]
    assert sum(r["stage_share"].values()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("months", [12, 60, 72])
def test_scaled_scenario_cuts_dated_budgets_to_the_run(months):
    """Sanming's dated budgets run to 2020; a 60-month bench (2015–2019) must not carry 2020."""
    s = bench.scaled_scenario(20_000, months)
    years = s.spec.years
    assert len(years) == -(-months // 12)
    for amount in s.spec.budgets.values():
        if isinstance(amount, dict):
            assert set(amount) <= set(years)


def test_run_bench_subprocess_and_format():
    figures = bench.run_bench([20_000], 12, repeats=2)
    row = figures["runs"][0]
    assert MEASURE_KEYS <= set(row)
    assert row["repeats"] == 2
    # The row kept is the slower of two runs (the median of an even count is the lower middle).
    assert row["slowest_household_months_per_second"] == row["household_months_per_second"]
    assert row["household_months_per_second"] <= row["fastest_household_months_per_second"]
    assert row["speed_ratio_to_target"] > 0 and row["memory_ratio_to_target"] >= 0  # peak may predate a tiny run
    assert "household-months/s" in bench.format_table(figures)


def test_bench_replicates_tiny(sanming):
    rep = bench.bench_replicates(replicates=2, workers=(1,), big=None, scenario=scaled(sanming, 0.02))
    (row,) = rep["rates"]
    assert row["workers"] == 1 and row["replicates"] == 2
    assert row["seconds"] > 0 and row["replicates_per_minute"] > 0
    assert rep["big"]["replicates"] == 100 and not rep["big"]["measured"]
    assert rep["big"]["seconds"] > 0 and rep["big"]["ratio_to_target"] > 0
    assert "replicates on 1 processes" in bench.format_replicates(rep)


def test_measure_province_tiny():
    yunnan = load_scenario(ROOT / "scenarios" / "yunnan.toml")
    r = bench.measure_province(scaled(yunnan, 0.005), months=12)
    assert r["months"] == 12 and r["counties"] == 129
    assert 0 < r["registered_households"] < r["households"]
    for key in ("run_seconds", "household_months_per_second", "peak_rss_mib", "state_bytes_per_household"):
        assert r[key] > 0, key


def test_format_all():
    figures = {
        "targets": {"household_months_per_second": 20e6, "bytes_per_household": 250},
        "runs": [{"households": 1, "months": 1}],
        "province": {"targets": {"seconds": 60.0, "peak_bytes": 4e9, "for": "x"},
                     "runs": [{k: 1 for k in ("scenario", "households", "registered_households", "counties",
                                              "months", "build_seconds", "run_seconds", "total_seconds",
                                              "household_months_per_second", "peak_rss_mib",
                                              "peak_bytes_per_household", "time_ratio_to_target",
                                              "memory_ratio_to_target")}]},
    }
    text = bench.format_all(figures)
    assert "whole provinces" in text and "ensembles" not in text


def test_format_compare_and_parts():
    figures = {"compare": {"options": ["a", "b", "c"], "replicates": 50, "workers": 2, "seconds": 42.0,
                           "target_seconds": 60.0, "ratio_to_target": 0.7,
                           "sustained_exits_difference": {"b": [1200, 900, 1500], "c": [-30, -200, 140]},
                           "crn_variance_ratio": 0.25}}
    text = bench.format_all(figures)
    assert text.startswith("== comparing options ==") and "population sizes" not in text
    assert "b: +1,200 [+900, +1,500]" in text and "0.25" in text and "ratio to target 0.7" in text
    with pytest.raises(ValueError, match="unknown bench part 'engines'"):
        bench.run_all([], 1, parts=("engines",))
