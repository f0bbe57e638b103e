"""Shocks: illness, disability, job loss each month; income noise, market and disaster each year.

Each shock has its own random stream, drawn for every household every period (common random
numbers). Sizes of illness costs come from the same uniform as the event, rescaled, so an illness
costs a household the same in every scenario run with the seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from .state import Cause

if TYPE_CHECKING:
    from .model import TuopinModel


def illness_rate(model: "TuopinModel") -> np.ndarray:
    """Monthly illness probability per household (higher where illness caused poverty)."""
    S = model.shock
    rate = np.full(model.hh.n, S["illness_rate"], dtype=np.float32)
    chronic = (model.hh.cause == Cause.ILLNESS) | (model.hh.cause == Cause.DISABILITY)
    rate[chronic] *= S["illness_rate_multiplier_chronic"]
    return np.minimum(rate, 1)


def monthly(model: "TuopinModel") -> None:
    hh, S = model.hh, model.shock

    # Illness (大病): a cost, part of it out of pocket, and months of lost work.
    u = model.draw("illness")
    ill = np.flatnonzero(u < model.illness_rate)
    if ill.size:
        q = np.clip(u[ill] / model.illness_rate[ill], 1e-6, 1 - 1e-6)
        sigma = S["illness_cost_sigma"]
        cost = S["illness_cost_mean"] * np.exp(sigma * ndtri(q) - sigma**2 / 2)
        share = np.where(hh.insured[ill], np.float32(S["out_of_pocket_share_insured"]), np.float32(1.0))
        for prog in model.programmes:
            adjust = getattr(prog, "adjust_medical_cost", None)
            if adjust is not None:
                cost_oop = adjust(hh, ill, cost.astype(np.float32), share)
                break
        else:
            cost_oop = cost * share
        hh.medical_oop[ill] += cost_oop.astype(np.float32)
        hh.sick_months[ill] = S["illness_lost_months"]

    # Disability: one able member stops working for good; earnings fall in proportion.
    u = model.draw("disability")
    hit = np.flatnonzero((u < S["disability_rate"]) & (hh.labour > 0))
    if hit.size:
        keep = (hh.labour[hit] - 1) / hh.labour[hit]
        hh.farm[hit] *= keep.astype(np.float32)
        hh.wage[hit] *= keep.astype(np.float32)
        hh.labour[hit] -= 1
        model.year_farm[hit] *= keep.astype(np.float32)
        model.year_wage[hit] *= keep.astype(np.float32)

    # Jobs: a held job may be lost; a lost one may be found again.
    u = model.draw("job_loss")
    lose = hh.employed & (u < S["job_loss_rate"])
    find = ~hh.employed & (hh.labour > 0) & (u < S["rehire_rate"]) & model.had_job
    hh.employed[lose] = False
    hh.employed[find] = True


def yearly(model: "TuopinModel") -> None:
    """January: this year's income noise, county market shocks, village disasters."""
    hh, S, year = model.hh, model.shock, model.year
    g = model.streams
    n_c = model.geo.n_counties
    market_hit = g.uniform("market", year, n_c) < S["market_shock_rate"]
    model.market_factor = np.where(market_hit, np.float32(1 - S["market_shock_loss"]), np.float32(1)).astype(np.float32)
    disaster_hit = g.uniform("disaster", year, len(model.geo.village_county)) < S["disaster_rate"]
    village_factor = np.where(disaster_hit, np.float32(1 - S["disaster_farm_loss"]), np.float32(1))
    sigma = np.float32(S["income_noise_sigma"])
    noise = np.exp(sigma * g.normal("income_noise", year, hh.n) - sigma * sigma / 2)
    model.year_farm = (hh.farm * noise * model.market_factor[hh.county] * village_factor[hh.village]).astype(np.float32)
    model.year_wage = (hh.wage * noise).astype(np.float32)
