"""The lists of poor villages (贫困村) and poor counties (贫困县), and how they are left.

A listed village leaves its list (出列), and a listed county its list (摘帽), when its registered
incidence — registered poor persons over its rural population — falls below the standard of the
2016 national exit opinion (2 %; 3 % in the western provinces). Neither returns to a list.
Counties start listed as the scenario says: those it marks ``poor_county``, then up to
``poor_counties`` of the rest with the most registered poor persons (all of them if it is larger).
"""

from __future__ import annotations

import numpy as np

from ..inputs.scenario import Population
from .state import Counties, Households, Status, Villages


def initial_counties(pop: Population) -> np.ndarray:
    """Which counties start on the list of poor counties."""
    listed = np.array([bool(c.poor_county) for c in pop.counties])
    unmarked = [i for i, c in enumerate(pop.counties) if c.poor_county is None]
    more = max(0, pop.poor_counties - int(listed.sum()))
    by_size = sorted(unmarked, key=lambda i: -pop.counties[i].poor_persons)  # stable: file order on ties
    listed[by_size[:more]] = True
    return listed


def _registered_persons(hh: Households, key: np.ndarray, n: int) -> np.ndarray:
    poor_now = np.flatnonzero(hh.status == Status.POOR)
    return np.bincount(key[poor_now], weights=hh.size[poor_now], minlength=n)


def villages_leave(villages: Villages, hh: Households, standard: float) -> np.ndarray:
    """Listed villages below the standard leave the list; returns the mask of those that left."""
    incidence = _registered_persons(hh, hh.village, villages.n) / villages.population
    leave = villages.listed & (incidence < standard)
    villages.listed &= ~leave
    return leave


def counties_leave(counties: Counties, hh: Households, standard: float) -> np.ndarray:
    """Listed counties below the standard leave the list (摘帽); returns the mask of those that left."""
    incidence = _registered_persons(hh, hh.county, counties.n) / counties.population
    leave = counties.listed & (incidence < standard)
    counties.listed &= ~leave
    return leave
