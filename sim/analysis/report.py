"""The terminal summary of an ensemble: the plan's targets beside the model, by year."""

from __future__ import annotations

import pandas as pd

from ..core.budget import TOTAL
from .terminal import WIDTH, render, short, span


def _cell(r, name: str, multi: bool, scale: float = 1.0) -> str:
    mean = r[f"{name}_mean"]
    if pd.isna(mean):
        return "–"  # e.g. a return rate in the first year, when nobody has exited yet
    if not multi:
        return short(mean * scale)
    return f"{short(mean * scale)}\n{span(r[f'{name}_p05'] * scale, r[f'{name}_p95'] * scale)}"


def summary_text(ens, width: int = WIDTH) -> str:
    """The run by year (mean and 5–95 % with several replicates), exits by pathway and spending by
    programme, as plain text that fits ``width`` columns."""
    from rich import box
    from rich.table import Table

    s = ens.summary()
    multi = len(ens.seeds) > 1
    head = (f"{ens.scenario.spec.scenario.title or ens.scenario.name}\n"
            f"seed {ens.root_seed}, {len(ens.seeds)} replicate(s)" + (": mean and 5–95 %" if multi else ""))
    years = Table(box=box.SIMPLE_HEAD, title=head, title_justify="left")
    columns = [("registered poor\n(persons)", "poor_persons_end", 1.0), ("exits", "exits_persons", 1.0),
               ("returns", "returns_persons", 1.0), ("new entries", "entries_persons", 1.0),
               ("return\nrate %", "return_rate", 100.0), ("spent\n(yuan)", "spent", 1.0)]
    years.add_column("year")
    years.add_column(columns[0][0], justify="right")
    years.add_column("plan\ntarget", justify="right")
    for label, *_ in columns[1:]:
        years.add_column(label, justify="right")
    for _, r in s.iterrows():
        target = r.get("target_poor_persons_end")
        years.add_row(str(int(r.year)), _cell(r, "poor_persons_end", multi), "" if pd.isna(target) else short(target),
                      *[_cell(r, name, multi, scale) for _, name, scale in columns[1:]])

    pw = ens.pathways[ens.pathways.county == TOTAL]
    table = pw.groupby(["year", "pathway"], sort=False).exits_persons.mean().unstack("pathway")
    pathways = _by_year("Exits by pathway (persons, mean)", table)

    sp = ens.spending[ens.spending.county == TOTAL]
    spent = sp.groupby(["year", "programme"], sort=False)[["budget", "spent"]].mean()
    tab = spent.spent.unstack("programme")
    tab["budget"] = spent.budget.groupby("year").sum()
    spending = _by_year("Spending by programme (yuan, mean)", tab)
    return render(years, pathways, spending, width=width)


def _by_year(title: str, frame: pd.DataFrame) -> "Table":
    """A frame indexed by year as a terminal table, one column per frame column, numbers short."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    table.add_column("year")
    for col in frame.columns:
        table.add_column(str(col), justify="right")
    for year, row in frame.iterrows():
        table.add_row(str(year), *[short(v) for v in row])
    return table
