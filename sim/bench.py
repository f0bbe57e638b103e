"""`tuopin bench`: speed and memory of the full monthly rules at several population sizes.

Each size runs in a fresh process so that its peak memory is its own. The population is the
Sanming scenario scaled up (every county's register and budget × the same factor).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_HH_MONTHS_PER_S = 20e6
TARGET_BYTES_PER_HOUSEHOLD = 250
SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "sanming.toml"


def scaled_scenario(households: int, months: int):
    from .runs import estimated_households
    from .scenario import load_scenario

    base = load_scenario(SCENARIO)
    factor = households / estimated_households(base)
    spec = base.spec
    counties = [{**c.model_dump(), "poor_persons": max(1, round(c.poor_persons * factor)), "reductions": {}}
                for c in spec.population.counties]
    budgets = {k: (v * factor if not isinstance(v, dict) else {y: a * factor for y, a in v.items()})
               for k, v in spec.budgets.items()}
    years = -(-months // 12)
    return base.with_changes({
        "scenario": {"end_year": spec.scenario.start_year + years - 1},
        "population": {"counties": counties}, "budgets": budgets,
    }, origin="<bench>")


def measure(households: int, months: int) -> dict:
    """One size, in this process."""
    from .model import TuopinModel

    scenario = scaled_scenario(households, months)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    model = TuopinModel(scenario)
    t1 = time.perf_counter()
    for _ in range(months):
        model.step()
    t2 = time.perf_counter()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    n = model.hh.n
    return {
        "households": n, "months": months,
        "build_seconds": round(t1 - t0, 3), "run_seconds": round(t2 - t1, 3),
        "household_months_per_second": round(n * months / (t2 - t1)),
        "state_bytes_per_household": round(model.hh.nbytes / n, 1),
        "peak_bytes_per_household": round((rss1 - rss0) / n, 1),
        "peak_rss_mib": round(rss1 / 2**20, 1),
    }


def run_bench(sizes: list[int], months: int) -> dict:
    rows = []
    for size in sizes:
        proc = subprocess.run([sys.executable, "-m", "sim.bench", str(size), str(months)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout))
    for r in rows:
        r["speed_ratio_to_target"] = round(r["household_months_per_second"] / TARGET_HH_MONTHS_PER_S, 2)
        r["memory_ratio_to_target"] = round(r["peak_bytes_per_household"] / TARGET_BYTES_PER_HOUSEHOLD, 2)
    return {"targets": {"household_months_per_second": TARGET_HH_MONTHS_PER_S,
                        "bytes_per_household": TARGET_BYTES_PER_HOUSEHOLD},
            "runs": rows}


def format_table(figures: dict) -> str:
    import pandas as pd

    df = pd.DataFrame(figures["runs"])
    t = figures["targets"]
    return (df.to_string(index=False) + f"\n\ntargets: {t['household_months_per_second'] / 1e6:.0f} M "
            f"household-months/s on one core, <= {t['bytes_per_household']} bytes per household"
            "\n(peak bytes per household = growth of peak RSS during build and run / households)")


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
