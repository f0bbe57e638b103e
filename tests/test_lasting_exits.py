"""The headline patterns of lasting exits, on the shipped Sanming baseline with its default
parameters (calibration sets the magnitudes; these are the shapes the mechanisms must give):

- the return rate falls under the plan's policies: 2019's at most half of 2016's;
- development exits are no longer bunched at the line (the dibao guarantees income at the line,
  so welfare exits are counted apart);
- withdrawing support at exit (脱贫即脱政策) raises 2016–2020 returns at least threefold;
- the tables report incomes by group and returns by years since exit.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import SANMING_PROGRAMMES
from sim import run_ensemble

SEED, REPLICATES = 11, 3
STOP_AT_EXIT = {f"programme.{p}.continue_after_exit_years": 0 for p in SANMING_PROGRAMMES}


@pytest.fixture(scope="module")
def baseline(sanming):
    return run_ensemble(sanming, seed=SEED, replicates=REPLICATES, workers=1, progress=False)


def _city(ens):
    return ens.yearly[ens.yearly.county == "ALL"].groupby("year").mean(numeric_only=True)


def test_the_return_rate_falls_under_the_plans_policies(baseline):
    y = _city(baseline)
    assert y.return_rate[2019] <= 0.5 * y.return_rate[2016], y.return_rate.round(4).to_dict()


def _near_line_share(ens):
    p = ens.pathways[(ens.pathways.county == "ALL") & (ens.pathways.pathway != "welfare")]
    return p.exits_near_line_households.sum() / p.exits_households.sum()


def test_development_exits_are_not_bunched_at_the_line(sanming, baseline):
    """Exits within 10 % above the line, welfare exits aside, against the rule of exiting at the
    line with nothing to check it (no margin, no verification error). Before the exit margin, 57 %
    of a year's exits were within 5 % of the line. Verification errs (错退: the calibration puts
    about a fifth of the households between the line and the margin out by error), so some exits
    stay near the line; with the shipped sets about 12 % of development exits are within 10 % of
    it, two-fifths fewer than under the rule without a check, and the density of exits just above
    the line is no higher than a little further up (docs/ODD.md 8.2)."""
    at_the_line = run_ensemble(sanming.with_overrides({"register.exit_margin": 0.0, "register.false_exit_rate": 0.0}),
                               seed=SEED, replicates=REPLICATES, workers=1, progress=False)
    share, before = _near_line_share(baseline), _near_line_share(at_the_line)
    assert share < 0.15 and share < 0.65 * before, (share, before)


def test_withdrawing_support_at_exit_multiplies_returns(sanming, baseline):
    withdrawn = run_ensemble(sanming.with_overrides(STOP_AT_EXIT), seed=SEED, replicates=REPLICATES, workers=1,
                             progress=False)
    years = range(2016, 2021)
    with_support = _city(baseline).returns_persons[list(years)].sum()
    without = _city(withdrawn).returns_persons[list(years)].sum()
    assert without >= 3 * with_support, (without, with_support)


def test_incomes_and_returns_by_years_since_exit_are_reported(baseline):
    inc = baseline.table("incomes")
    assert set(inc.group) == {"registered", "exited", "relocated", "filed"}
    exited = inc[inc.group == "exited"].groupby("year").mean(numeric_only=True)
    # Exited households are above the line (guaranteed or with the margin); most well above it.
    assert (exited.p10 >= exited.line * 0.999).all()
    assert (exited.p50 >= exited.line * 1.1).all()
    registered = inc[inc.group == "registered"].groupby("year").mean(numeric_only=True)
    # Registered households are poorer than exited ones while the register is large; after the
    # plan's deadline it holds only the last December's entrants and returners, whose incomes often
    # recover by the next assessment, so only its poorer tail is compared then.
    deadline = baseline.scenario.spec.scenario.exit_deadline
    assert (registered["mean"].loc[:deadline - 1] < exited["mean"].loc[:deadline - 1]).all()
    assert (registered.p10 < exited.p10).all()
    ret = baseline.table("returns")
    y = _city(baseline)
    by_year = ret.groupby(["replicate", "year"]).returns_households.sum().groupby("year").mean()
    assert np.allclose(by_year.loc[2016:], y.returns_households.loc[2016:])
    assert set(ret.years_since_exit) == set(range(1, 7))
