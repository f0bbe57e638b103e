"""Invariants of a whole run, under random seeds, scales, budgets and targeting (hypothesis).

(a) no household is both exited and poor at assessment: every exited household's per-person net
    income at the last assessment is at or above that year's line;
(b) spending never exceeds the budget, for every programme, county and year;
(c) the register's stock-flow identity holds per county and year, for households and persons, and
    each year's end is the next year's start and the count of registered households in the arrays.
"""

from __future__ import annotations

import numpy as np
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from helpers import SANMING_PROGRAMMES, budgets, found_but_not_returned, run_with_checks
from sim.model import TuopinModel
from sim.core.state import Status

multiplier = st.sampled_from([0.0, 0.5, 1.0, 3.0])
config = st.fixed_dictionaries({
    "seed": st.integers(0, 2**40),
    "scale": st.sampled_from([0.03, 0.05, 0.1]),
    "budgets": st.fixed_dictionaries({p: multiplier for p in SANMING_PROGRAMMES}),
    "targeting": st.sampled_from(["precision", "untargeted"]),
    "poverty_line": st.sampled_from(["national", "provincial"]),
})


# A model run is cheap but shrinking one is not: report the first failing example as it is.
fast = settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])


def _close(a, b):
    return np.allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=1e-9, atol=1e-6)


def _run(sanming, cfg):
    loaded = budgets(sanming, cfg["budgets"]).with_changes({"scenario": {
        "population_scale": cfg["scale"], "targeting": cfg["targeting"], "poverty_line": cfg["poverty_line"]}})
    model = TuopinModel(loaded, seed=cfg["seed"])
    reg = model.hh.status == Status.POOR
    initial = (np.bincount(model.hh.county[reg], minlength=model.counties.n),
               np.bincount(model.hh.county[reg], weights=model.hh.size[reg], minlength=model.counties.n))
    counts = {}
    violations = []

    def check(m, year):
        hh = m.hh
        line = m.line(year)
        exited = hh.status == Status.EXITED
        bad = found_but_not_returned(m, year)
        if bad.size:
            violations.append((year, bad[:5].tolist(), hh.last_income_pc[bad[:5]].tolist(), line))
        poor = hh.status == Status.POOR
        n_c = m.counties.n
        counts[year] = (np.bincount(hh.county[poor], minlength=n_c),
                          np.bincount(hh.county[poor], weights=hh.size[poor], minlength=n_c),
                          np.bincount(hh.county[exited], minlength=n_c))

    run_with_checks(model, check)
    return model, initial, counts, violations


@fast
@given(cfg=config)
def test_exited_households_below_the_line_are_the_ones_the_review_missed(sanming, cfg):
    """An exited household below the line at an assessment returns if the review finds it; the
    only exited households below the line are the ones it missed."""
    model, _, counts, violations = _run(sanming, cfg)
    assert len(counts) == len(model.spec.years)
    assert not violations, f"found below the line but still exited (year, households, income, line): {violations}"


@fast
@given(cfg=config)
def test_spending_never_exceeds_the_budget(sanming, cfg):
    model, *_ = _run(sanming, cfg)
    scale = cfg["scale"]
    results = model.results
    sp = results.spending
    assert len(sp) == (model.counties.n + 1) * len(SANMING_PROGRAMMES) * len(model.spec.years)
    over = sp[sp.spent > sp.budget * (1 + 1e-9) + 1e-2 / scale]
    assert over.empty, f"spending above budget:\n{over}"
    assert (sp.spent >= 0).all()
    zero = sp[sp.budget == 0]
    assert (zero.spent == 0).all() and (zero.new_enrolments == 0).all()
    # The budgets are the scenario's (times budget.scale, which the run's parameter set may
    # carry), at full scale, whatever the sample.
    factor = model.params.value("budget.scale")
    for (year, prog), row in sp[sp.county == "ALL"].set_index(["year", "programme"]).iterrows():
        assert np.isclose(row.budget, model.spec.budget(prog, year) * factor, rtol=1e-9), (year, prog)


@fast
@given(cfg=config)
def test_register_stock_flow_identity(sanming, cfg):
    model, initial, counts, _ = _run(sanming, cfg)
    scale = cfg["scale"]
    names = model.counties.names
    results = model.results
    y = results.yearly
    for unit in ("households", "persons"):
        lhs = (y[f"poor_{unit}_start"] + y[f"entries_{unit}"] - y[f"exits_{unit}"] + y[f"returns_{unit}"])
        assert _close(lhs, y[f"poor_{unit}_end"]), unit
        assert (y[f"exits_{unit}"] <= y[f"poor_{unit}_start"] + 1e-9).all()
        assert (y[f"entries_{unit}"] >= 0).all() and (y[f"returns_{unit}"] >= 0).all()
    assert (y.returns_households <= y.exited_households_start + 1e-9).all()
    years = list(model.spec.years)
    for county in names + ["ALL"]:
        c = y[y.county == county].set_index("year").loc[years]
        for unit in ("households", "persons"):
            assert _close(c[f"poor_{unit}_end"].iloc[:-1].values, c[f"poor_{unit}_start"].iloc[1:].values), county
        # The exited stock moves with exits and returns.
        assert _close(c.exited_households_start.iloc[1:].values,
                      (c.exited_households_start + c.exits_households - c.returns_households).iloc[:-1].values)
        assert c.exited_households_start.iloc[0] == 0
    # ... and agrees with the household arrays after every assessment.
    for year in years:
        poor_h, poor_p, exited_h = counts[year]
        rows = y[(y.year == year) & (y.county != "ALL")].set_index("county").loc[names]
        assert _close(rows.poor_households_end.values * scale, poor_h), year
        assert _close(rows.poor_persons_end.values * scale, poor_p), year
        if year + 1 in counts:
            nxt = y[(y.year == year + 1) & (y.county != "ALL")].set_index("county").loc[names]
            assert _close(nxt.exited_households_start.values * scale, exited_h)
    first = y[(y.year == years[0]) & (y.county != "ALL")].set_index("county").loc[names]
    assert _close(first.poor_households_start.values * scale, initial[0])
    assert _close(first.poor_persons_start.values * scale, initial[1])

    # The total row is the sum of the counties.
    num = ["poor_households_start", "poor_households_end", "poor_persons_end", "exits_households",
           "exits_persons", "returns_persons", "entries_persons", "exited_households_start"]
    per = y[y.county != "ALL"].groupby("year")[num].sum()
    tot = y[y.county == "ALL"].set_index("year")[num]
    assert _close(per.values, tot.loc[per.index].values)
    # Exits by pathway add up to exits, per county and year (the total row included).
    pw = results.pathways
    by = pw.groupby(["year", "county"])[["exits_households", "exits_persons"]].sum()
    ex = y.set_index(["year", "county"])[["exits_households", "exits_persons"]].loc[by.index]
    assert len(by) == len(y)
    assert _close(by.values, ex.values)
