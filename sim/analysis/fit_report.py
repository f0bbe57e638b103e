"""The fit report of a calibration: how well the calibrated model reproduces each target, with the
uncertainty of both chance and the parameters.

``posterior_predictive`` runs the scenario with parameter sets drawn from the posterior (each run
its own seed and its own draw); ``fit_table`` gives, for every target, its source, the simulated
median and 90 % interval, and the error; ``write_report`` writes PNG figures (trajectories of the
registered poor against the plan for the area and every county, development pathways, return
rates, posterior marginals and pairwise correlations, the thresholds by generation) and one
self-contained HTML page (the figures embedded, no network needed).
"""

from __future__ import annotations

import io
from concurrent.futures import Executor
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..core.streams import replicate_seeds  # noqa: E402
from ..execution.output import write_bytes  # noqa: E402
from ..inputs.scenario import LoadedScenario  # noqa: E402
from ..inputs.targets import TOTAL, Target  # noqa: E402
from ..model import simulate  # noqa: E402
from . import html as page  # noqa: E402
from .weights import effective_size  # noqa: E402
from .observe import DEVELOPMENT, observe  # noqa: E402

LOW, HIGH = 0.05, 0.95


def _draw_overrides(posterior: pd.DataFrame, k: int, seed: int) -> list[dict]:
    names = [c for c in posterior.columns if c not in ("weight", "distance")]
    w = posterior.weight.to_numpy() / posterior.weight.sum()
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(7,))))
    rows = rng.choice(len(posterior), size=k, p=w)
    return [{n: float(posterior[n].iloc[r]) for n in names} for r in rows]


def _predict(scenario: LoadedScenario, seed: int, overrides: dict, targets: Sequence[Target]) -> tuple[np.ndarray, dict]:
    """One run of the posterior predictive: its target values and the tables the figures use."""
    r = simulate(scenario, seed, overrides)
    return observe(r.tables(), targets), {"yearly": r.yearly, "pathways": r.pathways}


def posterior_predictive(scenario: LoadedScenario, posterior: pd.DataFrame, targets: Sequence[Target], *,
                         runs: int = 20, seed: int = 1, pool: Executor | None = None) -> tuple[np.ndarray, list[dict]]:
    """Target values of ``runs`` runs, each with its own seed and parameter set from the posterior;
    and the runs' yearly tables (for the trajectories). With ``pool`` (an executor) the runs go to
    its workers; the results are the same, in the same order."""
    jobs = list(zip(replicate_seeds(seed, runs), _draw_overrides(posterior, runs, seed)))
    if pool is None:
        done = [_predict(scenario, s, overrides, targets) for s, overrides in jobs]
    else:
        futures = [pool.submit(_predict, scenario, s, overrides, list(targets)) for s, overrides in jobs]
        done = [f.result() for f in futures]
    return np.array([values for values, _ in done]), [tables for _, tables in done]


def fit_table(targets: Sequence[Target], values: np.ndarray) -> pd.DataFrame:
    """One row per target: what was asked, where it is printed, what the model gives."""
    med = np.median(values, axis=0)
    lo, hi = np.quantile(values, LOW, axis=0), np.quantile(values, HIGH, axis=0)
    rows = []
    for t, m, a, b in zip(targets, med, lo, hi):
        err = m - t.value
        rows.append({"target": t.label, "value": t.value, "tolerance": t.tolerance, "weight": t.weight,
                     "simulated_median": m, "simulated_p05": a, "simulated_p95": b, "error": err,
                     "error_in_tolerances": err / t.tolerance, "within_tolerance": abs(err) <= t.tolerance,
                     "source": t.source, "printed": t.printed, "tolerance_reason": t.tolerance_reason})
    return pd.DataFrame(rows)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _band(ax, years, runs, color, label):
    runs = np.array(runs)
    ax.fill_between(years, np.quantile(runs, LOW, axis=0), np.quantile(runs, HIGH, axis=0), color=color, alpha=0.25)
    ax.plot(years, np.median(runs, axis=0), color=color, marker="o", ms=3, label=label)


def _trajectories(targets, runs, places) -> bytes:
    n = len(places)
    cols = 4
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(13, 2.6 * ((n + cols - 1) // cols)), squeeze=False)
    for ax, place in zip(axes.flat, places):
        y0 = runs[0]["yearly"]
        years = sorted(y0.year.unique())
        series = [r["yearly"][r["yearly"].county == place].set_index("year").poor_persons_end.reindex(years).values
                  for r in runs]
        _band(ax, years, series, "C0", "model (median, 90 %)")
        pts = [t for t in targets if t.quantity == "registered_persons_end" and t.place == place]
        if pts:
            ax.errorbar([t.last_year for t in pts], [t.value for t in pts], yerr=[t.tolerance for t in pts],
                        fmt="ks", ms=4, capsize=2, label="plan target ± tolerance")
        ax.set_title("whole area" if place == TOTAL else place, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle("Registered poor persons at the end of each year")
    fig.tight_layout()
    return _png(fig)


def _pathways(targets, table) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    rows = table[table.target.str.startswith("development_share")]
    x = np.arange(len(rows))
    ax.bar(x - 0.2, rows.value, 0.4, label="plan")
    ax.bar(x + 0.2, rows.simulated_median, 0.4, yerr=[rows.simulated_median - rows.simulated_p05,
                                                      rows.simulated_p95 - rows.simulated_median], label="model")
    ax.set_xticks(x, [t.split(":")[1].split(" ")[0] for t in rows.target])
    ax.set_ylabel("share of development exits")
    ax.set_title("Exits by development route")
    ax.legend()
    fig.tight_layout()
    return _png(fig)


def _returns(runs) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    y0 = runs[0]["yearly"]
    years = sorted(y0.year.unique())[1:]
    series = [r["yearly"][r["yearly"].county == TOTAL].set_index("year").return_rate.reindex(years).values * 100
              for r in runs]
    _band(ax, years, series, "C3", "model return rate (median, 90 %)")
    ax.set_ylabel("returns / exited households, %")
    ax.set_title("Return rate (national pattern: about 2 % in 2016 to well under 0.1 % in 2019)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _weighted_corr(df: pd.DataFrame, w: np.ndarray) -> pd.DataFrame:
    x = df.to_numpy()
    m = (x * w[:, None]).sum(0) / w.sum()
    c = ((x - m).T * w) @ (x - m) / w.sum()
    sd = np.sqrt(np.maximum(np.diag(c), 1e-300))
    return pd.DataFrame(c / np.outer(sd, sd), index=df.columns, columns=df.columns)


def _posterior(posterior: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> tuple[bytes, bytes]:
    names = [c for c in posterior.columns if c not in ("weight", "distance")]
    cols = 4
    fig, axes = plt.subplots((len(names) + cols - 1) // cols, cols, figsize=(13, 2.3 * ((len(names) + cols - 1) // cols)),
                             squeeze=False)
    for ax, name in zip(axes.flat, names):
        lo, hi = bounds[name]
        ax.hist(posterior[name], bins=15, range=(lo, hi), weights=posterior.weight, color="C2")
        ax.set_title(name, fontsize=8)
        ax.set_xlim(lo, hi)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle("Posterior marginals (x axis: the prior's range)")
    fig.tight_layout()
    marginals = _png(fig)
    corr = _weighted_corr(posterior[names], posterior.weight.to_numpy())
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * len(names), 0.8 + 0.45 * len(names)))
    im = ax.imshow(corr.values, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.7)
    ax.set_title("Posterior correlations")
    fig.tight_layout()
    return marginals, _png(fig)


def _thresholds(generations: pd.DataFrame) -> bytes:
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(generations.generation, generations.threshold, marker="o", label="threshold (largest distance kept)")
    ax.plot(generations.generation, generations.best, marker="s", label="best particle")
    ax.set_xlabel("generation")
    ax.set_ylabel("distance (tolerances)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def _effective(posterior: pd.DataFrame) -> str:
    """How many of the posterior's parameter sets count (Kish's effective sample size)."""
    if "weight" not in posterior:
        return ""
    return f"; effective sample size {effective_size(posterior.weight.to_numpy()):.0f}"


def write_report(out: Path, scenario: LoadedScenario, targets: Sequence[Target], posterior: pd.DataFrame,
                 generations: pd.DataFrame, bounds: dict[str, tuple[float, float]], *, runs: int = 20,
                 seed: int = 1, title: str = "", pool: Executor | None = None) -> list[Path]:
    """Figures (PNG), the fit table (CSV) and one self-contained HTML page in ``out`` (the runs
    through ``pool``, an executor, if given)."""
    out = Path(out)
    values, tables = posterior_predictive(scenario, posterior, targets, runs=runs, seed=seed, pool=pool)
    table = fit_table(targets, values)
    places = [TOTAL] + [c.name for c in scenario.spec.population.counties]
    figures = {"trajectories": _trajectories(targets, tables, places), "pathways": _pathways(targets, table),
               "return_rates": _returns(tables), "thresholds": _thresholds(generations)}
    figures["posterior_marginals"], figures["posterior_correlations"] = _posterior(posterior, bounds)
    paths = []
    for name, png in figures.items():
        write_bytes(out / f"{name}.png", png)
        paths.append(out / f"{name}.png")
    write_bytes(out / "fit.csv", table.to_csv(index=False).encode())
    paths.append(out / "fit.csv")
    within = table.within_tolerance.mean()
    shown = table[["target", "value", "tolerance", "simulated_median", "simulated_p05", "simulated_p95",
                   "error_in_tolerances", "source"]].copy()
    body = [f"<h1>{page.text(title or 'Calibration fit report')}</h1>",
            f"<p>{len(targets)} targets; {within:.0%} of them within their tolerance by the median of "
            f"{runs} runs, each with its own seed and a parameter set drawn from the posterior "
            f"({len(posterior)} distinct parameter sets{_effective(posterior)}). Intervals are 5–95 % over "
            f"those runs: chance and parameter uncertainty together.</p>"]
    for name, data in figures.items():
        body.append(f"<h2>{page.text(name.replace('_', ' '))}</h2>{page.image(data, name)}")
    body.append("<h2>Targets</h2>" + page.table(shown))
    text = page.page(title or "Calibration fit report", body)
    write_bytes(out / "report.html", text.encode())
    paths.append(out / "report.html")
    return paths
