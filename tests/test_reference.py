"""Per-household references: a plain Python loop over a few hundred households, written from the
documented rules, must give what the vectorized model computes.

- the yearly assessment (the ``assess`` stage: sim/core/assessment.py with the 2014–2020 register,
  sim/core/regimes/targeted.py): the dibao settlement of the year's shortfall (sim/programmes/welfare.py
  ``settle_year``, paid by sim/core/budget.py), then exits, returns, new entries, the pathway of each
  exit, and villages leaving the poor-village list;
- the monthly income accrual and the education grant (the ``accrue`` and ``costs`` stages:
  sim/core/income.py ``accrue_month``, sim/core/costs.py, sim/programmes/education.py) with lost
  work while ill.

Each reference is checked by wrapping the model's stages (``model.stages`` is data).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from dataclasses import replace

from helpers import budgets, scaled
from sim.core.state import Category, Status
from sim.model import TuopinModel

SCALE = 0.01  # about 300 registered and 100 near-line households
F32 = np.float32


def _programme(model, name):
    return next(p for p in model.programmes if p.name == name)


def reference_assessment(model):
    """What the December assessment must do, household by household. Returns the expected
    arrays and the exits per (county, pathway)."""
    hh, year = model.hh, model.year
    params = model.params
    line = model.line(year)
    margin = params.value("register.exit_margin")
    years_needed = params.value("register.exit_years_above")
    deadline = model.spec.scenario.exit_deadline
    if deadline is not None and year >= deadline:  # the plan's deadline: the line itself, this year
        margin, years_needed = 0.0, 1
    false_rate = params.value("register.false_exit_rate")
    detection = params.value("register.entry_detection_rate")
    return_detection = params.value("register.return_detection_rate")
    u = model.draw("entry_detection")
    u_verify = model.draw("exit_verification")
    # Temporary assistance finds some households off the register (from assistance_from on).
    reach = params.value("register.assistance_reach") if year >= params.value("register.assistance_from") else 0.0
    u_assist = model.streams.uniform("assistance", year, hh.n)
    development = {p.index for p in model.programmes if p.development}
    relocation = _programme(model, "relocation").index
    welfare = _programme(model, "welfare")
    w = welfare.index
    dibao_line = line * params.value("programme.welfare.dibao_line_ratio", year)
    five_line = max(dibao_line, params.value("programme.welfare.five_guarantee_share")
                    * params.value("programme.welfare.rural_consumption", year))
    remaining = {c: float(v) for c, v in enumerate(model.counties.remaining[w])}
    closed = set()
    n_prog = len(model.programmes)

    status = hh.status.copy()
    exit_year, entry_year, returns = hh.exit_year.copy(), hh.entry_year.copy(), hh.returns.copy()
    years_above = hh.years_above.copy()
    last = np.zeros(hh.n, dtype=np.float32)
    pathways = Counter()
    for i in range(hh.n):
        size = float(hh.size[i])
        net = float(hh.income_year[i]) - float(hh.medical_oop[i]) - float(hh.education_cost[i])
        contrib = [F32(hh.contribution[k, i]) for k in range(n_prog)]
        # Dibao settlement: supported households short of their support line get the shortfall,
        # in whole yuan, in household order, while the county's welfare budget lasts.
        supported = hh.enrolled_month[w, i] >= 0 and model.month < hh.support_end[w, i]
        assisted = status[i] != Status.POOR and u_assist[i] < reach
        if supported or assisted:
            target = five_line if hh.category[i] == Category.FIVE_GUARANTEE else dibao_line
            short = float(np.ceil(target * size - net))
            c = int(hh.county[i])
            if short > 0 and c not in closed:
                if short <= remaining[c]:
                    remaining[c] -= short
                    net += short
                    contrib[w] = F32(contrib[w] + F32(short))
                else:
                    closed.add(c)  # the queue stops at the first household the money cannot cover
        net_pc = net / size
        guarantees = bool(hh.housing_safe[i] and hh.insured[i] and hh.school_ok[i])
        above = 0 if net_pc < line else int(hh.years_above[i]) + 1
        # Stably above: the margin, or the line where the dibao guarantees it (兜底), for enough
        # years; verification exits some of those at the line but short of that anyway (错退).
        stable = (net_pc >= line * (1 + margin) or (supported and net_pc >= line)) and above >= years_needed
        false_exit = net_pc >= line and not stable and u_verify[i] < false_rate
        if status[i] == Status.POOR and (stable or false_exit) and guarantees:
            status[i] = Status.EXITED
            exit_year[i] = year
            without = net - sum(float(x) for x in contrib)
            dev = [k for k in sorted(development) if contrib[k] > 0]
            if hh.relocated[i]:
                pathway = relocation  # the move made the exit possible
            elif dev:  # a development route took part: the route, as the plans count it
                pathway = max(dev, key=lambda k: (float(contrib[k]), -k))
            elif contrib[w] > 0:  # the safety net did (兜底)
                pathway = w
            elif without >= line * size:
                pathway = n_prog  # spontaneous
            else:
                pathway = max(range(n_prog), key=lambda k: (float(contrib[k]), -k))
            pathways[(int(hh.county[i]), pathway)] += 1
        elif status[i] == Status.EXITED and net_pc < line and u[i] < return_detection:
            status[i] = Status.POOR
            returns[i] += 1
        elif status[i] == Status.NEVER and net_pc < line and u[i] < detection:
            status[i] = Status.POOR
            entry_year[i] = year
        last[i] = F32(net_pc)
        years_above[i] = min(above, 255)

    # Villages: listed villages whose registered incidence is below the standard leave the list.
    persons = Counter()
    for i in range(hh.n):
        if status[i] == Status.POOR:
            persons[int(hh.village[i])] += int(hh.size[i])
    listed = model.villages.listed.copy()
    for v in range(len(listed)):
        if listed[v] and persons[v] / model.villages.population[v] < model.list_standard:
            listed[v] = False
    return dict(status=status, exit_year=exit_year, entry_year=entry_year, returns=returns,
                last_income_pc=last, years_above=years_above, village_listed=listed), pathways


def with_stage(model, name, wrap):
    """``model`` with its stage ``name`` run through ``wrap(model, run)``."""
    assert any(s.name == name for s in model.stages)
    model.stages = tuple(replace(s, run=lambda m, run=s.run: wrap(m, run)) if s.name == name else s
                         for s in model.stages)
    return model


@pytest.mark.parametrize("seed, targeting, factor", [(1, "precision", 1.0), (2, "untargeted", 1.0),
                                                      (3, "precision", 0.3)])
def test_assessment_equals_per_household_loop(sanming, seed, targeting, factor):
    loaded = budgets(scaled(sanming, SCALE, targeting=targeting), factor)
    expected_pathways = Counter()
    seen = Counter()

    def checked(model, original):
        expected, pathways = reference_assessment(model)
        original(model)
        for name, want in expected.items():
            got = model.villages.listed if name == "village_listed" else getattr(model.hh, name)
            mismatch = np.flatnonzero(got != want)
            assert mismatch.size == 0, (model.year, name, mismatch[:10], got[mismatch[:10]], want[mismatch[:10]])
        for (c, p), k in pathways.items():
            expected_pathways[(model.year, model.counties.names[c], p)] += k
        seen["exits"] += sum(pathways.values())
        seen["returns"] += int((model.hh.returns > 0).sum())
        seen["years"] += 1

    model = with_stage(TuopinModel(loaded, seed=seed), "assess", checked)
    assert 200 <= model.hh.n <= 1000
    model.run()
    assert seen["years"] == len(model.spec.years)
    assert seen["exits"] > 20 and seen["returns"] > 0  # the check exercised the rules
    # Exits by pathway in the results table are the loop's.
    pw = model.results.pathways
    names = [p.name for p in model.programmes] + ["spontaneous"]
    pw = pw[pw.county != "ALL"]
    for row in pw.itertuples():
        want = expected_pathways.get((row.year, row.county, names.index(row.pathway)), 0)
        assert round(row.exits_households * SCALE) == want, (row.year, row.county, row.pathway)
    assert any(k[2] != len(names) - 1 for k in expected_pathways)  # some exits carried by programmes


def reference_accrual(model):
    """One month of income and education costs, household by household."""
    hh = model.hh
    edu = _programme(model, "education")
    grant_per_pupil = F32(model.params.value("programme.education.cost_per_year") / 12)
    out = {k: getattr(hh, k).copy() for k in ("income_year", "sick_months", "education_cost")}
    contribution = hh.contribution[edu.index].copy()
    for i in range(hh.n):
        earned = F32(hh.year_farm[i] + hh.year_wage[i] * F32(hh.employed[i]))
        if hh.sick_months[i] > 0:
            if hh.labour[i] > 0:  # one member cannot work: earnings fall by one worker's share
                able = F32(hh.labour[i])
                earned = F32(earned * ((able - F32(1)) / able))
            out["sick_months"][i] -= 1
        out["income_year"][i] = F32(hh.income_year[i] + (earned + hh.transfer[i] + hh.asset[i]) / F32(12))
        cost = F32(hh.education_monthly[i])
        if hh.enrolled_month[edu.index, i] >= 0 and model.month < hh.support_end[edu.index, i]:
            # The grant is paid in full: it covers the cost, and the rest is income.
            grant = F32(grant_per_pupil * F32(hh.pupils[i]))
            avoided = min(grant, cost)
            out["income_year"][i] = F32(out["income_year"][i] + (grant - avoided))
            contribution[i] = F32(contribution[i] + grant)
            cost = F32(cost - avoided)
        out["education_cost"][i] = F32(hh.education_cost[i] + cost)
    return out, contribution


@pytest.mark.parametrize("seed", [4, 5])
def test_monthly_accrual_equals_per_household_loop(sanming, seed):
    loaded = budgets(scaled(sanming, SCALE), 2.0)
    seen = Counter()
    expected = {}

    def before(model, original):
        expected["want"], expected["contrib"] = reference_accrual(model)
        seen["sick"] += int((model.hh.sick_months > 0).sum())
        seen["grants"] += int((expected["contrib"] != model.hh.contribution[_programme(model, "education").index]).sum())
        original(model)

    def after(model, original):
        original(model)  # the education grant is paid in the costs stage, after the accrual
        want, want_contrib = expected.pop("want"), expected.pop("contrib")
        for name, values in want.items():
            got = getattr(model.hh, name)
            assert np.allclose(got, values, rtol=1e-6, atol=1e-3), (model.month, name,
                                                                    np.flatnonzero(~np.isclose(got, values))[:5])
        got_contrib = model.hh.contribution[_programme(model, "education").index]
        assert np.allclose(got_contrib, want_contrib, rtol=1e-6, atol=1e-3), model.month
        seen["months"] += 1

    model = with_stage(with_stage(TuopinModel(loaded, seed=seed), "accrue", before), "costs", after).run()
    assert seen["months"] == model.n_months
    assert seen["sick"] > 0 and seen["grants"] > 0  # both branches were exercised
