"""Regression: a small fixed run (Sanming at a 10 % sample, seed 7, one replicate) against the key
yearly totals kept in tests/baseline/regression.json. When results move, this fails with a table of
what changed; if the change is intended, regenerate the baseline (see tests/update_baseline.py)."""

from __future__ import annotations

import json

import pytest

import update_baseline as ub

# Persons are counts (compared exactly); yuan may differ in the last bits between platforms.
TOLERANCE = {"spent": lambda old: max(1.0, 1e-9 * abs(old))}


def test_regression_baseline():
    if not ub.BASELINE.exists():
        pytest.fail(f"no regression baseline at {ub.BASELINE}: create it with `{ub.REGENERATE}`")
    stored = json.loads(ub.BASELINE.read_text(encoding="utf-8"))
    assert stored.get("config") == ub.config(), (
        f"the baseline was made with another configuration ({stored.get('config')}); "
        f"regenerate it with `{ub.REGENERATE}`")
    now = ub.compute()
    diffs = []
    years = sorted(set(stored["years"]) | set(now["years"]))
    for year in years:
        old_row, new_row = stored["years"].get(year, {}), now["years"].get(year, {})
        for col in ub.COLUMNS:
            old, new = old_row.get(col), new_row.get(col)
            if old is None or new is None:
                diffs.append((year, col, old, new))
                continue
            tol = TOLERANCE.get(col, lambda _: 0)(old)
            if abs(new - old) > tol:
                diffs.append((year, col, old, new))
    if diffs:
        lines = [f"{'year':<6}{'column':<18}{'baseline':>16}{'now':>16}{'change':>10}"]
        for year, col, old, new in diffs:
            change = f"{(new - old) / old:+.1%}" if old and new is not None else ""
            lines.append(f"{year:<6}{col:<18}{old if old is not None else '-':>16,}{new if new is not None else '-':>16,}"
                         f"{change:>10}")
        notes = []
        if stored.get("parameters_digest") != now["parameters_digest"]:
            notes.append("the parameters changed since the baseline was made")
        if stored.get("scenario_digest") != now["scenario_digest"]:
            notes.append("the scenario changed since the baseline was made")
        pytest.fail(
            f"REGRESSION: {len(diffs)} key output(s) moved from tests/baseline/regression.json"
            + (f" ({'; '.join(notes)})" if notes else "") + ":\n" + "\n".join(lines)
            + f"\nIf the change is intended, regenerate the baseline with `{ub.REGENERATE}` "
              "and commit tests/baseline/regression.json with the change.",
            pytrace=False)


def test_baseline_run_is_reproducible():
    """The baseline means something only if the same run gives the same numbers twice."""
    assert ub.compute()["years"] == ub.compute()["years"]
