"""Which assumptions drive the results: Morris elementary effects (a cheap screen over all of them)
and Sobol indices (the share of the variance of an output each one explains), both with SALib.

The outputs are a run's headline figures: sustained registered poor, exits, returns, spending and
the distance to the calibration targets when targets are given. Every sample point is run through
``sim/analysis/calibrate.py: run_candidates`` (the project's executor, results in order), for the
same replicate seeds (common random numbers), so the indices measure the parameters, not the luck.
SALib is used because its samplers and estimators (Saltelli 2010, Morris 1991 with Campolongo's
mu*) are the reference implementations.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..core.streams import replicate_seeds
from ..inputs.scenario import LoadedScenario
from ..inputs.targets import Target
from .calibrate import FreeParameter, free_parameters, run_candidates
from .observe import distance

# Headline outputs as targets of their own: the quantity read from a run (values are unused).
OUTPUTS = {
    "registered_persons_end": "registered poor at the end of the run (persons)",
    "exits_persons": "exits over the run (persons)",
    "returns_persons": "returns over the run (persons)",
    "return_rate": "return rate in the last year",
}


def _output_targets(scenario: LoadedScenario) -> list[Target]:
    first, last = scenario.spec.scenario.start_year, scenario.spec.scenario.end_year
    out = []
    for q in OUTPUTS:
        span = (last, last) if q in ("registered_persons_end", "return_rate") else (first, last)
        out.append(Target(q, "ALL", span[0], span[1], 0.0, 1.0))
    return out


def _problem(free: Sequence[FreeParameter]) -> dict:
    return {"num_vars": len(free), "names": [f.name for f in free], "bounds": [[f.low, f.high] for f in free]}


def _outputs(scenario: LoadedScenario, free: Sequence[FreeParameter], x: np.ndarray, targets: Sequence[Target] | None,
             seed: int, replicates: int, workers: int | None, dask: str | None,
             progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    """Every sample point's outputs (mean over replicates): headline figures, cost, distance."""
    heads = _output_targets(scenario)
    all_targets = heads + list(targets or [])
    seeds = replicate_seeds(seed, replicates)
    candidates = [{f.name: f.value(v) for f, v in zip(free, row)} for row in x]
    count = [0]

    def done(i, v):
        count[0] += 1
        if progress:
            progress(count[0], len(candidates))

    values = np.array(run_candidates(scenario, seeds, candidates, all_targets, workers, dask, done=done)).mean(axis=1)
    df = pd.DataFrame(values[:, :len(heads)], columns=list(OUTPUTS))
    if targets:
        df["distance"] = [distance(v[len(heads):], targets) for v in values]
    return df


def morris(scenario: LoadedScenario, *, names: Sequence[str] | None = None, targets: Sequence[Target] | None = None,
           trajectories: int = 10, levels: int = 4, seed: int = 1, replicates: int = 1,
           workers: int | None = None, dask: str | None = None,
           progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Morris screening: mu* (mean absolute elementary effect, normalised by the output's
    spread) and sigma for each free parameter and output; ``(k + 1) × trajectories`` runs."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    free = free_parameters(scenario.params, names)
    problem = _problem(free)
    x = sample.sample(problem, trajectories, num_levels=levels, seed=seed)
    y = _outputs(scenario, free, x, targets, seed, replicates, workers, dask, progress)
    rows = []
    for out in y.columns:
        spread = float(y[out].std()) or 1.0
        res = analyze.analyze(problem, x, y[out].to_numpy(), num_levels=levels, seed=seed)
        for name, mu_star, sigma in zip(res["names"], res["mu_star"], res["sigma"]):
            rows.append({"output": out, "parameter": name, "mu_star": mu_star / spread, "sigma": sigma / spread})
    return pd.DataFrame(rows)


def sobol(scenario: LoadedScenario, *, names: Sequence[str], targets: Sequence[Target] | None = None,
          samples: int = 64, seed: int = 1, replicates: int = 1, workers: int | None = None,
          dask: str | None = None, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Sobol indices (first order S1 and total ST, with 95 % confidence half-widths) for the named
    parameters; ``samples × (2k + 2)`` runs."""
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    free = free_parameters(scenario.params, names)
    problem = _problem(free)
    x = sample.sample(problem, samples, calc_second_order=True, seed=seed)
    y = _outputs(scenario, free, x, targets, seed, replicates, workers, dask, progress)
    rows = []
    for out in y.columns:
        res = analyze.analyze(problem, y[out].to_numpy(), calc_second_order=True, seed=seed)
        for i, name in enumerate(problem["names"]):
            rows.append({"output": out, "parameter": name, "S1": res["S1"][i], "S1_conf": res["S1_conf"][i],
                         "ST": res["ST"][i], "ST_conf": res["ST_conf"][i]})
    return pd.DataFrame(rows)


def screen(morris_table: pd.DataFrame, output: str = "distance", keep: int = 12) -> list[str]:
    """The parameters with the largest mu* for ``output``: those worth calibrating."""
    t = morris_table[morris_table.output == output].sort_values("mu_star", ascending=False)
    return t.parameter.head(keep).tolist()


def plot(table: pd.DataFrame, method: str) -> bytes:
    """A bar chart per output of the leading parameters (mu* for Morris, ST and S1 for Sobol), PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outputs = list(dict.fromkeys(table.output))
    fig, axes = plt.subplots(1, len(outputs), figsize=(4.2 * len(outputs), 4.5), squeeze=False)
    score = "mu_star" if method == "morris" else "ST"
    for ax, out in zip(axes[0], outputs):
        part = table[table.output == out].sort_values(score, ascending=True).tail(12)
        ax.barh(part.parameter, part[score], color="C0", label=score)
        if method == "sobol":
            ax.barh(part.parameter, part["S1"], color="C1", alpha=0.8, label="S1")
            ax.legend(fontsize=7)
        ax.set_title(out, fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Morris mu* (normalised by the output's spread)" if method == "morris" else "Sobol indices")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
