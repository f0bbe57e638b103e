"""PNG plots of an ensemble: registered poor against the plan, exits by pathway, spending, and
returns with the cost of exits (each with a 5–95 % band over replicates when there are several)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from ..execution.output import write_bytes  # noqa: E402
from ..core.budget import TOTAL  # noqa: E402


def _save(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    write_bytes(path, buf.getvalue())
    return path


def plot_all(ens, folder: Path) -> list[Path]:
    folder = Path(folder)
    return [registered(ens, folder / "registered_poor.png"),
            pathways(ens, folder / "exits_by_pathway.png"),
            spending(ens, folder / "spending.png"),
            returns_and_cost(ens, folder / "returns_and_cost.png")]


def registered(ens, path: Path) -> Path:
    s = ens.summary()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(s.year, s.poor_persons_end_mean, marker="o", label="model (mean)")
    if "poor_persons_end_p05" in s:
        ax.fill_between(s.year, s.poor_persons_end_p05, s.poor_persons_end_p95, alpha=0.25,
                        label="model 5–95 %")
    if "target_poor_persons_end" in s:
        ax.plot(s.year, s.target_poor_persons_end, marker="s", linestyle="--", label="plan target")
    ax.set_xlabel("year (end)")
    ax.set_ylabel("registered poor persons")
    ax.set_title(f"{ens.scenario.spec.scenario.title or ens.scenario.name}")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def pathways(ens, path: Path) -> Path:
    df = ens.pathways[ens.pathways.county == TOTAL]
    table = df.groupby(["year", "pathway"], sort=False).exits_persons.mean().unstack("pathway")
    fig, ax = plt.subplots(figsize=(7, 4))
    table.plot(kind="bar", stacked=True, ax=ax)
    ax.set_ylabel("exits, persons (mean over replicates)")
    ax.set_title("Exits by pathway")
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def spending(ens, path: Path) -> Path:
    df = ens.spending[ens.spending.county == TOTAL]
    table = df.groupby(["year", "programme"], sort=False)[["spent", "budget"]].mean()
    spent = table.spent.unstack("programme") / 1e6
    fig, ax = plt.subplots(figsize=(7, 4))
    spent.plot(kind="bar", stacked=True, ax=ax)
    budget = table.budget.groupby("year").sum() / 1e6
    ax.plot(range(len(budget)), budget.values, "k_", markersize=30, label="total budget")
    ax.set_ylabel("million yuan")
    ax.set_title("Spending by programme against the total budget")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def _band(ax, table, column: str, scale: float = 1.0, label: str = "model (mean)") -> None:
    """Mean by year and, with several replicates, the 5–95 % band; ``table`` has replicate, year."""
    g = table.groupby("year")[column]
    mean = g.mean() / scale
    ax.plot(mean.index, mean.values, marker="o", label=label)
    if table.replicate.nunique() > 1:
        ax.fill_between(mean.index, g.quantile(0.05) / scale, g.quantile(0.95) / scale, alpha=0.25, label="5–95 %")


def returns_and_cost(ens, path: Path) -> Path:
    """Left: the return rate by year. Right: what an exit that lasted has cost so far — spending
    to date over persons who exited and were not back on the register at the year's end."""
    y = ens.yearly[ens.yearly.county == TOTAL].sort_values(["replicate", "year"]).copy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    _band(left, y.dropna(subset=["return_rate"]), "return_rate", scale=0.01)
    left.set(xlabel="year", ylabel="return rate (%)", title="Returns over households exited before")
    first = y.groupby("replicate").year.transform("min")
    before = y[y.year == first].set_index("replicate")
    pre_run = (before.exited_persons_end - before.exits_persons + before.returns_persons)
    y["lasting"] = y.exited_persons_end - y.replicate.map(pre_run)
    y["spent_to_date"] = y.groupby("replicate").spent.cumsum()
    y["cost"] = y.spent_to_date / y.lasting.where(y.lasting > 0)
    _band(right, y.dropna(subset=["cost"]), "cost")
    right.set(xlabel="year", ylabel="yuan per person", title="Spending to date per exit that lasted")
    for ax in (left, right):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, path)
