"""What the dashboard shows of a comparison: its charts (PNG) and tables, from the tables of
``sim.analysis.compare.Comparison`` — the unchanged scenario and the option, same seeds.

Each chart is drawn from a few small tables by ``draw(name, *tables)``, a plain function, so that
the charts of one change are drawn side by side in the dashboard's worker processes; Matplotlib's
object interface is used (no pyplot state). Charts are sent as PNG images and the county view is
an HTML table: nothing is loaded in the browser but the page itself.
"""

from __future__ import annotations

import html
import io
import math
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..analysis.compare import Comparison
from ..core.budget import TOTAL
from ..execution.ensemble import plan_targets
from .dashboard_options import BASELINE, OPTION

LOW, HIGH = 0.05, 0.95
COLOURS = {BASELINE: "#7f7f7f", OPTION: "#d62728"}
DPI = 80
# The paired differences shown, in order, with their words (compare.DIFFERENCES names them).
PAIRED = (("sustained_exits_persons", "Sustained exits", "persons"),
          ("persons_kept_out", "Kept off the register", "person-years"),
          ("returns_persons", "Returns", "persons"),
          ("exits_persons", "Exits", "persons"),
          ("registered_persons_end", "Registered at the end", "persons"),
          ("spent", "Spent", "yuan"))
LOWER_IS_BETTER = ("returns_persons", "registered_persons_end")
MARGINAL = "marginal_cost_per_sustained_exit"
CHARTS = ("paired", "registered", "exits", "pathways", "spending")


@dataclass
class Views:
    """Everything the page shows of one comparison."""

    charts: dict[str, bytes] = field(default_factory=dict)   # name -> PNG
    paired: list[dict] = field(default_factory=list)         # rows: outcome, label, unit, mean, p05, p95
    cost: dict[str, float] = field(default_factory=dict)     # yuan per sustained exit: scenario, option, marginal
    counties_html: str = ""
    replicates: int = 0


def views(cmp: Comparison, pool: Executor | None = None) -> Views:
    """The charts and tables of ``cmp`` (its first option the scenario, the second the option);
    with ``pool``, the charts are drawn in its workers, side by side."""
    v = Views(replicates=len(cmp.ensembles[0].seeds))
    v.paired, v.cost = paired_rows(cmp)
    inputs = chart_inputs(cmp, v.paired)
    if pool is None:
        v.charts = {name: draw(name, *args) for name, args in inputs.items()}
    else:
        futures = {name: pool.submit(draw, name, *args) for name, args in inputs.items()}
        v.charts = {name: fut.result() for name, fut in futures.items()}
    v.counties_html = county_map(cmp)
    return v


def chart_inputs(cmp: Comparison, paired: list[dict]) -> dict[str, tuple]:
    """The small tables each chart is drawn from (whole area, every replicate)."""
    yearly = cmp.yearly[["option", "replicate", "year", "poor_persons_start", "poor_persons_end",
                         "exits_persons", "returns_persons"]]
    pathways = cmp.pathways.groupby(["option", "pathway", "replicate"], as_index=False).exits_persons.sum()
    spending = cmp.spending[["option", "replicate", "year", "programme", "budget", "spent"]]
    return {"paired": (pd.DataFrame(paired),),
            "registered": (yearly, plan_targets(cmp.scenarios[0])),
            "exits": (yearly,),
            "pathways": (pathways,),
            "spending": (spending,)}


def draw(name: str, *tables) -> bytes:
    """Chart ``name`` as a PNG (run in a worker process, or here)."""
    return png(DRAWN[name](*tables))


def png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _figure(width: float = 6.0, height: float = 3.3, left: float = 0.14, bottom: float = 0.12):
    from matplotlib.figure import Figure

    # Fixed margins: a layout engine would draw every chart twice, and the charts are redrawn on
    # every change of a control.
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left, right=0.98, top=0.9, bottom=bottom)
    return fig


def _thousands(ax, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda x, _: f"{x:,.0f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _band(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean and 5–95 % points over replicates by year, per option."""
    g = df.groupby(["option", "year"])[column]
    return pd.DataFrame({"mean": g.mean(), "low": g.quantile(LOW), "high": g.quantile(HIGH)}).reset_index()


# ---- the paired difference -----------------------------------------------------------------------

def paired_rows(cmp: Comparison) -> tuple[list[dict], dict[str, float]]:
    """Option − scenario, replicate by replicate: mean and 5–95 % points of each outcome; and the
    cost per sustained exit of each, with the marginal cost of the option's extra sustained exits."""
    paired = cmp.paired
    rows = []
    for outcome, label, unit in PAIRED:
        key = (OPTION, outcome)
        r = paired.loc[key] if key in paired.index else None
        rows.append({"outcome": outcome, "label": label, "unit": unit,
                     "mean": float(r["mean"]) if r is not None else 0.0,
                     "p05": float(r["p05"]) if r is not None else 0.0,
                     "p95": float(r["p95"]) if r is not None else 0.0})
    summary = cmp.summary
    cost = {name: float(summary.loc[(name, "cost_per_sustained_exit"), "mean"]) for name in (BASELINE, OPTION)}
    marginal = paired.loc[(OPTION, MARGINAL)] if (OPTION, MARGINAL) in paired.index else {}
    # The interval of a ratio of means, where the comparison gives one (ci_low, ci_high).
    for key, column in (("marginal", "mean"), ("marginal_low", "ci_low"), ("marginal_high", "ci_high")):
        cost[key] = float(marginal[column]) if column in marginal and marginal[column] is not None else math.nan
    return rows, cost


def paired_chart(rows: pd.DataFrame):
    """Each paired difference counted in persons: mean, with the 5–95 % points over replicates."""
    fig = _figure(6.0, 2.7, left=0.42)
    ax = fig.add_subplot()
    shown = rows[rows.unit != "yuan"]
    y = np.arange(len(shown))[::-1]
    means, lows, highs = shown["mean"].to_numpy(), shown.p05.to_numpy(), shown.p95.to_numpy()
    better = np.where(shown.outcome.isin(LOWER_IS_BETTER), -means, means)
    colours = np.where(better > 0, "#2ca02c", np.where(better < 0, "#d62728", "#7f7f7f"))
    ax.barh(y, means, color=colours, alpha=0.75, height=0.55)
    ax.errorbar(means, y, xerr=[means - np.minimum(lows, means), np.maximum(highs, means) - means],
                fmt="none", ecolor="black", capsize=3, lw=1)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{r.label} ({r.unit})" for r in shown.itertuples()])
    _thousands(ax, "x")
    ax.set_title("bar: mean; line: 5–95 % of replicates; green: better", fontsize=9)
    if not np.any(means) and not np.any(highs - lows):
        ax.set_xlim(-1, 1)
        ax.set_xticks([-1, 0, 1])
    return fig


# ---- yearly charts -----------------------------------------------------------------------------

def registered_chart(yearly: pd.DataFrame, targets: pd.Series):
    """Registered poor persons at each year's end against the plan's targets, with the band over
    replicates; the first point is the register the run starts from."""
    fig = _figure()
    ax = fig.add_subplot()
    first = int(yearly.year.min())
    start = yearly[yearly.year == first].groupby("option").poor_persons_start.mean()
    bands = _band(yearly, "poor_persons_end")
    for name in (BASELINE, OPTION):
        b = bands[bands.option == name]
        ax.plot([first - 1] + b.year.tolist(), [start.get(name, np.nan)] + b["mean"].tolist(),
                color=COLOURS[name], lw=2, label=name)
        ax.fill_between(b.year, b.low, b.high, color=COLOURS[name], alpha=0.2, lw=0)
    if len(targets):
        # The plan starts from the register the run starts from.
        ax.plot([first - 1] + targets.index.tolist(), [start.get(BASELINE, np.nan)] + targets.values.tolist(),
                "k--", marker="o", ms=3, lw=1, label="plan target")
    ax.set_title("Registered poor persons, end of year (band: 5–95 % of replicates)", fontsize=9)
    ax.set_ylim(bottom=0)
    _thousands(ax)
    ax.legend(fontsize=8)
    return fig


def exits_chart(yearly: pd.DataFrame):
    """Exits and returns per year (persons), mean over replicates."""
    fig = _figure()
    ax = fig.add_subplot()
    for column, style, word in (("exits_persons", "-", "exits"), ("returns_persons", "--", "returns")):
        bands = _band(yearly, column)
        for name in (BASELINE, OPTION):
            b = bands[bands.option == name]
            ax.plot(b.year, b["mean"], style, color=COLOURS[name], marker="o", ms=3, label=f"{word}, {name}")
    ax.set_title("Exits and returns per year (persons, mean of replicates)", fontsize=9)
    ax.set_ylim(bottom=0)
    _thousands(ax)
    ax.legend(fontsize=8, ncol=2)
    return fig


def pathways_chart(pathways: pd.DataFrame):
    """Exits over the run by the pathway that carried the household over the line."""
    fig = _figure(left=0.2)
    ax = fig.add_subplot()
    mean = pathways.groupby(["option", "pathway"]).exits_persons.mean().unstack("option")
    mean = mean.reindex(columns=[BASELINE, OPTION]).fillna(0.0)
    mean = mean.loc[mean.max(axis=1).sort_values().index]
    y = np.arange(len(mean))
    ax.barh(y + 0.2, mean[BASELINE], height=0.4, color=COLOURS[BASELINE], label=BASELINE)
    ax.barh(y - 0.2, mean[OPTION], height=0.4, color=COLOURS[OPTION], label=OPTION)
    ax.set_yticks(y, mean.index.tolist())
    _thousands(ax, "x")
    ax.set_title("Exits by pathway over the run (persons, mean of replicates)", fontsize=9)
    ax.legend(fontsize=8)
    return fig


def spending_chart(spending: pd.DataFrame):
    """Budget and spending per programme, million yuan a year (mean over replicates and years)."""
    fig = _figure(bottom=0.16)
    ax = fig.add_subplot()
    years = spending.year.nunique()
    per_rep = spending.groupby(["option", "programme", "replicate"])[["budget", "spent"]].sum() / years / 1e6
    mean = per_rep.groupby(["option", "programme"]).mean()
    programmes = list(dict.fromkeys(spending.programme))
    x = np.arange(len(programmes))
    for i, name in enumerate((BASELINE, OPTION)):
        m = mean.loc[name].reindex(programmes).fillna(0.0)
        offset = (i - 0.5) * 0.4
        ax.bar(x + offset, m.budget, width=0.38, facecolor="none", edgecolor=COLOURS[name], lw=1.5,
               label=f"budget, {name}")
        ax.bar(x + offset, m.spent, width=0.38, color=COLOURS[name], alpha=0.7, label=f"spent, {name}")
    ax.set_xticks(x, programmes, fontsize=8)
    ax.set_ylim(0, 1.4 * max(float(mean.budget.max()), float(mean.spent.max()), 1e-9))  # room for the legend
    ax.set_title("Budget (outline) and spending per programme, M yuan a year", fontsize=9)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    return fig


DRAWN = {"paired": paired_chart, "registered": registered_chart, "exits": exits_chart,
         "pathways": pathways_chart, "spending": spending_chart}


# ---- counties ------------------------------------------------------------------------------------

def county_map(cmp: Comparison) -> str:
    """A map-like table: one row per county, a cell per year shaded by the share of the county's
    register still on it under the option (mean of replicates; the plan's target beneath), then
    the end of the run: registered poor under the scenario and the option and their paired
    difference, the option's exits, returns and spending."""
    frames = [e.yearly[e.yearly.county != TOTAL].assign(option=n) for n, e in zip(cmp.names, cmp.ensembles)]
    y = pd.concat(frames, ignore_index=True)
    scenario = cmp.scenarios[0]
    years = sorted(int(v) for v in y.year.unique())
    last = years[-1]
    mean = y.groupby(["county", "option", "year"]).poor_persons_end.mean()
    end = y[y.year == last].pivot_table(index=["county", "replicate"], columns="option", values="poor_persons_end")
    diff = (end[OPTION] - end[BASELINE]).groupby("county").mean() if OPTION in end else None
    run = y[y.option == OPTION].groupby(["county", "replicate"])[["exits_persons", "returns_persons", "spent"]].sum()
    run = run.groupby("county").mean()
    right = "text-align:right;padding:2px 6px"
    head = (f'<th style="text-align:left;padding:2px 6px">county</th><th style="{right}">poor at start</th>'
            + "".join(f'<th style="{right}">{yr}</th>' for yr in years)
            + "".join(f'<th style="{right}">{html.escape(h)}</th>' for h in
                      (f"{last}: scenario", f"{last}: option", "option − scenario", "exits", "returns", "spent, M yuan")))
    rows = []
    for c in scenario.spec.population.counties:
        targets = plan_targets(scenario, c.name)
        # The Chinese name as a tooltip: a browser without CJK fonts would show boxes in the table.
        cells = [f'<td style="padding:2px 6px" title="{html.escape(c.name_zh)}">{html.escape(c.name)}</td>',
                 f'<td style="{right}">{c.poor_persons:,.0f}</td>']
        for yr in years:
            share = mean.get((c.name, OPTION, yr), np.nan) / c.poor_persons if c.poor_persons else np.nan
            target = targets.get(yr, np.nan) / c.poor_persons if len(targets) and c.poor_persons else np.nan
            tip = f"target {target:.0%}" if not math.isnan(target) else "no plan target"
            cells.append(f'<td title="{tip}" style="{right};background:{_shade(share)}">{_percent(share)}'
                         f'<br><span style="font-size:10px;color:#555">{_percent(target)}</span></td>')
        d = diff.get(c.name, np.nan) if diff is not None else np.nan
        colour = "#2ca02c" if d < 0 else ("#d62728" if d > 0 else "inherit")
        cells += [f'<td style="{right}">{mean.get((c.name, BASELINE, last), np.nan):,.0f}</td>',
                  f'<td style="{right}">{mean.get((c.name, OPTION, last), np.nan):,.0f}</td>',
                  f'<td style="{right};color:{colour}">{d:+,.0f}</td>',
                  f'<td style="{right}">{run.exits_persons.get(c.name, np.nan):,.0f}</td>',
                  f'<td style="{right}">{run.returns_persons.get(c.name, np.nan):,.0f}</td>',
                  f'<td style="{right}">{run.spent.get(c.name, np.nan) / 1e6:,.1f}</td>']
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return ('<table class="tuopin-counties" style="border-collapse:collapse;font-size:12px">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            '<div style="font-size:11px;color:#555">Each year: registered poor under the option as a share of the '
            "county's register at the start (shaded), the plan's target beneath. Means of replicates.</div>")


def _percent(share: float) -> str:
    return "–" if share is None or math.isnan(share) else f"{share:.0%}"


def _shade(share: float) -> str:
    """White (nobody left) to red (everyone still registered)."""
    if share is None or math.isnan(share):
        return "transparent"
    s = min(max(share, 0.0), 1.0)
    return f"rgba(214,39,40,{0.08 + 0.6 * s:.2f})"
