"""`tuopin bench`: speed and memory of the full monthly rules, of ensembles, and of whole provinces.

Three parts, each returning a dict that ``--json`` prints as it is:

- ``run_bench(sizes, months, repeats)``: household-months per second and bytes per household at
  several population sizes, the median of ``repeats`` runs (with the slowest and the fastest).
  The population is the Sanming scenario scaled up (every county's register and budget × the
  same factor).
- ``bench_replicates()``: Sanming replicates per minute with 1 and with 2 local worker processes
  (``run_ensemble(workers=...)``), and the wall time of 100 replicates on 2 processes.
- ``bench_province()``: the Yunnan scenarios at full size (≈ 1.3 M registered households, and the
  whole rural population of ≈ 10 M households), 60 months each: build time, run time, peak memory.
- ``bench_compare()``: ``tuopin compare`` of three shipped Sanming options at full size, 50
  replicates each, on 2 processes (target 60 s), and the variance ratio of a paired difference
  under common random numbers against independent seeds.
- ``bench_optimize()``: the wall time of ``tuopin optimize`` on Sanming at full size on 2
  processes, measured on a reduced configuration, the default configuration's time extrapolated
  from its simulations per second (``format_optimize`` prints it against the 10-minute target).

Every population size and every province runs in a fresh process (``python -m sim.app.bench ...``), so
that its peak memory (``ru_maxrss``) is its own. ``run_all`` runs the three parts and
``format_all`` prints them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from ..inputs.scenario import scale_budgets

TARGET_HH_MONTHS_PER_S = 20e6
TARGET_BYTES_PER_HOUSEHOLD = 250
TARGET_100_REPLICATES_SECONDS = 30.0      # 100 Sanming replicates on 2 local processes
TARGET_PROVINCE_SECONDS = 60.0            # 10 M households × 60 months, build + run
TARGET_PROVINCE_BYTES = 4e9               # 4 GB (decimal) peak resident memory of the process

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "sanming.toml"
PROVINCES = {"yunnan": ROOT / "scenarios" / "yunnan.toml",
             "yunnan-rural": ROOT / "scenarios" / "yunnan-rural.toml"}
PROVINCE_MONTHS = 60                      # 2016–2020
ENGINE_REPEATS = 3                        # runs per population size; the median is reported


def _peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _budgets_within(budgets: dict, years: range, factor: float = 1.0) -> dict:
    """Budgets × ``factor``, dated tables cut to the years of the run (a shorter bench run must not
    carry budget years the scenario no longer has)."""
    cut = {k: ({y: a for y, a in v.items() if int(y) in years} if isinstance(v, dict) else v)
           for k, v in budgets.items()}
    return scale_budgets(cut, factor)


def _years_for(months: int) -> int:
    return -(-months // 12)


def scaled_scenario(households: int, months: int):
    from ..inputs.scenario import load_scenario
    from .runs import estimated_households

    base = load_scenario(SCENARIO)
    factor = households / estimated_households(base)
    spec = base.spec
    counties = [{**c.model_dump(), "poor_persons": max(1, round(c.poor_persons * factor)), "reductions": {}}
                for c in spec.population.counties]
    start = spec.scenario.start_year
    years = range(start, start + _years_for(months))
    # Replace the budget table whole: a dated table merged key by key would keep the dropped years.
    # The parameter values are the defaults (the calibration's medians): speed does not need the
    # scenario's parameter sets.
    raw = {k: v for k, v in base.raw.items() if k != "budgets"}
    raw["scenario"] = {k: v for k, v in raw["scenario"].items() if k != "parameter_sets"}
    base = type(base)(base.spec, base.files, base.params, raw)
    return base.with_changes({
        "scenario": {"end_year": years[-1]},
        "population": {"counties": counties}, "budgets": _budgets_within(spec.budgets, years, factor),
    }, origin="<bench>")


def _timed_run(scenario, months: int):
    """Build and run ``months`` steps: (model, build s, run s, peak RSS before, peak RSS after).
    The model times each of its stages (``model.stage_seconds``)."""
    from ..model import TuopinModel

    rss0 = _peak_rss_bytes()
    t0 = time.perf_counter()
    model = TuopinModel(scenario, seed=scenario.spec.scenario.seed)
    model.stage_seconds = {}
    t1 = time.perf_counter()
    for _ in range(months):
        model.step()
    t2 = time.perf_counter()
    return model, t1 - t0, t2 - t1, rss0, _peak_rss_bytes()


def measure(households: int, months: int) -> dict:
    """One size, in this process."""
    model, build, run, rss0, rss1 = _timed_run(scaled_scenario(households, months), months)
    n = model.hh.n
    return {
        "households": n, "months": months,
        "build_seconds": round(build, 3), "run_seconds": round(run, 3),
        "household_months_per_second": round(n * months / run),
        "state_bytes_per_household": round(model.hh.nbytes / n, 1),
        "peak_bytes_per_household": round((rss1 - rss0) / n, 1),
        "peak_rss_mib": round(rss1 / 2**20, 1),
        "stage_share": _stage_shares(model.stage_seconds),
    }


def _stage_shares(seconds: dict[str, float]) -> dict[str, float]:
    """Each stage's share of the run's time, in stage order."""
    total = sum(seconds.values()) or 1.0
    return {name: round(t / total, 3) for name, t in seconds.items()}


def _subprocess_json(*args: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "sim.app.bench", *args], capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"bench subprocess {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_bench(sizes: list[int], months: int, repeats: int = ENGINE_REPEATS) -> dict:
    """Each size ``repeats`` times, each run in a fresh process; the row kept is the run of median
    speed, with the slowest and fastest speeds beside it (a shared machine's speed varies from
    one run to the next; the median is what the ratio to the target is taken on)."""
    rows = []
    for size in sizes:
        runs = sorted((_subprocess_json(str(size), str(months)) for _ in range(repeats)),
                      key=lambda r: r["household_months_per_second"])
        r = dict(runs[(len(runs) - 1) // 2])
        r["repeats"] = len(runs)
        r["slowest_household_months_per_second"] = runs[0]["household_months_per_second"]
        r["fastest_household_months_per_second"] = runs[-1]["household_months_per_second"]
        r["speed_ratio_to_target"] = round(r["household_months_per_second"] / TARGET_HH_MONTHS_PER_S, 2)
        r["memory_ratio_to_target"] = round(r["peak_bytes_per_household"] / TARGET_BYTES_PER_HOUSEHOLD, 2)
        rows.append(r)
    return {"targets": {"household_months_per_second": TARGET_HH_MONTHS_PER_S,
                        "bytes_per_household": TARGET_BYTES_PER_HOUSEHOLD},
            "runs": rows}


# ---- ensembles ------------------------------------------------------------------------------------

def _warm_worker(pause: float = 0.5) -> int:
    """Run in a pool worker: import the model and run a tiny one, so that timing starts warm."""
    import os

    from ..inputs.scenario import load_scenario
    from ..model import TuopinModel

    TuopinModel(load_scenario(SCENARIO).with_changes({"scenario": {"population_scale": 0.01}}), seed=1).run()
    time.sleep(pause)  # hold this worker so that the next warm-up task starts another one
    return os.getpid()


def bench_replicates(replicates: int = 10, workers: tuple[int, ...] = (1, 2), big: int | None = 100,
                     scenario=None) -> dict:
    """Sanming replicates per minute with each number of local worker processes, then the wall time
    of ``big`` replicates on ``max(workers)`` processes (``big=None``: estimated from the rate).

    ``seconds`` is the wall clock of ``run_ensemble(workers=w)`` with no output folder and no
    progress bar: it includes starting the worker pool (forkserver, imports in every worker) and
    sending the tables back — what ``tuopin run --replicates N --workers W`` costs apart from
    writing files. ``warm_replicates_per_minute`` is the same ensemble on a pool started and warmed
    beforehand (``executor=``): the rate a long ensemble settles at.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ..execution.ensemble import run_ensemble
    from ..inputs.scenario import load_scenario
    from .runs import estimated_households

    loaded = scenario if scenario is not None else load_scenario(SCENARIO)
    _warm_worker(0)  # imports and first-call costs of this process
    rows = []
    for w in workers:
        t0 = time.perf_counter()
        run_ensemble(loaded, seed=1, replicates=replicates, workers=w, progress=False)
        cold = time.perf_counter() - t0
        if w <= 1:
            warm = cold  # runs in this process, already warm
        else:
            with ProcessPoolExecutor(max_workers=w, mp_context=multiprocessing.get_context("forkserver")) as pool:
                list(pool.map(_warm_worker, [0.5] * w))
                t0 = time.perf_counter()
                run_ensemble(loaded, seed=1, replicates=replicates, workers=w, progress=False, executor=pool)
                warm = time.perf_counter() - t0
        rows.append({"workers": w, "replicates": replicates, "seconds": round(cold, 2),
                     "replicates_per_minute": round(60 * replicates / cold, 1),
                     "warm_replicates_per_minute": round(60 * replicates / warm, 1)})
    w_big = max(workers)
    if big:
        t0 = time.perf_counter()
        run_ensemble(loaded, seed=2, replicates=big, workers=w_big, progress=False)
        big_seconds, measured = time.perf_counter() - t0, True
    else:
        big, measured = 100, False
        row = next(r for r in rows if r["workers"] == w_big)
        start = row["seconds"] - 60 * replicates / row["warm_replicates_per_minute"]  # pool start
        big_seconds = max(start, 0.0) + 60 * big / row["warm_replicates_per_minute"]
    target = TARGET_100_REPLICATES_SECONDS * big / 100
    return {
        "scenario": loaded.name,
        "households_per_replicate": estimated_households(loaded),
        "months_per_replicate": 12 * len(loaded.spec.years),
        "rates": rows,
        "big": {"replicates": big, "workers": w_big, "seconds": round(big_seconds, 2), "measured": measured,
                "target_seconds": target, "ratio_to_target": round(big_seconds / target, 2)},
    }


# ---- whole provinces ------------------------------------------------------------------------------

def _with_months(loaded, months: int):
    """The scenario cut or extended to ``months`` (whole years)."""
    spec = loaded.spec
    years = range(spec.scenario.start_year, spec.scenario.start_year + _years_for(months))
    if years == spec.years:
        return loaded
    raw = {k: v for k, v in loaded.raw.items() if k != "budgets"}
    loaded = type(loaded)(loaded.spec, loaded.files, loaded.params, raw)
    return loaded.with_changes({"scenario": {"end_year": years[-1]},
                                "budgets": _budgets_within(spec.budgets, years)}, origin="<bench>")


def measure_province(scenario, months: int = PROVINCE_MONTHS) -> dict:
    """One province scenario (a path or a loaded scenario) at its own size, in this process:
    build, ``months`` steps, peak RSS."""
    from ..core.state import Category
    from ..inputs.scenario import LoadedScenario, load_scenario

    loaded = scenario if isinstance(scenario, LoadedScenario) else load_scenario(scenario)
    loaded = _with_months(loaded, months)
    model, build, run, rss0, rss1 = _timed_run(loaded, months)
    n = model.hh.n
    registered = int((model.hh.category != Category.NEAR_LINE).sum())
    return {
        "scenario": loaded.name, "households": n, "registered_households": registered,
        "counties": model.counties.n, "villages": model.villages.n, "months": months,
        "build_seconds": round(build, 2), "run_seconds": round(run, 2),
        "total_seconds": round(build + run, 2),
        "household_months_per_second": round(n * months / run),
        "state_bytes_per_household": round(model.hh.nbytes / n, 1),
        "peak_rss_mib": round(rss1 / 2**20, 1),
        "peak_bytes_per_household": round(rss1 / n, 1),
        "growth_bytes_per_household": round((rss1 - rss0) / n, 1),
    }


def bench_province(names: list[str] | None = None, months: int = PROVINCE_MONTHS) -> dict:
    """Each province scenario in its own process; ratios against the 10 M-household targets."""
    rows = []
    for name in names or list(PROVINCES):
        r = _subprocess_json("--province", str(PROVINCES.get(name, name)), str(months))
        r["time_ratio_to_target"] = round(r["total_seconds"] / TARGET_PROVINCE_SECONDS, 2)
        r["memory_ratio_to_target"] = round(r["peak_rss_mib"] * 2**20 / TARGET_PROVINCE_BYTES, 2)
        rows.append(r)
    return {"targets": {"seconds": TARGET_PROVINCE_SECONDS, "peak_bytes": TARGET_PROVINCE_BYTES,
                        "for": "10 M households × 60 months, build + run, one process"},
            "runs": rows}


# ---- everything -----------------------------------------------------------------------------------

# ---- calibration ----------------------------------------------------------------------------------

TARGET_CALIBRATION_SECONDS = 600.0        # the shipped calibration on 2 cores
CALIBRATION = ROOT / "calibration" / "sanming"


def bench_calibration(candidates: int = 24, workers: int = 2) -> dict:
    """Calibration simulations per second (one generation of ``candidates`` × the shipped
    replicates on ``workers`` processes), the shipped calibration's time estimated from it if
    every simulation ran to the end (an upper bound: moves that cannot be accepted stop early),
    and the time the shipped calibration took (its manifest records it)."""
    import tempfile

    from ..analysis.calibrate import calibrate
    from ..inputs.scenario import load_scenario
    from ..inputs.targets import load_targets
    from .calibration_commands import DEFAULT_FREE, _free_names

    scenario = load_scenario(SCENARIO)
    targets = load_targets(ROOT / "calibration" / "targets" / "sanming.csv")
    shipped = {"candidates": 120, "generations": 10, "replicates": 4, "report_runs": 20}  # the command's defaults
    manifest = CALIBRATION / "manifest.json"
    recorded = None
    if manifest.is_file():
        info = json.loads(manifest.read_text())
        shipped.update({k: info["calibration"][k] for k in ("candidates", "generations", "replicates")})
        recorded = info.get("elapsed_seconds")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        calibrate(scenario, targets, Path(tmp), free_names=_free_names(ROOT / DEFAULT_FREE), particles=2,
                  candidates=candidates, generations=1, replicates=shipped["replicates"], workers=workers)
        seconds = time.perf_counter() - t0
    rate = candidates * shipped["replicates"] / seconds
    sims = shipped["candidates"] * shipped["generations"] * shipped["replicates"] + shipped["report_runs"]
    estimate = sims / rate
    return {"workers": workers, "simulations": candidates * shipped["replicates"], "seconds": round(seconds, 1),
            "simulations_per_second": round(rate, 2), "shipped_simulations": sims,
            "shipped_estimate_seconds": round(estimate, 1), "shipped_recorded_seconds": recorded,
            "target_seconds": TARGET_CALIBRATION_SECONDS,
            "ratio_to_target": round((recorded or estimate) / TARGET_CALIBRATION_SECONDS, 2)}


def format_calibration(c: dict) -> str:
    recorded = (f"; the shipped calibration took {c['shipped_recorded_seconds']:.0f} s"
                if c["shipped_recorded_seconds"] else "")
    return (f"{c['simulations']} calibration simulations on {c['workers']} processes in {c['seconds']} s: "
            f"{c['simulations_per_second']} simulations/s\nshipped calibration ({c['shipped_simulations']} "
            f"simulations): at most about {c['shipped_estimate_seconds']:.0f} s at that rate (moves that "
            f"cannot be accepted stop early){recorded}; target "
            f"<= {c['target_seconds']:.0f} s, ratio to target {c['ratio_to_target']}")


# ---- comparing options ----------------------------------------------------------------------------

TARGET_COMPARE_SECONDS = 60.0             # three options × 50 replicates, Sanming at full size, 2 cores
COMPARE_OPTIONS = ("sanming.toml", "sanming-budget-plus20.toml", "sanming-shift-employment.toml")


def bench_compare(replicates: int = 50, workers: int = 2, crn_ratio: bool = True) -> dict:
    """Wall time of comparing the three ``COMPARE_OPTIONS`` (the first the baseline) with
    ``replicates`` each on ``workers`` processes. With ``crn_ratio``, the second option runs once
    more on other seeds, and the variance of its difference in sustained exits from the baseline
    under common random numbers is set against that under independent seeds (not timed)."""
    from ..analysis.compare import compare, outcomes
    from ..execution.ensemble import run_ensemble
    from ..inputs.scenario import load_scenario

    scenarios = [load_scenario(ROOT / "scenarios" / name) for name in COMPARE_OPTIONS]
    t0 = time.perf_counter()
    cmp = compare(scenarios, replicates=replicates, workers=workers)
    seconds = time.perf_counter() - t0
    paired = cmp.paired
    names = cmp.names
    figures = {"options": names, "replicates": replicates, "workers": workers, "seconds": round(seconds, 1),
               "target_seconds": TARGET_COMPARE_SECONDS, "ratio_to_target": round(seconds / TARGET_COMPARE_SECONDS, 2),
               "sustained_exits_difference": {n: [round(float(paired.at[(n, "sustained_exits_persons"), c]))
                                                   for c in ("mean", "ci_low", "ci_high")] for n in names[1:]}}
    if crn_ratio:
        column = "sustained_exits_persons"
        base = cmp.outcomes[cmp.outcomes.option == names[0]].set_index("replicate")[column]
        same = cmp.outcomes[cmp.outcomes.option == names[1]].set_index("replicate")[column]
        other = run_ensemble(scenarios[1], seed=cmp.root_seed + 1, replicates=replicates, workers=workers, progress=False)
        independent = outcomes(other, names[1]).set_index("replicate")[column]
        crn = float((same - base).var())
        ind = float((independent.to_numpy() - base.to_numpy()).var())
        figures.update({"crn_variance": crn, "independent_variance": ind, "crn_variance_ratio": float(f"{crn / ind:.3g}")})
    return figures


def format_compare(c: dict) -> str:
    diffs = "; ".join(f"{n}: {m:+,} [{lo:+,}, {hi:+,}]" for n, (m, lo, hi) in c["sustained_exits_difference"].items())
    text = (f"{len(c['options'])} options × {c['replicates']} replicates (Sanming, full size) on {c['workers']} "
            f"processes: {c['seconds']} s; target <= {c['target_seconds']:.0f} s, ratio to target {c['ratio_to_target']}"
            f"\nsustained exits against {c['options'][0]} (mean, 95 % interval of the mean): {diffs}")
    if "crn_variance_ratio" in c:
        text += (f"\nvariance of the paired difference in sustained exits, common random numbers / independent "
                 f"seeds: {c['crn_variance_ratio']}")
    return text


# ---- the budget optimiser -------------------------------------------------------------------------

TARGET_OPTIMIZE_SECONDS = 600.0           # `tuopin optimize scenarios/sanming.toml` (default settings) on 2 cores


def optimize_simulations(evaluations: int, replicates: int, confirm_replicates: int, levels: int,
                         tradeoff_evaluations: int) -> int:
    """Simulations an optimisation runs at most (candidates that repeat one run before are not
    run again, so it may run fewer): ``levels`` trade-off totals besides the given one."""
    return replicates * (evaluations + levels * tradeoff_evaluations) + confirm_replicates * 2 * (levels + 1)


def bench_optimize(evaluations: int = 16, workers: int = 2, scenario=None, **settings) -> dict:
    """Wall time of ``tuopin optimize`` on Sanming at full size, measured on a reduced
    configuration (``evaluations`` candidates, no trade-off curve, the default replicates and
    confirmation replicates unless ``settings`` say otherwise) on ``workers`` processes; the
    default configuration's time is extrapolated from the measured simulations per second (worker
    start-up included, so the estimate errs long). A full default run recorded in
    results/<scenario>-optimize is reported too."""
    from ..analysis import optimize as om
    from ..inputs.scenario import load_scenario

    loaded = scenario if scenario is not None else load_scenario(SCENARIO)
    t0 = time.perf_counter()
    opt = om.optimize(loaded, evaluations=evaluations, tradeoff=(), workers=workers, **settings)
    seconds = time.perf_counter() - t0
    rate = opt.simulations / seconds
    levels = sum(1 for f in om.DEFAULT_TRADEOFF if f != 1.0)
    default = {"evaluations": om.DEFAULT_EVALUATIONS, "replicates": om.DEFAULT_REPLICATES,
               "confirm_replicates": om.DEFAULT_CONFIRM_REPLICATES, "levels": levels,
               "tradeoff_evaluations": om.DEFAULT_TRADEOFF_EVALUATIONS}
    sims = optimize_simulations(**default)
    recorded = None
    manifest = ROOT / om.default_out(loaded) / "manifest.json"
    if scenario is None and manifest.is_file():
        info = json.loads(manifest.read_text())
        s = info.get("settings", {})
        if (info.get("command") == "optimize" and s.get("evaluations") == om.DEFAULT_EVALUATIONS
                and s.get("replicates") == om.DEFAULT_REPLICATES
                and s.get("tradeoff") == list(om.DEFAULT_TRADEOFF) and info.get("workers") in (None, 2)):
            recorded = info.get("elapsed_seconds")
    estimate = sims / rate
    return {"scenario": loaded.name, "workers": workers, "evaluations": len(opt.candidates),
            "replicates": opt.settings.replicates, "confirm_replicates": opt.settings.confirm_replicates,
            "simulations": opt.simulations, "seconds": round(seconds, 1),
            "simulations_per_second": round(rate, 2),
            "best_shares": {p: round(float(v), 4) for p, v in zip(opt.programmes, opt.best.shares)},
            "baseline_shares": {p: round(float(v), 4) for p, v in zip(opt.programmes, opt.space.baseline)},
            "default_configuration": default, "default_simulations": sims,
            "default_estimate_seconds": round(estimate, 1), "default_recorded_seconds": recorded,
            "target_seconds": TARGET_OPTIMIZE_SECONDS,
            "ratio_to_target": round((recorded or estimate) / TARGET_OPTIMIZE_SECONDS, 2)}


def format_optimize(o: dict) -> str:
    d = o["default_configuration"]
    split = ", ".join(f"{p} {v:.1%}" for p, v in o["best_shares"].items())
    recorded = (f"; a full default run took {o['default_recorded_seconds']:.0f} s"
                if o["default_recorded_seconds"] else "")
    return (f"{o['scenario']} (reduced: {o['evaluations']} candidates × {o['replicates']} replicates, "
            f"no trade-off curve, {o['confirm_replicates']} confirmation replicates) on {o['workers']} processes: "
            f"{o['simulations']} simulations in {o['seconds']} s, {o['simulations_per_second']} simulations/s"
            f"\nbest split found: {split}"
            f"\ndefault configuration ({d['evaluations']} candidates, trade-off {d['levels']} × "
            f"{d['tradeoff_evaluations']}, {d['confirm_replicates']} confirmation replicates: at most "
            f"{o['default_simulations']} simulations): about {o['default_estimate_seconds']:.0f} s at that rate"
            f"{recorded}; target <= {o['target_seconds']:.0f} s, ratio to target {o['ratio_to_target']}")


PARTS = ("engine", "replicates", "province", "calibration", "compare", "optimize", "dashboard")


def run_all(sizes: list[int], months: int, *, quick: bool = False, replicates: int = 10,
            parts: tuple[str, ...] = PARTS, repeats: int = ENGINE_REPEATS) -> dict:
    """The parts named in ``parts`` (all by default). ``quick``: skip the 10 M-household province
    run and estimate the time of 100 replicates from the 2-process rate instead of running them."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise ValueError(f"unknown bench part {unknown[0]!r} (parts: {', '.join(PARTS)})")
    figures: dict = run_bench(sizes, months, repeats) if "engine" in parts else {}
    if "replicates" in parts:
        figures["replicates"] = bench_replicates(replicates=replicates, big=None if quick else 100)
    if "province" in parts:
        figures["province"] = bench_province(["yunnan"] if quick else None)
    if "calibration" in parts:
        figures["calibration"] = bench_calibration()
    if "compare" in parts:
        figures["compare"] = bench_compare()
    if "optimize" in parts:
        figures["optimize"] = bench_optimize()
    if "dashboard" in parts:
        from .dashboard import DEFAULT_REPLICATES, DEFAULT_SAMPLE, TARGET_UPDATE_SECONDS, bench_update

        seconds = bench_update()
        figures["dashboard"] = {"sample": DEFAULT_SAMPLE, "replicates": DEFAULT_REPLICATES, "seconds": round(seconds, 2),
                                "target_seconds": TARGET_UPDATE_SECONDS,
                                "ratio_to_target": round(seconds / TARGET_UPDATE_SECONDS, 2)}
    return figures


def format_table(figures: dict) -> str:
    import pandas as pd

    runs = figures["runs"]
    df = pd.DataFrame([{k: v for k, v in r.items() if k != "stage_share"} for r in runs])
    shares = pd.DataFrame({f"{r['households']:,}": r.get("stage_share", {}) for r in runs})
    t = figures["targets"]
    return (df.to_string(index=False) + f"\n\ntargets: {t['household_months_per_second'] / 1e6:.0f} M "
            f"household-months/s on one core, <= {t['bytes_per_household']} bytes per household"
            "\n(peak bytes per household = growth of peak RSS during build and run / households)"
            + ("\n\nshare of a run's time by stage (households across):\n"
               + (shares * 100).round(1).astype(str).add(" %").to_string() if not shares.empty else ""))


def format_replicates(rep: dict) -> str:
    import pandas as pd

    b = rep["big"]
    how = "measured" if b["measured"] else "estimated: pool start + warm rate above"
    return (f"{rep['scenario']}: {rep['households_per_replicate']:,} households × "
            f"{rep['months_per_replicate']} months per replicate\n"
            + pd.DataFrame(rep["rates"]).to_string(index=False)
            + f"\n{b['replicates']} replicates on {b['workers']} processes: {b['seconds']:.1f} s ({how}); "
              f"target < {b['target_seconds']:.0f} s, ratio to target {b['ratio_to_target']}")


def format_province(prov: dict) -> str:
    import pandas as pd

    cols = ["scenario", "households", "registered_households", "counties", "months", "build_seconds",
            "run_seconds", "total_seconds", "household_months_per_second", "peak_rss_mib",
            "peak_bytes_per_household", "time_ratio_to_target", "memory_ratio_to_target"]
    t = prov["targets"]
    return (pd.DataFrame(prov["runs"])[cols].to_string(index=False)
            + f"\ntargets: {t['for']}: < {t['seconds']:.0f} s and < {t['peak_bytes'] / 1e9:.0f} GB peak RSS"
              " (ratios < 1 meet them; the smaller province is held to the same absolute targets)")


def format_all(figures: dict) -> str:
    parts = ["== population sizes (Sanming scaled) ==", format_table(figures)] if "runs" in figures else []
    if "replicates" in figures:
        parts += ["", "== ensembles ==", format_replicates(figures["replicates"])]
    if "province" in figures:
        parts += ["", "== whole provinces ==", format_province(figures["province"])]
    if "calibration" in figures:
        parts += ["", "== calibration ==", format_calibration(figures["calibration"])]
    if "compare" in figures:
        parts += ["", "== comparing options ==", format_compare(figures["compare"])]
    if "optimize" in figures:
        parts += ["", "== budget optimiser ==", format_optimize(figures["optimize"])]
    if "dashboard" in figures:
        d = figures["dashboard"]
        parts += ["", "== dashboard ==",
                  f"slider change to updated charts (Sanming, {d['sample']:.0%} sample, {d['replicates']} replicates, "
                  f"2 processes): {d['seconds']} s; target <= {d['target_seconds']:.0f} s, ratio to target {d['ratio_to_target']}"]
    return "\n".join(parts).lstrip("\n")


if __name__ == "__main__":
    if sys.argv[1] == "--province":
        print(json.dumps(measure_province(sys.argv[2], int(sys.argv[3]))))
    else:
        print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
