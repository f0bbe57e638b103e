"""Income: yearly growth of base incomes and the new year's accumulators, and the monthly accrual.

Net income for the poverty assessment is the year's income from all sources (own production,
wages, transfers, assets and programme effects) less out-of-pocket medical and education costs
(``sim/core/costs.py``): the register counts illness and school costs as causes of poverty
(001 §二(一) 1, 3), so the model lets them act through net income.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import kernels
from .state import MONTHS, Cause, Households, Status


def catch_up(hh: Households, rate: float, reference: float) -> np.ndarray:
    """Extra growth of earnings toward the rural mean: exp(rate × ln(reference / base income per
    person)), or 1 for a household at or above it (β-convergence)."""
    # In one buffer: the same operations in the same order as
    # exp(rate × max(log(reference / max(base, 0.01 reference)), 0)).
    x = hh.farm + hh.wage
    x += hh.transfer
    x += hh.asset
    x /= hh.size
    np.maximum(x, np.float32(0.01 * reference), out=x)
    np.divide(np.float32(reference), x, out=x)
    np.log(x, out=x)
    np.maximum(x, np.float32(0), out=x)
    x *= np.float32(rate)
    return np.exp(x, out=x)


def new_year(hh: Households, income: Mapping[str, float], u_repair: np.ndarray, z_permanent: np.ndarray,
             reference: float, deadline_reached: bool = False) -> None:
    """January: grow base incomes from last year, reset the year's accumulators, set the year's
    education cost, and repair some unsafe housing (``u_repair``: one uniform per household).
    From the plan's deadline on (``deadline_reached``) registered households' houses are made safe
    at ``housing_repair_rate_deadline``, in relocation areas too.

    Earnings (own production and wages) follow a permanent component: each year they grow at the
    household's own rate (``growth``) times a permanent shock exp(σ z − σ²/2) (``z_permanent``:
    one standard normal per household) that is carried into every later year, and catches up
    toward ``reference`` (last year's rural mean income per person) at ``convergence_rate``.
    Transitory luck is drawn separately each year (``shocks.yearly``)."""
    # Base incomes are those of the year before (the base year for the first January).
    sigma = np.float32(income["permanent_shock_sigma"])
    # (1 + growth) × exp(σ z − σ²/2), made in one buffer (the same operations, in the same order)
    factor = np.multiply(z_permanent, sigma)
    factor -= sigma * sigma / 2
    np.exp(factor, out=factor)
    factor *= 1 + hh.growth
    factor *= catch_up(hh, income["convergence_rate"], reference)
    hh.farm *= factor
    hh.wage *= factor
    del factor
    hh.transfer *= np.float32(1 + income["transfer_growth_rate"])
    hh.asset *= np.float32(1 + income["growth_rate"])
    hh.income_year[:] = 0
    hh.medical_oop[:] = 0
    hh.education_cost[:] = 0
    hh.contribution[:] = 0
    cost = income["education_cost_per_pupil"] * hh.pupils.astype(np.float32)
    cost[np.flatnonzero(hh.cause == Cause.EDUCATION)] *= np.float32(income["education_cost_multiplier_education_cause"])
    np.divide(cost, MONTHS, out=hh.education_monthly)
    del cost
    # Dangerous-housing renovation (危房改造) runs outside the programme budgets; registered
    # households come first (their housing is a condition of exit). In relocation areas moving is
    # the remedy; registered households who stay are rebuilt in place, more slowly.
    # The rate by (registered, in a relocation area), looked up in a table of the four. By the plan's
    # deadline every registered household is to be out, so the guarantees its exit needs are
    # delivered to those still registered: their houses first of all.
    registered = ((income["housing_repair_rate_deadline"],) * 2 if deadline_reached else
                  (income["housing_repair_rate_registered"], income["housing_repair_rate_relocation_area"]))
    rates = np.array([income["housing_repair_rate"], registered[0], 0, registered[1]], dtype=np.float32)
    code = (hh.status == Status.POOR).view(np.uint8)
    code |= np.left_shift(hh.relocation_area.view(np.uint8), 1)
    hh.housing_safe |= u_repair < rates.take(code)


def accrue_month(hh: Households) -> None:
    """One twelfth of the year's earnings, transfers and asset income; an ill member earns nothing.

    Per household: ((year_farm + year_wage × employed) × (labour − 1) / labour while a member is
    sick, + transfer + asset) / 12, in float32, in that order; the sick months count down."""
    kernels.accrue_month(hh.year_farm, hh.year_wage, hh.employed, hh.labour, hh.transfer, hh.asset,
                         hh.income_year, hh.sick_months)
