"""Household state: named, typed arrays on one object (one row per household).

Households are the model's agents. Their state lives in columns rather than Python objects so that
a month's rules are a handful of vectorized operations over the whole population (the way Starsim
and Covasim hold people); ``Households.row(i)`` gives one household as a dict for inspection.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd


MONTHS = 12  # the model's step is a month; the register is assessed every 12 steps


class Category(IntEnum):
    """Register category (建档立卡 categories in 001 §一(二)) plus households off the register."""

    GENERAL = 0          # 一般贫困户
    DIBAO_LABOUR = 1     # 有劳动能力的低保贫困户
    DIBAO_NO_LABOUR = 2  # 无劳动能力的低保户
    FIVE_GUARANTEE = 3   # 五保户 / 特困供养
    NEAR_LINE = 4        # never registered, income near the line: where new poverty comes from


class Cause(IntEnum):
    """Main cause of poverty (致贫原因, 001 §二(一) 1–9)."""

    ILLNESS = 0      # 因病
    DISABILITY = 1   # 因残
    EDUCATION = 2    # 因学
    DISASTER = 3     # 因灾
    SKILLS = 4       # 缺技术
    CAPITAL = 5      # 缺资金
    LABOUR = 6       # 缺劳力
    MOTIVATION = 7   # 缺动力
    LOCATION = 8     # 一方水土养不起一方人 (relocation areas)
    NONE = 9         # not registered


class Status(IntEnum):
    """Register status at the last assessment."""

    NEVER = 0    # not on the register
    POOR = 1     # on the register, not exited (includes returners and new entries)
    EXITED = 2   # exited (脱贫) and not returned


# name: (dtype, description). The order here is the order of Households.to_frame().
FIELDS: dict[str, tuple[str, str]] = {
    "county": ("int16", "county index"),
    "village": ("int32", "village index (global)"),
    "category": ("uint8", "Category"),
    "cause": ("uint8", "Cause: main cause of poverty"),
    "size": ("uint8", "persons in the household"),
    "labour": ("uint8", "working-age members able to work"),
    "pupils": ("uint8", "children of school age"),
    "relocation_area": ("bool", "lives where relocation applies (易地扶贫搬迁 areas)"),
    "housing_safe": ("bool", "housing safety guaranteed (住房安全)"),
    "insured": ("bool", "enrolled in basic medical insurance (基本医疗)"),
    "insured_by_health": ("bool", "insured only because the health programme enrolled it"),
    "school_ok": ("bool", "every school-age child in school (义务教育)"),
    "farm": ("float32", "base farm and own-business income, yuan/year (household)"),
    "wage": ("float32", "base wage income when employed, yuan/year"),
    "transfer": ("float32", "base transfers other than programmes (pensions, subsidies), yuan/year"),
    "asset": ("float32", "asset and property income, yuan/year"),
    "employed": ("bool", "currently holds its wage job"),
    "sick_months": ("uint8", "months of lost work left from an illness"),
    "status": ("uint8", "Status"),
    "exit_year": ("int16", "year of the last exit, -1 if none"),
    "entry_year": ("int16", "year the household entered the register, -1 if never"),
    "returns": ("uint8", "times returned to poverty"),
    "income_year": ("float32", "income accumulated in the current year, yuan (household)"),
    "medical_oop": ("float32", "out-of-pocket medical cost accumulated this year, yuan"),
    "education_cost": ("float32", "education cost accumulated this year, yuan"),
    "last_income_pc": ("float32", "per-person net income at the last assessment, yuan/person/year"),
}


class Households:
    """Columns of household state plus per-programme enrolment and contribution arrays."""

    def __init__(self, n: int, n_programmes: int):
        self.n = int(n)
        for name, (dtype, _) in FIELDS.items():
            setattr(self, name, np.zeros(self.n, dtype=dtype))
        # Month index (since the start) at which each programme's support began; -1 = never.
        self.enrolled_month = np.full((n_programmes, self.n), -1, dtype=np.int16)
        # Month index at which support ends (costs stop; persistence applies after).
        self.support_end = np.full((n_programmes, self.n), -1, dtype=np.int16)
        # This year's net-income contribution of each programme (income added or cost avoided).
        self.contribution = np.zeros((n_programmes, self.n), dtype=np.float32)
        # Recurring yuan/year effect fixed at enrolment (e.g. the welfare top-up, a job's wage).
        self.benefit = np.zeros((n_programmes, self.n), dtype=np.float32)
        self.exit_year[:] = -1
        self.entry_year[:] = -1

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values() if isinstance(a, np.ndarray))

    def row(self, i: int) -> dict:
        """One household as a dict: for inspection in a notebook."""
        out = {name: getattr(self, name)[i].item() for name in FIELDS}
        out["enrolled_month"] = self.enrolled_month[:, i].tolist()
        out["contribution"] = self.contribution[:, i].tolist()
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({name: getattr(self, name) for name in FIELDS})
