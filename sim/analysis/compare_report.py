"""What a comparison of budget options shows: its charts (matplotlib figures, for a notebook or a
report), its terminal table (rich, at most 100 columns) and its self-contained HTML report.

The charts: registered poor persons by year with a 5–95 % band per option, against the plan's
targets; return rates by year; exits by pathway; spending by year and cost per sustained exit;
paired differences from the baseline with their intervals. The report adds the options' budgets
side by side and the assumptions behind them: what each option changes from the baseline, and
every parameter of the baseline that is an assumption rather than a published figure.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..execution.ensemble import plan_targets  # noqa: E402
from ..inputs.scenario import PROGRAMME_NAMES  # noqa: E402
from . import html as page  # noqa: E402
from .compare import DIFFERENCES, HIGH, LOW, MARGINAL, Comparison  # noqa: E402
from .terminal import WIDTH, short, span  # noqa: E402

LABELS = {
    "sustained_exits_persons": "sustained exits (persons)",
    "persons_kept_out": "persons kept out (person-years)",
    "exits_persons": "exits (persons)",
    "returns_persons": "returns (persons)",
    "return_rate": "return rate, last year",
    "registered_persons_end": "registered poor at the end (persons)",
    "person_years_registered": "person-years on the register",
    "spent": "spent (yuan)",
    "cost_per_sustained_exit": "cost per sustained exit (yuan/person)",
    MARGINAL: "marginal cost per extra sustained exit (yuan/person)",
}


def _colours(names):
    return {n: f"C{i % 10}" for i, n in enumerate(names)}


def _band(ax, df: pd.DataFrame, column: str, colour: str, label: str, scale: float = 1.0) -> None:
    g = df.groupby("year")[column]
    years = np.array(sorted(df.year.unique()))
    ax.plot(years, g.mean().loc[years] / scale, color=colour, marker="o", markersize=3, label=label)
    if df.replicate.nunique() > 1:
        ax.fill_between(years, g.quantile(LOW).loc[years] / scale, g.quantile(HIGH).loc[years] / scale,
                        color=colour, alpha=0.2)


def headcount_chart(cmp: Comparison):
    """Registered poor persons at each year's end, per option (mean, 5–95 % band), and the plan."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    yearly, colours = cmp.yearly, _colours(cmp.names)
    for n in cmp.names:
        _band(ax, yearly[yearly.option == n], "poor_persons_end", colours[n], n)
    target = plan_targets(cmp.scenarios[0])
    if len(target):
        ax.plot(target.index, target.values, "k--", marker="s", markersize=4, label="plan target")
    ax.set(xlabel="year (end)", ylabel="registered poor persons", title="Registered poor: options against the plan")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def returns_chart(cmp: Comparison):
    """Return rate by year (returns over those who had exited), per option."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    yearly, colours = cmp.yearly, _colours(cmp.names)
    for n in cmp.names:
        _band(ax, yearly[yearly.option == n].dropna(subset=["return_rate"]), "return_rate", colours[n], n, scale=0.01)
    ax.set(xlabel="year", ylabel="return rate (%)", title="Returns to poverty (returns over households exited before)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def pathways_chart(cmp: Comparison):
    """Exits over the run by pathway, per option (persons, mean over replicates)."""
    pw = cmp.pathways
    reps = pw.groupby("option").replicate.nunique()
    table = pw.groupby(["option", "pathway"], sort=False).exits_persons.sum().unstack("pathway").fillna(0)
    table = table.div(reps, axis=0).loc[cmp.names]
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.5 * len(cmp.names)))
    table.plot(kind="barh", stacked=True, ax=ax)
    ax.invert_yaxis()
    ax.set(xlabel="exits over the run, persons (mean)", ylabel="", title="Exits by pathway")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.3 - 0.1 / len(cmp.names)))
    ax.grid(alpha=0.3, axis="x")
    return fig


def spending_chart(cmp: Comparison):
    """Spending by year per option, and the cost per sustained exit with its interval."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [3, 2]},
                                      layout="constrained")
    sp, colours = cmp.spending, _colours(cmp.names)
    for n in cmp.names:
        per = sp[sp.option == n].groupby(["replicate", "year"], as_index=False).spent.sum()
        _band(left, per, "spent", colours[n], n, scale=1e6)
    left.set(xlabel="year", ylabel="million yuan", title="Spending")
    left.grid(alpha=0.3)
    left.legend(fontsize=8)
    s = cmp.summary.xs("cost_per_sustained_exit", level="outcome").loc[cmp.names]
    y = np.arange(len(cmp.names))
    right.barh(y, s["mean"], color=[colours[n] for n in cmp.names], alpha=0.7)
    right.errorbar(s["mean"], y, xerr=[s["mean"] - s["p05"], s["p95"] - s["mean"]], fmt="none", color="k")
    right.set_yticks(y, cmp.names, fontsize=8)
    right.invert_yaxis()
    right.set(xlabel="yuan per person (5–95 %)", title="Cost per sustained exit")
    right.grid(alpha=0.3, axis="x")
    return fig


def differences_chart(cmp: Comparison):
    """Paired differences from the baseline: mean, 95 % interval of the mean (thick) and 5–95 %
    over replicates (thin), one panel per outcome."""
    paired = cmp.paired
    shown = ["sustained_exits_persons", "persons_kept_out", "returns_persons", "spent"]
    fig, axes = plt.subplots(1, len(shown), figsize=(12, 1.4 + 0.45 * max(1, len(cmp.names) - 1)), sharey=True,
                             layout="constrained")
    others = cmp.names[1:]
    y = np.arange(len(others))
    for ax, outcome in zip(np.atleast_1d(axes), shown):
        if others:
            d = paired.xs(outcome, level="outcome").loc[others]
            scale = 1e6 if outcome == "spent" else 1.0
            ax.hlines(y, d.p05 / scale, d.p95 / scale, color="0.6", linewidth=1)
            ax.hlines(y, d.ci_low / scale, d.ci_high / scale, color="C0", linewidth=4)
            ax.plot(d["mean"] / scale, y, "ko", markersize=4)
        ax.axvline(0, color="k", linewidth=0.8)
        ax.set_title(LABELS[outcome].replace(" (yuan)", " (M yuan)").replace(" (", "\n("), fontsize=9)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, axis="x")
    first = np.atleast_1d(axes)[0]
    first.set_yticks(y, others, fontsize=8)
    first.invert_yaxis()
    fig.suptitle(f"Against the baseline ({cmp.names[0]}), paired by seed", fontsize=10)
    return fig


CHARTS = {"registered_poor": headcount_chart, "return_rates": returns_chart, "exits_by_pathway": pathways_chart,
          "spending_and_cost": spending_chart, "differences": differences_chart}


def charts(cmp: Comparison) -> dict[str, "plt.Figure"]:
    """Every chart of the comparison as a matplotlib figure (a notebook shows them)."""
    return {name: draw(cmp) for name, draw in CHARTS.items() if name != "differences" or len(cmp.names) > 1}


# --- the terminal table ---------------------------------------------------------------------

def _cell(row: pd.Series, lo: str = "p05", hi: str = "p95", scale: float = 1.0) -> str:
    mean = short(row["mean"] * scale)
    if not (np.isfinite(row["mean"]) and np.isfinite(row[lo]) and np.isfinite(row[hi])):
        return mean
    return f"{mean}\n{span(row[lo] * scale, row[hi] * scale)}"


def terminal_text(cmp: Comparison, width: int = WIDTH) -> str:
    """The comparison as rich tables that fit ``width`` columns (plain text, no colour codes)."""
    from rich.console import Console
    from rich.table import Table

    from rich import box

    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    s = cmp.summary
    reps = int(cmp.outcomes.groupby("option").replicate.nunique().min())
    t = Table(title=f"Options: mean and 5–95 % over {reps} replicate(s), seed {cmp.root_seed}", title_justify="left",
              box=box.SIMPLE_HEAD)
    cols = [("sustained_exits_persons", "sustained\nexits", 1.0), ("returns_persons", "returns", 1.0),
            ("return_rate", "return\nrate %", 100.0), ("registered_persons_end", "registered\nat end", 1.0),
            ("spent", "spent\nyuan", 1.0), ("cost_per_sustained_exit", "yuan per\nsust. exit", 1.0)]
    t.add_column("option", overflow="fold", min_width=12, max_width=22)
    for _, head, _ in cols:
        t.add_column(head, justify="right")
    for n in cmp.names:
        t.add_row(n, *[_cell(s.loc[(n, key)], scale=sc) for key, _, sc in cols])
    console.print(t)
    if len(cmp.names) > 1:
        p = cmp.paired
        d = Table(title=f"Against {cmp.names[0]}: paired mean and 95 % interval of the mean", title_justify="left",
                  box=box.SIMPLE_HEAD)
        dcols = [("sustained_exits_persons", "Δ sustained\nexits"), ("persons_kept_out", "persons kept\nout (p-yrs)"),
                 ("returns_persons", "Δ returns"), ("spent", "Δ spent\nyuan"), (MARGINAL, "yuan per\nextra sust.\nexit")]
        d.add_column("option", overflow="fold", min_width=16, max_width=22)
        for _, head in dcols:
            d.add_column(head, justify="right")
        for n in cmp.names[1:]:
            d.add_row(n, *[_cell(p.loc[(n, key)], "ci_low", "ci_high") for key, _ in dcols])
        console.print(d)
        console.print("Marginal cost: extra yuan per extra sustained exit (or yuan saved per sustained exit "
                      "lost). A dash: the option's sustained exits are not distinguishable from the baseline's, "
                      "or it spends more for fewer (less for more).", style="dim")
    return console.export_text()


# --- the HTML report -----------------------------------------------------------------------

def _budgets(cmp: Comparison) -> pd.DataFrame:
    b = cmp.budgets
    if b.empty:
        return b
    t = b.groupby(["programme", "option"], sort=False).budget_million.sum().unstack("option")[cmp.names]
    t.loc["total"] = t.sum()
    return t.round(2)


def _flat(table, prefix: str = "") -> dict[str, object]:
    out = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not (k in ("parameters",) and not prefix):
            out.update(_flat(v, key + "."))
        elif isinstance(v, dict):
            out.update({f"{key}.{name}": value for name, value in v.items()})
        else:
            out[key] = v
    return out


def changes_from_baseline(cmp: Comparison) -> pd.DataFrame:
    """Every setting in which an option differs from the baseline: budgets by programme and year
    (yuan, as the run uses them), then parameters and scenario settings as the scenarios state
    them; the name and title are left out."""
    skip = {"scenario.name", "scenario.title", "scenario.description"}

    def settings(s) -> dict:
        flat = {k: v for k, v in _flat(s.spec.model_dump(mode="json")).items()
                if k not in skip and not k.startswith("budgets.")}
        programmes = [p for p in PROGRAMME_NAMES if p in s.spec.budgets]
        flat.update({f"budgets.{p}.{y}": s.spec.budget(p, y) for p in programmes for y in s.spec.years})
        return flat

    def in_force(s, key: str, stated: dict):
        """A parameter's value in force (stated or the default), a setting's as stated."""
        name = key.removeprefix("parameters.")
        if key.startswith("parameters.") and name in s.params:
            p = s.params[name]
            return dict(p.values) if p.dated else p.value
        return stated.get(key)

    base_scenario = cmp.scenarios[0]
    base = settings(base_scenario)
    rows = []
    for n, s in zip(cmp.names[1:], cmp.scenarios[1:]):
        mine = settings(s)
        for key in sorted(set(base) | set(mine)):
            before, after = in_force(base_scenario, key, base), in_force(s, key, mine)
            if before != after:
                rows.append({"option": n, "setting": key, "baseline": before, "option value": after})
    return pd.DataFrame(rows, columns=["option", "setting", "baseline", "option value"])


def assumptions(cmp: Comparison) -> pd.DataFrame:
    """The baseline's parameters that are assumptions (no published figure): value, unit, range, reason."""
    rows = []
    for p in cmp.scenarios[0].params:
        if p.source.strip().lower().startswith("assumption"):
            value = dict(p.values) if p.dated else p.value
            rows.append({"parameter": p.name, "value": value, "unit": p.unit,
                         "range": "" if p.range is None else f"{p.range[0]:g}–{p.range[1]:g}",
                         "reason": p.reason or ""})
    return pd.DataFrame(rows)


def _human(v: float, money: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    if money:
        return f"{v / 1e6:,.1f}M" if abs(v) >= 1e6 else f"{v:,.0f}"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _wide(table: pd.DataFrame, names: list[str], outcomes: list[str], lo: str, hi: str) -> pd.DataFrame:
    """Options as rows, outcomes as columns, each cell 'mean (low – high)'."""
    rows = []
    for n in names:
        row = {"option": n}
        for key in outcomes:
            r = table.loc[(n, key)]
            money = key in ("spent", "cost_per_sustained_exit", MARGINAL)
            scale = 100.0 if key == "return_rate" else 1.0
            cell = _human(r["mean"] * scale, money)
            if np.isfinite(r["mean"]) and np.isfinite(r[lo]) and np.isfinite(r[hi]):
                cell += f" ({_human(r[lo] * scale, money)} – {_human(r[hi] * scale, money)})"
            row[LABELS[key].replace("return rate, last year", "return rate, last year (%)")] = cell
        rows.append(row)
    return pd.DataFrame(rows)


def _summary_table(cmp: Comparison) -> pd.DataFrame:
    keys = ["sustained_exits_persons", "exits_persons", "returns_persons", "return_rate", "registered_persons_end",
            "person_years_registered", "spent", "cost_per_sustained_exit"]
    return _wide(cmp.summary, cmp.names, keys, "p05", "p95")


def _paired_table(cmp: Comparison) -> pd.DataFrame:
    keys = [*DIFFERENCES, MARGINAL]
    return _wide(cmp.paired, cmp.names[1:], keys, "ci_low", "ci_high")


def html_report(cmp: Comparison, figures: dict[str, bytes] | None = None) -> str:
    """One self-contained page: charts, tables, budgets and assumptions (no script, no network)."""
    figures = figures if figures is not None else {n: page.png(f) for n, f in charts(cmp).items()}
    base = cmp.scenarios[0]
    reps = int(cmp.outcomes.groupby("option").replicate.nunique().min())
    title = f"Budget options: {', '.join(cmp.names)}"
    sets = [n for n, s in zip(cmp.names, cmp.scenarios) if s.parameter_sets is not None]
    body = [
        f"<h1>{page.text(title)}</h1>",
        "<nav>" + "".join(f"<a href='#{a}'>{page.text(t)}</a>" for a, t in (
            ("outcomes", "Outcomes"), ("charts", "Charts"), ("paired", "Against the baseline"),
            ("budgets", "Budgets"), ("assumptions", "Assumptions"))) + "</nav>",
        f"<p>{len(cmp.names)} option(s), {reps} replicate(s) each, root seed {cmp.root_seed}. "
        f"The first option, <b>{page.text(cmp.names[0])}</b> (scenario {page.text(base.name)}, digest "
        f"{base.spec.digest()[:12]}), is the baseline. "
        "Replicate <i>k</i> of every option uses the same seed (common random numbers): the same households meet "
        "the same shocks, so a paired difference shows the options' effect rather than chance.</p>",
        "<p class='note'>Sustained exits are persons in households that left the register during the run and were "
        "not back on it at its end; exits alone reward churn (households that leave and return are counted again). "
        "Persons kept out are person-years off the register gained against the baseline. Intervals: 5–95 % over "
        "replicates; for paired differences also the 95 % interval of the mean."
        + (f" Options {', '.join(sets)} draw each replicate's parameters from a calibrated posterior, so their "
           "intervals hold parameter uncertainty as well as chance." if sets else "") + "</p>",
        "<h2 id='outcomes'>Outcomes</h2><p class='note'>Mean over replicates (5–95 %); money in yuan "
        "(M: million).</p>", page.table(_summary_table(cmp)),
        "<h2 id='charts'>Charts</h2>",
    ]
    for name, data in figures.items():
        body.append(f"<h3>{page.text(name.replace('_', ' '))}</h3>{page.image(data, name)}")
    if len(cmp.names) > 1:
        body += ["<h2 id='paired'>Against the baseline</h2>",
                 "<p class='note'>Option minus baseline, replicate by replicate: mean (95 % interval of the mean). "
                 "The marginal cost is extra spending over extra sustained exits (a ratio of means, bootstrap "
                 "interval); it is left empty where the option's sustained exits are not distinguishable from the "
                 "baseline's, or where it spends more for fewer (or less for more).</p>",
                 page.table(_paired_table(cmp))]
    body += ["<h2 id='budgets'>Budgets</h2><p class='note'>Million yuan over the run, as the runs had them "
             "(the scenario's amounts with scalings such as budget.scale applied).</p>",
             page.table(_budgets(cmp), index=True, digits=6),
             "<h2 id='assumptions'>Assumptions</h2>"]
    changes = changes_from_baseline(cmp)
    for col in ("baseline", "option value"):
        changes[col] = [_human(v, money=True) if k.startswith("budgets.") and isinstance(v, (int, float)) else
                        ("–" if v is None else str(v)) for k, v in zip(changes.setting, changes[col])]
    if len(cmp.names) > 1:
        body += ["<h3>What each option changes</h3>",
                 page.table(changes) if len(changes) else "<p>No option differs from the baseline.</p>"]
    a = assumptions(cmp)
    body += [f"<details><summary>{len(a)} parameters of the baseline are assumptions (not published figures): "
             "value, unit, plausible range, reason</summary>" + page.table(a) + "</details>",
             "<p class='note'>Every other parameter cites its document and section: <code>tuopin params "
             "SCENARIO</code> lists them.</p>"]
    return page.page(title, body)
