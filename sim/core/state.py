"""State: every household, village and county array, declared once with its dtype and meaning.

Households are the model's agents. Their state lives in columns rather than Python objects so that
a month's rules are a handful of vectorized operations over the whole population (the way Starsim
and Covasim hold people). ``HOUSEHOLD``, ``VILLAGE`` and ``COUNTY`` declare the columns; a
programme may declare household columns of its own (``Programme.columns``), which join the table
when the programme takes part in a run. Nothing else holds state that lasts from one stage to the
next: a stage reads and writes these columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Mapping

import numpy as np
import pandas as pd

from ..inputs.vocabulary import Category, Cause

MONTHS = 12  # the model's step is a month; the register is assessed every 12 steps

__all__ = ["MONTHS", "Category", "Cause", "Status", "Column", "HOUSEHOLD", "VILLAGE", "COUNTY", "FIELDS",
           "Table", "Households", "Villages", "Counties"]


class Status(IntEnum):
    """Register status at the last assessment."""

    NEVER = 0    # not on the register
    POOR = 1     # on the register, not exited (includes returners and new entries)
    EXITED = 2   # exited (脱贫) and not returned


@dataclass(frozen=True)
class Column:
    """One declared array: its dtype, what it means (with its unit), its initial value, and
    whether it has one row per programme (shape programmes × units)."""

    dtype: str
    meaning: str
    fill: int | float | bool = 0
    per_programme: bool = False


P = True  # per programme

# Households. The order here is the order of Households.to_frame().
HOUSEHOLD: dict[str, Column] = {
    "county": Column("int16", "county index"),
    "village": Column("int32", "village index (global)"),
    "category": Column("uint8", "Category"),
    "cause": Column("uint8", "Cause: main cause of poverty"),
    "size": Column("uint8", "persons in the household"),
    "labour": Column("uint8", "working-age members able to work"),
    "light_work": Column("uint8", "members who can do light work only (公益性岗位), in households without full labour"),
    "pupils": Column("uint8", "children of school age"),
    "relocation_area": Column("bool", "lives where relocation applies (易地扶贫搬迁 areas)"),
    "housing_safe": Column("bool", "housing safety guaranteed (住房安全)"),
    "insured": Column("bool", "enrolled in basic medical insurance (基本医疗)"),
    "school_ok": Column("bool", "every school-age child in school (义务教育)"),
    "farm": Column("float32", "base farm and own-business income, yuan/year (household)"),
    "wage": Column("float32", "base wage income when employed, yuan/year"),
    "transfer": Column("float32", "base transfers other than programmes (pensions, subsidies), yuan/year"),
    "asset": Column("float32", "asset and property income, yuan/year"),
    "growth": Column("float32", "the household's own yearly nominal growth of earnings (its drift), 1/year"),
    "employed": Column("bool", "currently holds its wage job"),
    "had_job": Column("bool", "has held a wage job, so looks for another after losing it"),
    "sick_months": Column("uint8", "months of lost work left from an illness"),
    "chronic": Column("bool", "a chronic illness lowers earnings and raises the illness rate until recovery"),
    "illness_rate": Column("float32", "monthly probability of a serious illness, 1/month"),
    "year_farm": Column("float32", "this year's own-production income after the year's shocks, yuan/year"),
    "year_wage": Column("float32", "this year's wage income when employed, after the year's shocks, yuan/year"),
    "education_monthly": Column("float32", "this year's education cost before support, yuan/month"),
    "status": Column("uint8", "Status"),
    "exit_year": Column("int16", "year of the last exit, -1 if none", fill=-1),
    "entry_year": Column("int16", "year the household entered the register, -1 if never", fill=-1),
    "returns": Column("uint8", "times returned to poverty"),
    "years_above": Column("uint8", "consecutive assessments with per-person net income at or above the line"),
    "relocated": Column("bool", "moved under the relocation programme (易地扶贫搬迁)"),
    "monitored": Column("bool", "under dynamic monitoring for return risk (防止返贫监测, transition period)"),
    "identify_at": Column("int16", "month the monitoring system will identify the household at risk; -1 = none pending", fill=-1),
    "years_safe": Column("uint8", "consecutive assessments of a monitored household above the monitoring threshold"),
    "income_year": Column("float32", "income accumulated in the current year, yuan (household)"),
    "medical_oop": Column("float32", "out-of-pocket medical cost accumulated this year, yuan"),
    "education_cost": Column("float32", "education cost accumulated this year after support, yuan"),
    "last_income_pc": Column("float32", "per-person net income at the last assessment, yuan/person/year"),
    # One row per programme taking part in the run, in programme order.
    "enrolled_month": Column("int16", "month index at which the programme's support began; -1 = never", -1, P),
    "support_end": Column("int16", "month index at which support ends (costs stop; persistence applies after)", -1, P),
    "contribution": Column("float32", "this year's net-income contribution of the programme (income added or cost avoided), yuan", 0, P),
    "benefit": Column("float32", "recurring effect fixed at enrolment (e.g. the welfare top-up, a job's wage), yuan/year", 0, P),
}
FIELDS = HOUSEHOLD  # the household schema under its earlier name

VILLAGE: dict[str, Column] = {
    "county": Column("int64", "county of the village"),
    "population": Column("float64", "rural persons (sample scale): the denominator of village incidence"),
    "listed": Column("bool", "on the poor-village list (贫困村)"),
    "disaster": Column("bool", "hit by a natural disaster this year"),
    "project_started": Column("int32", "month a village project of the programme was funded; -1 = none", -1, P),
}

COUNTY: dict[str, Column] = {
    "population": Column("float64", "rural persons (sample scale): the denominator of incidence"),
    "listed": Column("bool", "on the list of poor counties (贫困县), until it leaves (摘帽)"),
    "budget_share": Column("float64", "the county's share of every programme budget (四到县)"),
    "market_factor": Column("float32", "this year's factor on own-production income (a market shock makes it < 1)", 1.0),
    "remaining": Column("float64", "budget left after January's allocation, yuan (sample scale)", 0, P),
}


class Table:
    """Columns of one kind of unit as attributes (``hh.status``), built from a schema."""

    def __init__(self, n: int, schema: Mapping[str, Column], n_programmes: int):
        self.n = int(n)
        self.schema = dict(schema)
        for name, col in self.schema.items():
            shape = (n_programmes, self.n) if col.per_programme else self.n
            # Zeros come from calloc: pages are touched only when first written, which keeps the
            # population build (whose temporaries peak before the run writes them) lean.
            a = np.zeros(shape, dtype=col.dtype) if col.fill == 0 else np.full(shape, col.fill, dtype=col.dtype)
            setattr(self, name, a)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.schema}

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())

    def row(self, i: int) -> dict:
        """One unit as a dict: for inspection in a notebook."""
        out = {}
        for name, col in self.schema.items():
            a = getattr(self, name)
            out[name] = a[:, i].tolist() if col.per_programme else a[i].item()
        return out

    def to_frame(self) -> pd.DataFrame:
        """The columns with one value per unit (per-programme arrays are left out)."""
        return pd.DataFrame({name: getattr(self, name) for name, col in self.schema.items()
                             if not col.per_programme})


class Households(Table):
    """One row per household: the core schema plus the columns of the programmes in the run."""

    def __init__(self, n: int, n_programmes: int, extra: Mapping[str, Column] | None = None):
        super().__init__(n, {**HOUSEHOLD, **(extra or {})}, n_programmes)


class Villages(Table):
    def __init__(self, n: int, n_programmes: int):
        super().__init__(n, VILLAGE, n_programmes)


class Counties(Table):
    """One row per county; its names are kept beside the arrays."""

    def __init__(self, names: list[str], names_zh: list[str], n_programmes: int):
        super().__init__(len(names), COUNTY, n_programmes)
        self.names = list(names)
        self.names_zh = list(names_zh)
