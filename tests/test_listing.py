"""Poor villages and poor counties leave their lists (sim/core/listing.py) when registered incidence
falls below the standard; counties start listed as the scenario says."""

from __future__ import annotations

import numpy as np

from helpers import households, scaled, totals
from sim.core.listing import counties_leave, initial_counties, villages_leave
from sim.core.state import Counties, Status, Villages
from sim.model import TuopinModel


def test_a_village_and_a_county_leave_below_the_standard_and_never_return():
    hh = households(4, status=[Status.POOR, Status.POOR, Status.EXITED, Status.POOR], size=[3, 1, 5, 2],
                    village=[0, 0, 1, 2], county=[0, 0, 1, 1])
    villages = Villages(3, 1)
    villages.population[:] = [100.0, 100.0, 100.0]
    villages.listed[:] = [True, True, False]
    left = villages_leave(villages, hh, 0.03)  # incidence 4 %, 0 %, 2 %
    assert left.tolist() == [False, True, False] and villages.listed.tolist() == [True, False, False]
    counties = Counties(["a", "b"], ["", ""], 1)
    counties.population[:] = [200.0, 50.0]
    counties.listed[:] = True
    assert counties_leave(counties, hh, 0.03).tolist() == [True, False]  # incidence 4/200 = 2 %, 2/50 = 4 %
    hh.status[:] = Status.POOR  # a county that left does not come back, even if poverty does
    assert counties_leave(counties, hh, 0.03).tolist() == [False, False]
    assert counties.listed.tolist() == [False, True]


def test_counties_start_listed_as_the_scenario_says(sanming):
    pop = sanming.spec.population
    listed = initial_counties(pop)
    assert listed.sum() == pop.poor_counties == 5
    persons = np.array([c.poor_persons for c in pop.counties])
    assert persons[listed].min() >= persons[~listed].max()  # the five largest registers
    marked = sanming.with_changes({"population": {"counties": [
        {**c.model_dump(), "poor_county": True if i == 0 else None} for i, c in enumerate(pop.counties)]}})
    chosen = initial_counties(marked.spec.population)
    assert chosen[0] and chosen.sum() == 5  # the marked one, then four more by size


def test_villages_and_counties_leave_as_the_register_clears(sanming):
    y = totals(TuopinModel(scaled(sanming, 0.3), seed=1).run().results.yearly).set_index("year")
    assert y.poor_villages_end.iloc[0] + y.villages_exited.iloc[0] == 380
    assert y.poor_counties_end.iloc[0] + y.counties_exited.iloc[0] == 5
    assert y.poor_villages_end.iloc[-1] < 0.1 * 380 and y.poor_counties_end.iloc[-1] == 0
    assert y.villages_exited.sum() == 380 - y.poor_villages_end.iloc[-1]
