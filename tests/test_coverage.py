"""Coverage targets (sim/core/coverage.py, the [coverage] table of sim/inputs/scenario.py): a
programme given by the share of its eligible households to reach funds what the target needs, the
money shows up as spending, capacity shortfalls are reported, budget programmes keep their rules,
and bad targets are refused naming the file, key and value."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import ROOT, copy_sanming, write
from sim import simulate
from sim.core.state import Status
from sim.inputs.errors import InputError
from sim.inputs.scenario import load_scenario, overrides_to_changes
from sim.model import TuopinModel

SCALE = 0.02  # about 600 registered households: whole runs take a fraction of a second
CHILD = '[scenario]\nextends = "sanming.toml"\nname = "child"\n'
BUDGETED = ("relocation", "education", "health", "welfare")


@pytest.fixture(scope="module")
def sample(sanming):
    return sanming.with_changes({"scenario": {"population_scale": SCALE}})


def rows(result, programme, county=None):
    sp = result.spending
    sp = sp[sp.programme == programme]
    return sp[sp.county != "ALL"] if county is None else sp[sp.county == county]


def test_a_target_of_zero_funds_nothing(sample):
    r = simulate(sample, seed=4, overrides={"coverage.industry": 0.0})
    ind = rows(r, "industry")
    assert (ind.coverage_base_households > 0).any()
    for col in ("spent", "budget", "implied_cost", "new_enrolments", "participants", "new_village_projects",
                "covered_households", "coverage_shortfall_households"):
        assert (ind[col] == 0).all(), col


def test_a_target_is_a_ceiling_too_continuing_participants_beyond_it_are_not_renewed(sample):
    """Industry supports a household for three years; a target of 0 in the second year stops them."""
    r = simulate(sample, seed=4, overrides={"coverage.industry": {2015: 0.5, 2016: 0.0}})
    ind = rows(r, "industry", "ALL").set_index("year")
    assert ind.participants[2015] > 0 and ind.spent[2015] > 0
    assert ind.participants[2016] == 0 and ind.spent[2016] == 0
    # A participant counts in a year its support runs only if that year is funded ...
    assert ind.covered_households[2016] == 0
    # ... and once its support has stopped it is reached: a one-off programme never enrols it
    # again, so it counts without money.
    assert ind.spent[2017] == 0 and ind.covered_households[2017] > 0


def test_a_reached_target_is_reported_at_or_above_it(sample):
    r = simulate(sample, seed=5, overrides={"coverage.industry": {2015: 0.3, 2018: 0.8},
                                            "programme.industry.capacity_share": 1.0,
                                            "coverage.health": 1.0})
    one = 1 / SCALE  # one sampled household, at full size
    for prog in ("industry", "health"):
        sp = rows(r, prog)
        sp = sp[sp.coverage_base_households > 0]
        assert (sp.coverage_shortfall_households == 0).all(), prog
        assert (sp.covered_households >= sp.coverage_target * sp.coverage_base_households - 1e-6).all(), prog
        # The shortest prefix that reaches it: at most one household more than the target needs,
        # unless households reached in earlier years already pass it.
        over = sp.covered_households - np.ceil(sp.coverage_target * sp.coverage_base_households / one - 1e-9) * one
        assert (over[sp.new_enrolments > 0] < one + 1e-6).all(), prog
    total = rows(r, "industry", "ALL").set_index("year")
    assert (total.coverage_reached >= total.coverage_target - 1e-9).all()
    assert total.coverage_target.round(6).tolist() == [0.3, round(0.3 + 0.5 / 3, 6), round(0.3 + 1 / 3, 6), 0.8, 0.8, 0.8]
    # Health to every registered household: 100 % insured.
    assert (rows(r, "health", "ALL").coverage_reached == 1).all()


def test_when_capacity_binds_the_shortfall_is_reported(sample):
    share = 0.05
    r = simulate(sample, seed=5, overrides={"coverage.industry": 0.9, "programme.industry.capacity_share": share})
    ind = rows(r, "industry").merge(r.yearly[["year", "county", "poor_households_start"]], on=["year", "county"])
    short = ind[ind.coverage_shortfall_households > 0]
    assert len(short) > 0
    # Where it binds, the county enrolled as many new households as capacity allows ...
    capacity = np.ceil(share * short.poor_households_start * SCALE)
    assert (short.new_enrolments * SCALE == capacity).all()
    # ... and what is missing is exactly what the target still needs.
    need = np.ceil(0.9 * short.coverage_base_households * SCALE - 1e-9) / SCALE
    assert np.allclose(short.covered_households + short.coverage_shortfall_households, need)
    total = rows(r, "industry", "ALL")
    assert (total.coverage_shortfall_households > 0).any()
    assert np.allclose(total.coverage_shortfall_households,
                       ind.groupby("year", sort=True).coverage_shortfall_households.sum().to_numpy())


def test_the_implied_cost_is_what_the_spending_table_records(sample):
    r = simulate(sample, seed=6, overrides={"coverage.industry": {2015: 0.2, 2018: 0.7}, "coverage.welfare": 1.0})
    for prog in ("industry", "welfare"):
        sp = rows(r, prog)
        assert np.allclose(sp.implied_cost, sp.spent) and np.allclose(sp.budget, sp.spent), prog
        assert (sp.unspent.abs() < 1e-6).all(), prog
        total = rows(r, prog, "ALL").set_index("year")
        assert np.allclose(total.implied_cost, sp.groupby("year").spent.sum())
    # The money is in the yearly table's spending like any other.
    y = r.yearly[r.yearly.county == "ALL"].set_index("year")
    every = r.spending[r.spending.county == "ALL"].groupby("year").spent.sum()
    assert np.allclose(y.spent, every)
    # Welfare's December settlement is part of what its target took: more than January's top-ups.
    welfare = rows(r, "welfare", "ALL")
    assert (welfare.implied_cost > 0).all()
    # Industry's village projects take the programme's village share of the whole.
    share = sample.params.value("programme.industry.village_share")
    cost = sample.params.value("programme.industry.village_project_cost")
    ind = rows(r, "industry", "ALL")
    village = ind.new_village_projects * cost
    assert (village <= share * ind.implied_cost + 1e-6).all()
    assert village.iloc[0] > 0
    # In the first year every industry participant is new: the cost is the grants and first-year
    # interest of the households enrolled, and the projects started.
    first_year = sample.params.value("programme.industry.cost_one_off") + sample.params.value("programme.industry.cost_per_year")
    assert ind.implied_cost.iloc[0] == pytest.approx(ind.new_enrolments.iloc[0] * first_year + village.iloc[0])


def test_budget_programmes_keep_their_rules_beside_a_coverage_programme(sample):
    base = simulate(sample, seed=7)
    mixed = simulate(sample, seed=7, overrides={"coverage.industry": 0.6})
    for prog in BUDGETED:
        a, b = rows(base, prog).reset_index(drop=True), rows(mixed, prog).reset_index(drop=True)
        # Their money is the scenario's budget, spent within it; they have no target.
        assert np.allclose(a.budget, b.budget), prog
        assert (b.spent <= b.budget + 1e-6).all(), prog
        assert b.coverage_target.isna().all() and b.implied_cost.isna().all(), prog
        assert b.coverage_shortfall_households.isna().all(), prog
        # Before industry's households can differ (the first January), their decisions are the same
        # (welfare's spending also holds December's settlement, after industry's income has flowed).
        first = (a.year == 2015).to_numpy()
        cols = ["new_enrolments", "participants", "covered_households", "coverage_base_households"]
        cols += ["spent"] if prog != "welfare" else []
        assert a[first][cols].equals(b[first][cols]), prog
    # Industry itself is the target's, not the budget's.
    ind = rows(mixed, "industry", "ALL")
    assert not np.allclose(ind.spent, rows(base, "industry", "ALL").spent)


@settings(max_examples=6)
@given(low=st.floats(0, 1), step=st.floats(0, 1))
def test_raising_the_target_never_lowers_the_cost(sample, low, step):
    """In the first year (the same households and draws under both targets): a higher target costs
    at least as much and covers at least as many."""
    high = min(1.0, low + step)
    costs, covered = [], []
    for target in (low, high):
        r = simulate(sample, seed=8, overrides={"coverage.industry": target})
        first = rows(r, "industry", "ALL").iloc[0]
        costs.append(first.implied_cost)
        covered.append(first.covered_households)
    assert costs[1] >= costs[0]
    assert covered[1] >= covered[0]


def test_the_base_follows_each_programmes_own_rule(sample):
    """At the first January nobody has taken part yet, so the base is the registered households
    each programme's rule admits."""
    model = TuopinModel(sample.with_overrides({"coverage.industry": 0.5}), seed=9)
    hh = model.hh
    # The state the fund stage sees (January's shocks come after it: a worker disabled that month
    # counted in the base).
    poor, labour, light = hh.status == Status.POOR, hh.labour > 0, hh.light_work > 0
    pupils, area = hh.pupils > 0, hh.relocation_area.copy()
    model.step()  # January 2015: the fund stage
    sp = model.budget.ledger.table()
    base = sp[sp.county == "ALL"].set_index("programme").coverage_base_households * SCALE
    assert base["industry"] == np.sum(poor & labour)
    assert base["employment"] == np.sum(poor & (labour | light))
    assert base["education"] == np.sum(poor & pupils)
    assert base["health"] == np.sum(poor)
    assert base["relocation"] == np.sum(poor & area)


def test_a_programme_given_only_by_coverage_runs(sample):
    r = simulate(sample, seed=3, overrides={"coverage.ecology": 0.5})
    eco = rows(r, "ecology", "ALL")
    assert len(eco) == 6 and (eco.coverage_target == 0.5).all()
    # It spends every year that the register holds households it covers (in this small sample the
    # register is nearly empty by 2019).
    covered = eco.coverage_base_households > 0
    assert covered.iloc[:3].all() and (eco.spent[covered] > 0).all(), eco[["year", "spent", "coverage_base_households"]]


# ---- the scenario schema -------------------------------------------------------------------------


def test_the_shipped_coverage_scenario_states_the_plans_shares(sanming):
    s = load_scenario(ROOT / "scenarios" / "sanming-coverage.toml").spec
    # 001 §二(一): 38,000 and 15,000 of the 56,142 persons with labour, by 2018, a quarter a year.
    assert s.coverage_target("industry", 2018) == round(38_000 / 56_142, 3)
    assert s.coverage_target("employment", 2018) == round(15_000 / 56_142, 3)
    assert s.coverage_target("industry", 2015) == round(38_000 / 56_142 / 4, 3)
    assert s.coverage_target("industry", 2020) == s.coverage_target("industry", 2018)
    assert s.budgets["industry"] == {} and s.budgets["employment"] == {}
    for prog in BUDGETED:
        assert s.budgets[prog] == sanming.spec.budgets[prog] and s.coverage_target(prog, 2016) is None


def test_a_coverage_file_takes_over_the_years_it_governs_from_the_base_budget(tmp_path, sanming):
    copy_sanming(tmp_path)
    child = write(tmp_path, "c.toml", CHILD + "[coverage]\nindustry = { 2018 = 0.6, 2020 = 0.8 }\n"
                                              "employment = 0.3\n")
    s = load_scenario(child).spec
    assert [s.budget("industry", y) for y in s.years] == [sanming.spec.budget("industry", y) for y in (2015, 2016, 2017)] + [0] * 3
    assert [s.coverage_target("industry", y) for y in s.years] == [None, None, None, 0.6, pytest.approx(0.7), 0.8]
    assert all(s.budget("employment", y) == 0 for y in s.years)
    assert all(s.coverage_target("employment", y) == 0.3 for y in s.years)
    # A grandchild's budget for every year the target governs replaces the target ...
    leaf = write(tmp_path, "leaf.toml", '[scenario]\nextends = "c.toml"\nname = "leaf"\n[budgets]\nemployment = 5e6\n')
    s = load_scenario(leaf).spec
    assert "employment" not in s.coverage and s.budget("employment", 2019) == 5e6
    # ... a budget for some of them is refused, naming the file and key that set it.
    part = write(tmp_path, "part.toml", '[scenario]\nextends = "c.toml"\nname = "part"\n'
                                        "[budgets]\nindustry = { 2019 = 5e6 }\n")
    err = _refused(part)
    assert err.file == str(part) and err.key == "budgets.industry.2019", str(err)
    assert "coverage.industry" in err.problem and str(child) in err.problem


def test_a_year_table_over_a_single_share_keeps_it_for_unlisted_years(tmp_path):
    copy_sanming(tmp_path)
    write(tmp_path, "c.toml", CHILD + "[coverage]\nhealth = 1.0\n")
    leaf = write(tmp_path, "leaf.toml", '[scenario]\nextends = "c.toml"\nname = "leaf"\n[coverage]\nhealth = { 2020 = 0.5 }\n')
    s = load_scenario(leaf).spec
    assert [s.coverage_target("health", y) for y in s.years] == [1.0] * 5 + [0.5]


def test_dotted_overrides_reach_coverage(sanming):
    changes = overrides_to_changes({"coverage.industry": {2018: 0.6}, "coverage.industry.2020": 0.8,
                                    "coverage.health": 1}, sanming.params)
    assert changes == {"coverage": {"industry": {"2018": 0.6, "2020": 0.8}, "health": 1}}
    s = sanming.with_overrides({"coverage.industry.2020": 0.8}).spec
    assert s.coverage == {"industry": {2020: 0.8}} and s.budget("industry", 2019) > 0 and s.budget("industry", 2020) == 0
    assert "coverage.industry" in sanming.override_keys()
    # A scenario without targets keeps its digest; a target changes it.
    assert sanming.with_overrides({"coverage.industry.2020": 0.8}).spec.digest() != sanming.spec.digest()


def _refused(path):
    with pytest.raises(InputError) as exc:
        load_scenario(path)
    return exc.value


# (body appended to a child of sanming.toml, key named, value as shown in the message)
BROKEN = {
    "share above one": ("[coverage]\nindustry = 1.5\n", "coverage.industry", "1.5"),
    "negative share": ("[coverage]\nindustry = { 2016 = -0.1 }\n", "coverage.industry.2016", "-0.1"),
    "NaN share": ("[coverage]\nhealth = nan\n", "coverage.health", "nan"),
    "text share": ('[coverage]\nhealth = "all"\n', "coverage.health", "'all'"),
    "year before the run": ("[coverage]\nindustry = { 2014 = 0.5 }\n", "coverage.industry.2014", "0.5"),
    "year after the run": ("[coverage]\nindustry = { 2021 = 0.5 }\n", "coverage.industry.2021", "0.5"),
    "unknown programme": ("[coverage]\nindustri = 0.5\n", "coverage.industri", "industri"),
    "empty table": ("[coverage]\nindustry = {}\n", "coverage.industry", "{}"),
    "budget and target in one file": ("[budgets]\nindustry = 5e6\n[coverage]\nindustry = 0.5\n",
                                      "budgets.industry", "5000000.0"),
    "budget and target for one year in one file": (
        "[budgets]\nindustry = { 2015 = 1e6, 2016 = 2e6 }\n[coverage]\nindustry = { 2016 = 0.5 }\n",
        "budgets.industry.2016", "2000000.0"),
    "village share that leaves nothing for households": (
        '[coverage]\nindustry = 0.5\n[parameters]\n"programme.industry.village_share" = 1.0\n',
        "coverage.industry", "0.5"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_bad_target_is_refused_naming_file_key_and_value(tmp_path, case):
    body, key, shown = BROKEN[case]
    copy_sanming(tmp_path)
    path = write(tmp_path, "broken.toml", CHILD + body)
    err = _refused(path)
    msg = str(err)
    assert err.file == str(path), msg
    assert err.key == key, msg
    assert msg.startswith(f"{path}: {key} = "), msg
    assert shown in msg.split(" = ", 1)[1], msg


def test_budgets_before_the_first_target_year_are_allowed_in_one_file(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "ok.toml", CHILD + "[budgets]\nindustry = { 2015 = 1e6, 2016 = 2e6 }\n"
                                               "[coverage]\nindustry = { 2017 = 0.5 }\n")
    s = load_scenario(path).spec
    # The child's table merges with the base's, whose 2017–2020 the target takes over.
    assert [s.budget("industry", y) for y in s.years] == [1e6, 2e6, 0, 0, 0, 0]


@pytest.mark.parametrize("overrides, key", [
    ({"coverage.industri": 0.5}, "coverage.industri"),
    ({"coverage.industry.twenty": 0.5}, "coverage.industry.twenty"),
    ({"coverage.industry": 0.5, "coverage.industry.2016": 0.6}, "coverage.industry"),
    ({"coverage.industry": 2}, "coverage.industry"),
    ({"coverage.industry": 0.5, "budgets.industry": 1e6}, "budgets.industry"),
])
def test_a_bad_coverage_override_is_one_error_naming_the_key(sanming, overrides, key):
    with pytest.raises(InputError) as exc:
        sanming.with_overrides(overrides)
    assert exc.value.file == "<overrides>" and exc.value.key == key, str(exc.value)
    assert str(exc.value).startswith(f"<overrides>: {key} = "), str(exc.value)


def test_the_spending_table_keeps_its_columns_and_adds_the_coverage_ones(sample):
    r = simulate(sample, seed=3)
    assert list(r.spending.columns) == [
        "year", "county", "programme", "budget", "spent", "new_enrolments", "participants",
        "new_village_projects", "unspent",
        "coverage_target", "coverage_base_households", "covered_households", "coverage_reached",
        "coverage_shortfall_households", "implied_cost"]
    # Without targets: every programme's base and reach are reported, and nothing else is new.
    assert r.spending.coverage_target.isna().all() and r.spending.implied_cost.isna().all()
    assert (r.spending.coverage_base_households > 0).any()
