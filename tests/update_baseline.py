"""The regression baseline: a small fixed run whose key yearly totals are kept in
tests/baseline/regression.json and compared by tests/test_regression.py.

When results move on purpose (a parameter, a rule or the scenario changed), regenerate it:

    .venv/bin/python tests/update_baseline.py

then look at the diff of tests/baseline/regression.json and commit it with the change.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sim.execution.ensemble import run_ensemble  # noqa: E402
from sim.inputs.scenario import load_scenario  # noqa: E402

BASELINE = HERE / "baseline" / "regression.json"
SCENARIO = "scenarios/sanming.toml"
SCALE = 0.1
SEED = 7
REPLICATES = 1
# Per-year totals (county ALL) and the decimals they are kept to.
COLUMNS = {"poor_persons_end": 0, "exits_persons": 0, "returns_persons": 0, "entries_persons": 0, "spent": 0}
REGENERATE = ".venv/bin/python tests/update_baseline.py"


def config() -> dict:
    return {"scenario": SCENARIO, "population_scale": SCALE, "seed": SEED, "replicates": REPLICATES,
            "columns": list(COLUMNS)}


def compute() -> dict:
    loaded = load_scenario(ROOT / SCENARIO).with_changes({"scenario": {"population_scale": SCALE}})
    ens = run_ensemble(loaded, seed=SEED, replicates=REPLICATES, workers=1, progress=False)
    y = ens.yearly[ens.yearly.county == "ALL"].groupby("year")[list(COLUMNS)].mean()
    years = {}
    for year, row in y.iterrows():
        years[str(int(year))] = {col: _round(row[col], digits) for col, digits in COLUMNS.items()}
    params = sorted((p.name, repr(p.values if p.dated else p.value)) for p in loaded.params)
    return {
        "config": config(),
        # For information only (not compared): what the numbers were made from.
        "scenario_digest": loaded.spec.digest(),
        "parameters_digest": hashlib.sha256(repr(params).encode()).hexdigest(),
        "years": years,
    }


def _round(value, digits: int):
    value = round(float(value), digits)
    return int(value) if digits == 0 else value


def main() -> None:
    data = compute()
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {BASELINE.relative_to(ROOT)}")
    for year, row in data["years"].items():
        print(year, "  ".join(f"{k}={v:,}" for k, v in row.items()))


if __name__ == "__main__":
    main()
