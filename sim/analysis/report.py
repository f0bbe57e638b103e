"""The terminal summary of an ensemble: the plan's targets beside the model, by year."""

from __future__ import annotations

import pandas as pd

from ..core.budget import TOTAL


def _fmt(mean, low=None, high=None, scale=1.0, digits=0) -> str:
    if pd.isna(mean):
        return "–"  # e.g. a return rate in the first year, when nobody has exited yet
    text = f"{mean / scale:,.{digits}f}"
    if low is not None and not pd.isna(low):
        text += f" [{low / scale:,.{digits}f}–{high / scale:,.{digits}f}]"
    return text


def summary_text(ens) -> str:
    s = ens.summary()
    multi = len(ens.seeds) > 1
    lines = [f"{ens.scenario.spec.scenario.title or ens.scenario.name}",
             f"seed {ens.root_seed}, {len(ens.seeds)} replicate(s)"
             + (" — mean [5–95 %]" if multi else ""), ""]
    rows = []
    for _, r in s.iterrows():
        def col(name, scale=1.0, digits=0):
            if multi:
                return _fmt(r[f"{name}_mean"], r[f"{name}_p05"], r[f"{name}_p95"], scale, digits)
            return _fmt(r[f"{name}_mean"], scale=scale, digits=digits)
        rows.append({
            "year": int(r.year),
            "registered poor (persons)": col("poor_persons_end"),
            "plan target": "" if pd.isna(r.get("target_poor_persons_end")) else f"{r.target_poor_persons_end:,.0f}",
            "exits": col("exits_persons"),
            "returns": col("returns_persons"),
            "new entries": col("entries_persons"),
            "return rate %": col("return_rate", 0.01, 1),
            "spent (M yuan)": col("spent", 1e6, 1),
        })
    lines.append(pd.DataFrame(rows).to_string(index=False))

    pw = ens.pathways[ens.pathways.county == TOTAL]
    table = pw.groupby(["year", "pathway"], sort=False).exits_persons.mean().unstack("pathway")
    lines += ["", "Exits by pathway (persons, mean):", table.round(0).astype(int).to_string()]

    sp = ens.spending[ens.spending.county == TOTAL]
    spent = sp.groupby(["year", "programme"], sort=False)[["budget", "spent"]].mean()
    tab = (spent.spent / 1e6).round(1).unstack("programme")
    tab["budget"] = (spent.budget.groupby("year").sum() / 1e6).round(1)
    lines += ["", "Spending by programme (million yuan, mean):", tab.to_string()]
    return "\n".join(lines)
