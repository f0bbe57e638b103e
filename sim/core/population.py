"""Initialisation: a synthetic population of households from a scenario's published figures.

Registered persons per county come from the scenario (for Sanming, the plan's attachment table);
category and cause shares from the plan's register totals (001 §一(二), §二(一)), applied to every
county alike (an assumption: the plan gives them for the city only). Household sizes are drawn and
then adjusted so that persons per county and category match the table exactly. Incomes, labour,
pupils and the guarantees are drawn from ``sim/inputs/parameters/population.toml``.
The population depends only on the scenario's population section, its parameters and the seed, so
budget options run with one seed share the same households (common random numbers).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from ..inputs.params import ParameterSet
from ..inputs.scenario import Scenario
from ..inputs.vocabulary import REGISTERED_CATEGORIES
from .listing import initial_counties
from .state import Category, Cause, Column, Counties, Households, Status, Villages
from .streams import Streams


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer ``total`` in proportion to ``weights`` into integers that sum to it."""
    weights = np.asarray(weights, dtype=np.float64)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    exact = total * weights / weights.sum()
    out = np.floor(exact).astype(np.int64)
    short = total - out.sum()
    order = np.argsort(-(exact - out), kind="stable")
    out[order[:short]] += 1
    return out


def two_way_split(rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each row total in proportion to ``weights`` into integers so that every row sums to
    its total and every column to its share of the grand total (``largest_remainder``): persons
    per county and per category both match the register. Controlled rounding: the floors of the
    exact cells, then one unit at a time to the cell with the largest remainder among those whose
    row and column are both short."""
    rows = np.asarray(rows, dtype=np.int64)
    weights = np.asarray(weights, dtype=np.float64)
    out = np.zeros((len(rows), len(weights)), dtype=np.int64)
    if weights.sum() <= 0 or rows.sum() <= 0:
        return out
    exact = rows[:, None] * (weights / weights.sum())[None, :]
    out[:] = np.floor(exact)
    row_short = rows - out.sum(axis=1)
    col_short = largest_remainder(int(rows.sum()), weights) - out.sum(axis=0)
    remainder = exact - out
    for flat in np.argsort(-remainder, axis=None, kind="stable"):
        i, k = divmod(int(flat), len(weights))
        if row_short[i] > 0 and col_short[k] > 0:
            out[i, k] += 1
            row_short[i] -= 1
            col_short[k] -= 1
    # Rows and columns still short (rare) meet in cells with no remainder left: their totals agree.
    for i in np.flatnonzero(row_short > 0):
        for k in np.flatnonzero(col_short > 0):
            step = min(row_short[i], col_short[k])
            out[i, k] += step
            row_short[i] -= step
            col_short[k] -= step
    return out


def draw_sizes(rng: np.random.Generator, households: int, persons: int) -> np.ndarray:
    """Household sizes >= 1 summing exactly to ``persons`` with the right mean and some spread."""
    if households == 0:
        return np.zeros(0, dtype=np.int64)
    persons = max(persons, households)
    mean_extra = persons / households - 1
    cap = max(10, int(np.ceil(persons / households)) + 3)  # size limit; room for any mean
    sizes = 1 + np.minimum(rng.poisson(mean_extra, households), cap - 1)
    diff = persons - int(sizes.sum())
    while diff != 0:
        pool = np.flatnonzero(sizes < cap) if diff > 0 else np.flatnonzero(sizes > 1)
        pick = rng.choice(pool, size=min(abs(diff), len(pool)), replace=False)
        sizes[pick] += 1 if diff > 0 else -1
        diff = persons - int(sizes.sum())
    return sizes


def _u(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random(n, dtype=np.float32)


def build_population(spec: Scenario, params: ParameterSet, seed: int, n_programmes: int,
                     extra_columns: Mapping[str, Column] | None = None) -> tuple[Households, Villages, Counties]:
    """Households, villages and counties at the end of the base year (sample scale).

    ``n_programmes`` sizes the per-programme arrays; ``extra_columns`` are the household columns
    the programmes in the run declare (they start at their declared fill value)."""
    pop = spec.population
    scale = spec.scenario.population_scale
    line = params.value(f"poverty_line.{spec.scenario.poverty_line}", pop.base_year)
    P = params.group("population")
    rng = Streams(seed).generator("population", 0)

    cats = [pop.categories.get(name) for name in REGISTERED_CATEGORIES]
    cat_persons = np.array([c.persons if c else 0 for c in cats], dtype=np.float64)
    cat_households = np.array([c.households if c else 0 for c in cats], dtype=np.float64)
    cause_names = [c.name.lower() for c in Cause if c not in (Cause.NONE, Cause.LOCATION)]
    cause_w = np.array([pop.causes.get(name, 0.0) for name in cause_names], dtype=np.float64)

    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("county", "category", "size")}
    county_pop, names, names_zh, v_county, v_pop, v_listed = [], [], [], [], [], []
    total_listed = pop.poor_villages
    listed_split = largest_remainder(total_listed, np.array([c.poor_persons for c in pop.counties]))
    county_persons = np.array([int(round(c.poor_persons * scale)) for c in pop.counties], dtype=np.int64)
    persons_by_cat = two_way_split(county_persons, cat_persons)
    for ci, county in enumerate(pop.counties):
        per_cat = persons_by_cat[ci]
        for k in range(len(REGISTERED_CATEGORIES)):
            if per_cat[k] == 0 or cat_households[k] == 0:
                continue
            n_hh = max(1, int(round(per_cat[k] * cat_households[k] / cat_persons[k])))
            sizes = draw_sizes(rng, n_hh, int(per_cat[k]))
            columns["county"].append(np.full(n_hh, ci, dtype=np.int16))
            columns["category"].append(np.full(n_hh, k, dtype=np.uint8))
            columns["size"].append(sizes.astype(np.uint8))
        # Rural population: given, or from incidence, or from the default incidence.
        if county.rural_population is not None:
            rural = county.rural_population
        else:
            incidence = county.incidence or P["initial_incidence"]
            rural = county.poor_persons / incidence
        rural *= scale
        county_pop.append(rural)
        names.append(county.name)
        names_zh.append(county.name_zh)
        n_listed = county.poor_villages if county.poor_villages is not None else int(listed_split[ci])
        n_villages = max(n_listed + 1, int(round(rural / (P["village_population"] * scale))))
        v_county.append(np.full(n_villages, ci))
        v_pop.append(np.full(n_villages, rural / n_villages))
        v_listed.append(np.arange(n_villages) < n_listed)

    county = np.concatenate(columns["county"])
    category = np.concatenate(columns["category"])
    size = np.concatenate(columns["size"])
    n_reg = len(county)

    # Households near the line but off the register, in the same counties.
    n_near_c = largest_remainder(int(round(n_reg * P["near_line_ratio"])), np.bincount(county, minlength=len(names)))
    near_county = np.repeat(np.arange(len(names), dtype=np.int16), n_near_c)
    near_size = draw_sizes(rng, len(near_county), int(round(len(near_county) * P["near_line_mean_size"]))).astype(np.uint8)
    county = np.concatenate([county, near_county])
    category = np.concatenate([category, np.full(len(near_county), Category.NEAR_LINE, dtype=np.uint8)])
    size = np.concatenate([size, near_size])

    # The household order is a lottery: untargeted allocation and ties follow it.
    order = rng.permutation(len(county))
    county, category, size = county[order], category[order], size[order]
    n = len(county)
    hh = Households(n, n_programmes, extra_columns)
    hh.county[:] = county
    hh.category[:] = category
    hh.size[:] = size
    registered = category != Category.NEAR_LINE
    hh.status[:] = np.where(registered, Status.POOR, Status.NEVER)
    hh.entry_year[registered] = pop.base_year

    # Cause of poverty; location (relocation areas) comes from the relocation share.
    cause = rng.choice(np.array([Cause[c.upper()] for c in cause_names], dtype=np.uint8), size=n,
                       p=cause_w / cause_w.sum())
    reloc = registered & (_u(rng, n) < pop.relocation_area_share)
    reloc |= ~registered & (_u(rng, n) < P["near_line_relocation_share"])
    cause[reloc & registered] = Cause.LOCATION
    hh.cause[:] = np.where(registered, cause, Cause.NONE)
    hh.relocation_area[:] = reloc

    # Labour and pupils.
    no_labour = (category == Category.DIBAO_NO_LABOUR) | (category == Category.FIVE_GUARANTEE)
    extra = rng.binomial(np.maximum(size.astype(np.int64) - 1, 0), P["labour_share_of_other_members"])
    labour = np.where(no_labour, 0, 1 + extra)
    labour = np.where(hh.cause == Cause.LABOUR, np.minimum(labour, 1), labour)
    hh.labour[:] = np.minimum(labour, size)
    pupils = rng.binomial(np.maximum(size.astype(np.int64) - hh.labour, 0), P["pupil_share_of_dependants"])
    pupils = np.where((hh.cause == Cause.EDUCATION) & (pupils == 0) & (size > hh.labour), 1, pupils)
    hh.pupils[:] = np.where(category == Category.FIVE_GUARANTEE, 0, pupils)

    # Income per person at the base year, as a share of the line, split into sources.
    low = np.where(registered, np.float32(P["registered_income_low"]), np.float32(P["near_line_income_low"]))
    high = np.where(registered, np.float32(P["registered_income_high"]), np.float32(P["near_line_income_high"]))
    ratio = low + (high - low) * _u(rng, n)
    del low, high
    total = ratio * np.float32(line) * size
    has_labour = hh.labour > 0
    farm_sh = np.where(has_labour, np.float32(P["farm_share_with_labour"]), np.float32(P["farm_share_without_labour"]))
    wage_sh = np.where(has_labour, np.float32(P["wage_share_with_labour"]), np.float32(0))
    asset_sh = np.float32(P["asset_share"])
    hh.farm[:] = total * farm_sh
    hh.wage[:] = total * wage_sh
    hh.asset[:] = total * asset_sh
    hh.transfer[:] = total * np.maximum(np.float32(0), 1 - farm_sh - wage_sh - asset_sh)
    del total, farm_sh, wage_sh
    hh.employed[:] = hh.wage > 0
    hh.had_job[:] = hh.employed  # a household that had a job looks for another when it loses it
    hh.last_income_pc[:] = ratio * np.float32(line)

    # The guarantees.
    unsafe_p = np.where(reloc, P["unsafe_housing_share_relocation_area"], P["unsafe_housing_share"])
    hh.housing_safe[:] = ~(registered & (_u(rng, n) < unsafe_p))
    hh.insured[:] = ~(registered & (_u(rng, n) < P["uninsured_share"]))
    out_p = np.where(hh.cause == Cause.EDUCATION, P["out_of_school_share_education_cause"], P["out_of_school_share"])
    hh.school_ok[:] = ~((hh.pupils > 0) & registered & (_u(rng, n) < out_p))

    # Villages: a share of registered households live in listed poor villages.
    v_county = np.concatenate(v_county)
    v_pop = np.concatenate(v_pop)
    v_listed = np.concatenate(v_listed)
    first = np.searchsorted(v_county, np.arange(len(names)))
    count = np.bincount(v_county, minlength=len(names))
    listed_n = np.bincount(v_county, weights=v_listed, minlength=len(names)).astype(np.int64)
    in_listed = registered & (_u(rng, n) < P["registered_share_in_poor_villages"]) & (listed_n[hh.county] > 0)
    u = _u(rng, n)
    offset_listed = np.floor(u * np.maximum(listed_n[hh.county], 1)).astype(np.int64)
    offset_other = listed_n[hh.county] + np.floor(u * (count[hh.county] - listed_n[hh.county])).astype(np.int64)
    hh.village[:] = first[hh.county] + np.where(in_listed, offset_listed, offset_other)

    # Drawn last, so that adding them left every earlier draw as it was.
    # Light work: a member of a household without able labour who can hold a light post.
    no_able = (hh.labour == 0) & (category != Category.FIVE_GUARANTEE)
    hh.light_work[:] = no_able & (_u(rng, n) < P["light_work_share"])
    # Each household's own drift of earnings around the common growth rate (clipped at ±3 sd).
    z = np.clip(rng.standard_normal(n, dtype=np.float32), -3, 3)
    hh.growth[:] = params.value("income.growth_rate") + params.value("income.growth_sd") * z

    villages = Villages(len(v_county), n_programmes)
    villages.county[:] = v_county
    villages.population[:] = v_pop
    villages.listed[:] = v_listed
    counties = Counties(names, names_zh, n_programmes)
    counties.population[:] = county_pop
    counties.listed[:] = initial_counties(pop)
    return hh, villages, counties
