"""Income: yearly growth of base incomes and the new year's accumulators, and the monthly accrual.

Net income for the poverty assessment is the year's income from all sources (own production,
wages, transfers, assets and programme effects) less out-of-pocket medical and education costs
(``sim/core/costs.py``): the register counts illness and school costs as causes of poverty
(001 §二(一) 1, 3), so the model lets them act through net income.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .state import MONTHS, Cause, Households


def new_year(hh: Households, income: Mapping[str, float], u_repair: np.ndarray) -> None:
    """January: grow base incomes from last year, reset the year's accumulators, set the year's
    education cost, and repair some unsafe housing (``u_repair``: one uniform per household)."""
    # Base incomes are those of the year before (the base year for the first January).
    growth = np.float32(1 + income["growth_rate"])
    hh.farm *= growth
    hh.wage *= growth
    hh.transfer *= np.float32(1 + income["transfer_growth_rate"])
    hh.asset *= growth
    hh.income_year[:] = 0
    hh.medical_oop[:] = 0
    hh.education_cost[:] = 0
    hh.contribution[:] = 0
    cost = income["education_cost_per_pupil"] * hh.pupils.astype(np.float32)
    cost = np.where(hh.cause == Cause.EDUCATION,
                    cost * np.float32(income["education_cost_multiplier_education_cause"]), cost)
    hh.education_monthly[:] = (cost / MONTHS).astype(np.float32)
    # Dangerous-housing renovation (危房改造) runs outside the programme budgets.
    hh.housing_safe |= ~hh.relocation_area & (u_repair < income["housing_repair_rate"])


def accrue_month(hh: Households) -> None:
    """One twelfth of the year's earnings, transfers and asset income; an ill member earns nothing."""
    earned = hh.year_farm + hh.year_wage * hh.employed
    sick = np.flatnonzero(hh.sick_months)
    if sick.size:
        able = np.maximum(hh.labour[sick], 1).astype(np.float32)
        earned[sick] *= np.where(hh.labour[sick] > 0, (able - 1) / able, np.float32(1))
        hh.sick_months[sick] -= 1
    hh.income_year += (earned + hh.transfer + hh.asset) / np.float32(MONTHS)
