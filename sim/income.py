"""Income and costs: yearly growth of base incomes, monthly accrual of earnings and costs.

Net income for the poverty assessment is the year's income from all sources (own production,
wages, transfers, assets and programme effects) less out-of-pocket medical and education costs:
the register counts illness and school costs as causes of poverty (001 §二(一) 1, 3), so the
model lets them act through net income.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .state import MONTHS, Cause

if TYPE_CHECKING:
    from .model import TuopinModel



def start_year(model: "TuopinModel") -> None:
    """January: grow base incomes from last year, reset the year's accumulators, repair some unsafe housing."""
    hh, I = model.hh, model.income
    # Base incomes are those of the year before (the base year for the first January).
    growth = np.float32(1 + I["growth_rate"])
    hh.farm *= growth
    hh.wage *= growth
    hh.transfer *= np.float32(1 + I["transfer_growth_rate"])
    hh.asset *= growth
    hh.income_year[:] = 0
    hh.medical_oop[:] = 0
    hh.education_cost[:] = 0
    hh.contribution[:] = 0
    cost = I["education_cost_per_pupil"] * hh.pupils.astype(np.float32)
    cost = np.where(hh.cause == Cause.EDUCATION, cost * np.float32(I["education_cost_multiplier_education_cause"]), cost)
    model.education_monthly = (cost / MONTHS).astype(np.float32)
    # Dangerous-housing renovation (危房改造) runs outside the six budgets.
    u = model.draw("housing_repair")
    hh.housing_safe |= ~hh.relocation_area & (u < I["housing_repair_rate"])


def accrue_month(model: "TuopinModel") -> None:
    hh = model.hh
    earned = model.year_farm + model.year_wage * hh.employed
    sick = np.flatnonzero(hh.sick_months)
    if sick.size:
        able = np.maximum(hh.labour[sick], 1).astype(np.float32)
        earned[sick] *= np.where(hh.labour[sick] > 0, (able - 1) / able, np.float32(1))
        hh.sick_months[sick] -= 1
    hh.income_year += (earned + hh.transfer + hh.asset) / np.float32(MONTHS)
    cost = model.education_monthly
    for prog in model.programmes:
        adjust = getattr(prog, "adjust_education_cost", None)
        if adjust is not None:
            cost = adjust(hh, cost)
    hh.education_cost += cost
