"""Shocks: illness, disability and job loss each month; income noise, market and disaster each year.

Each shock has its own random stream, drawn for every household every period (common random
numbers); the functions here take those draws as arguments. The size of an illness's cost comes
from the same uniform as the event, rescaled, so an illness costs a household the same in every
scenario run with the seed. The costliest illnesses (a share ``chronic_share`` of them) leave a
chronic condition: earnings fall by ``chronic_earnings_loss`` and illness comes more often until
the household recovers (monthly probability ``chronic_recovery_rate``, drawn from the far end of
the disability uniform, so that one uniform serves two disjoint events).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.special import ndtri

from . import kernels
from .costs import MedicalBill
from .state import Cause, Counties, Households, Villages


def illness_rates(cause: np.ndarray, chronic: np.ndarray, shocks: Mapping[str, float]) -> np.ndarray:
    """Monthly illness probability per household: higher where illness or disability caused
    poverty, or a chronic condition persists."""
    rate = np.full(len(cause), shocks["illness_rate"], dtype=np.float32)
    high = (cause == Cause.ILLNESS) | (cause == Cause.DISABILITY) | chronic
    rate[high] *= shocks["illness_rate_multiplier_chronic"]
    return np.minimum(rate, 1)


def _earnings_factor(hh: Households, idx: np.ndarray, factor: np.float32) -> None:
    for column in (hh.farm, hh.wage, hh.year_farm, hh.year_wage):
        column[idx] *= factor


def illness(hh: Households, shocks: Mapping[str, float], u: np.ndarray) -> MedicalBill:
    """Serious illness (大病): the month's bills (gross cost and the share the household would pay
    with its insurance alone), months of lost work, and for the costliest a chronic condition."""
    ill = kernels.below(u, hh.illness_rate)
    if not ill.size:
        return MedicalBill.none()
    q = np.clip(u[ill] / hh.illness_rate[ill], 1e-6, 1 - 1e-6)
    sigma = shocks["illness_cost_sigma"]
    cost = shocks["illness_cost_mean"] * np.exp(sigma * ndtri(q) - sigma**2 / 2)
    share = np.where(hh.insured[ill], np.float32(shocks["out_of_pocket_share_insured"]), np.float32(1.0))
    hh.sick_months[ill] = shocks["illness_lost_months"]
    onset = ill[(q > 1 - shocks["chronic_share"]) & ~hh.chronic[ill]]
    if onset.size:
        hh.chronic[onset] = True
        _earnings_factor(hh, onset, np.float32(1 - shocks["chronic_earnings_loss"]))
        hh.illness_rate[onset] = illness_rates(hh.cause[onset], hh.chronic[onset], shocks)
    return MedicalBill(ill, cost.astype(np.float32), share)


def disability(hh: Households, shocks: Mapping[str, float], u: np.ndarray) -> None:
    """One able member stops working for good; earnings fall in proportion, this year's too.
    A chronic condition ends (recovery) when the same uniform falls at the other end."""
    # The rates as float32, as numpy compares a float32 uniform with a Python float.
    hit, recover = kernels.disability_draws(u, np.float32(shocks["disability_rate"]), hh.labour,
                                            np.float32(1 - shocks["chronic_recovery_rate"]), hh.chronic)
    if hit.size:
        keep = ((hh.labour[hit] - 1) / hh.labour[hit]).astype(np.float32)
        hh.farm[hit] *= keep
        hh.wage[hit] *= keep
        hh.labour[hit] -= 1
        hh.year_farm[hit] *= keep
        hh.year_wage[hit] *= keep
    if recover.size:
        hh.chronic[recover] = False
        _earnings_factor(hh, recover, np.float32(1 / (1 - shocks["chronic_earnings_loss"])))
        hh.illness_rate[recover] = illness_rates(hh.cause[recover], hh.chronic[recover], shocks)


def jobs(hh: Households, shocks: Mapping[str, float], u: np.ndarray) -> None:
    """A held job may be lost; a lost one may be found again (one uniform: the sets are disjoint)."""
    kernels.jobs(u, np.float32(shocks["job_loss_rate"]), np.float32(shocks["rehire_rate"]), hh.employed,
                 hh.had_job, hh.labour)


def yearly(hh: Households, villages: Villages, counties: Counties, shocks: Mapping[str, float],
           u_market: np.ndarray, u_disaster: np.ndarray, z_noise: np.ndarray) -> None:
    """January: this year's county market shocks (one uniform per county), village disasters (one
    per village) and household income luck (one standard normal per household) set this year's
    realised farm and wage income."""
    market_hit = u_market < shocks["market_shock_rate"]
    counties.market_factor[:] = np.where(market_hit, np.float32(1 - shocks["market_shock_loss"]), np.float32(1))
    villages.disaster[:] = u_disaster < shocks["disaster_rate"]
    village_factor = np.where(villages.disaster, np.float32(1 - shocks["disaster_farm_loss"]), np.float32(1))
    sigma = np.float32(shocks["income_noise_sigma"])
    # exp(σ z − σ²/2), then farm × noise × market × village, written straight into the year's
    # columns (the same float32 operations in the same order).
    noise = np.multiply(z_noise, sigma)
    noise -= sigma * sigma / 2
    np.exp(noise, out=noise)
    np.multiply(hh.farm, noise, out=hh.year_farm)
    hh.year_farm *= counties.market_factor.take(hh.county)
    hh.year_farm *= village_factor.take(hh.village)
    np.multiply(hh.wage, noise, out=hh.year_wage)
