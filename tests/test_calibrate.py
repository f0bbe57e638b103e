"""Calibration (sim/analysis/calibrate.py, sim/inputs/targets.py, sim/analysis/observe.py): targets
as data with provenance, what a run says about each, and ABC-SMC that recovers known parameter
values from synthetic targets, the same with any number of workers, resumable after a stop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT, scaled, write
from sim import InputError, simulate
import sim.analysis.calibrate as calibrate_module
from sim.analysis.calibrate import Settings, calibrate, evaluate, free_parameters, generation_seeds, write_outputs
from sim.analysis.weights import effective_size
from sim.analysis.observe import distance, observe, register_bound
from sim.model import TuopinModel
from sim.inputs.targets import QUANTITIES, Target, load_targets, write_targets

TARGETS = ROOT / "calibration" / "targets" / "sanming.csv"


def test_the_sanming_targets_load_with_their_provenance(sanming):
    targets = load_targets(TARGETS, [c.name for c in sanming.spec.population.counties])
    assert len(targets) > 60
    assert all(t.source and t.tolerance > 0 and t.tolerance_reason for t in targets)
    city = {t.last_year: t.value for t in targets if t.quantity == "registered_persons_end" and t.place == "ALL"}
    assert city == {2015: 57143, 2016: 33143, 2017: 9143, 2018: 0, 2019: 0, 2020: 0}
    shares = [t.value for t in targets if t.quantity.startswith("development_share:")]
    assert sum(shares) == pytest.approx(1.0, abs=1e-3)
    # Every county's figures add up to the city's (the attachment table checks out exactly).
    for year in (2015, 2016, 2017):
        counties = sum(t.value for t in targets if t.quantity == "registered_persons_end"
                       and t.place not in ("ALL",) and t.last_year == year)
        assert counties == city[year]


@pytest.mark.parametrize("row, key", [
    ("registered_persons_ends,ALL,2016,1,1", "quantity"),
    ("registered_persons_end,Nowhere,2016,1,1", "place"),
    ("registered_persons_end,ALL,20x6,1,1", "year"),
    ("registered_persons_end,ALL,2016,nan,1", "value"),
    ("registered_persons_end,ALL,2016,1,0", "tolerance"),
])
def test_a_bad_target_row_is_refused_naming_file_row_and_column(tmp_path, sanming, row, key):
    path = write(tmp_path, "t.csv", "quantity,place,year,value,tolerance\n" + row + "\n")
    with pytest.raises(InputError) as err:
        load_targets(path, [c.name for c in sanming.spec.population.counties])
    assert err.value.file == str(path) and err.value.key == f"row 2.{key}"


def test_a_scenario_carries_its_own_observations(sanming):
    county = sanming.spec.population.counties[0].name
    option = sanming.with_changes({"observations": [
        {"quantity": "registered_persons_end", "place": county, "year": 2017, "value": 35, "tolerance": 5,
         "source": "a county plan"},
        {"quantity": "exits_persons", "year": "2015-2016", "value": 200, "tolerance": 20}]})
    targets = option.targets()
    assert [t.label for t in targets] == [f"registered_persons_end {county} 2017", "exits_persons ALL 2015-2016"]
    with pytest.raises(InputError, match="observations.0.quantity"):
        sanming.with_changes({"observations": [{"quantity": "exits", "year": 2016, "value": 1, "tolerance": 1}]}).targets()


def test_every_quantity_is_observed_from_a_run(tiny):
    r = simulate(tiny, seed=1)
    targets = [Target(q, "ALL", 2016, 2019 if q.startswith(("log10", "filed")) else 2016, 0.0, 1.0) for q in QUANTITIES
               if not q.endswith("_start")]
    values = observe(r.tables(), targets)
    assert np.isfinite(values).all()
    y = r.yearly.set_index(["county", "year"])
    got = dict(zip([t.quantity for t in targets], values))
    assert got["registered_persons_end"] == y.at[("ALL", 2016), "poor_persons_end"]
    assert got["exits_persons"] == y.at[("ALL", 2016), "exits_persons"]
    shares = [got[f"development_share:{r}"] for r in ("industry", "employment", "relocation")]
    assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0
    # A ratio to a first year without income is infinite, not an error; tables without incomes
    # observe every other quantity.
    tables = dict(r.tables())
    tables["incomes"] = tables["incomes"].assign(mean=tables["incomes"]["mean"].where(tables["incomes"].year != 2016, 0.0))
    growth = [t for t in targets if t.quantity == "filed_income_growth"]
    assert observe(tables, growth)[0] == np.inf
    tables["incomes"] = pd.DataFrame()
    others = [t for t in targets if t.quantity != "filed_income_growth"]
    np.testing.assert_array_equal(observe(tables, others), observe(r.tables(), others))


def test_distance_is_zero_on_target_and_counts_tolerances():
    ts = [Target("exits_persons", "ALL", 2016, 2016, 100.0, 10.0), Target("exits_persons", "ALL", 2017, 2017, 50.0, 5.0, 3.0)]
    assert distance(np.array([100.0, 50.0]), ts) == 0
    assert distance(np.array([110.0, 50.0]), ts) == pytest.approx(np.sqrt(1 / 4))


def test_the_register_bound_never_exceeds_the_distance(sanming):
    """Calibration stops a candidate on this bound: it must be a lower bound at every year, and
    the distance itself when only the register's targets count and every year is done."""
    small = scaled(sanming.with_changes({"scenario": {"parameter_sets": None}}), 0.05)
    targets = load_targets(TARGETS, [c.name for c in sanming.spec.population.counties])
    register = [t for t in targets if t.quantity == "registered_persons_end"]
    m = TuopinModel(small, seed=7).run()
    full = observe(m.results.tables(), targets)
    names = m.counties.names
    ends = {}
    for year in small.spec.years:
        ends[year] = m.ledger.persons_end(year)
        assert register_bound(ends, names, targets) <= distance(full, targets)
    only = observe(m.results.tables(), register)
    assert register_bound(ends, names, register) == pytest.approx(distance(only, register), rel=1e-12)
    assert register_bound(ends, names, register) > 0


FREE = ["budget.scale", "income.convergence_rate"]
TRUE = {"budget.scale": 1.6, "income.convergence_rate": 0.05}


@pytest.fixture(scope="module")
def synthetic(sanming, tmp_path_factory):
    """Targets made by the model itself with known parameter values (the others at their
    defaults: the scenario's own parameter sets left out, as a calibration leaves them out)."""
    small = scaled(sanming.with_changes({"scenario": {"parameter_sets": None}}), 0.05)
    quantities = [("registered_persons_end", y, y) for y in range(2015, 2021)] + [
        ("exits_persons", 2015, 2017), ("welfare_exits_persons", 2015, 2018), ("filed_income_growth", 2015, 2019)]
    probe = [Target(q, "ALL", a, b, 0.0, 1.0) for q, a, b in quantities]
    values = np.mean([observe(simulate(small, seed=s, overrides=TRUE).tables(), probe) for s in (101, 102)], axis=0)
    targets = [Target(t.quantity, "ALL", t.first_year, t.last_year, float(v), max(abs(v) * 0.03, 0.01),
                      source="synthetic: the model with known values") for t, v in zip(probe, values)]
    path = write_targets(targets, tmp_path_factory.mktemp("synthetic") / "targets.csv")
    return small, load_targets(path)


def _run(small, targets, out, workers=1, **kw):
    settings = dict(free_names=FREE, particles=12, candidates=48, generations=3, replicates=1, seed=4, workers=workers)
    settings.update(kw)
    return calibrate(small, targets, out, **settings)


def test_calibration_recovers_known_values(synthetic, tmp_path):
    small, targets = synthetic
    cal = _run(small, targets, tmp_path / "cal")
    thresholds = [g.threshold for g in cal.generations]
    assert thresholds[-1] < thresholds[0]
    post = cal.posterior
    for name, true in TRUE.items():
        w = post.weight.to_numpy()
        order = np.argsort(post[name].to_numpy())
        cum = np.cumsum(w[order]) / w.sum()
        lo = post[name].to_numpy()[order][np.searchsorted(cum, 0.025)]
        hi = post[name].to_numpy()[order][min(np.searchsorted(cum, 0.975), len(cum) - 1)]
        f = next(f for f in free_parameters(small.params, FREE) if f.name == name)
        assert lo <= true <= hi, (name, lo, true, hi)
        assert hi - lo < 0.8 * (f.high - f.low), (name, lo, hi)  # the data narrowed the prior
    # The posterior is a set, not one point: many distinct sets carry weight, all within the threshold.
    assert len(post) >= 0.4 * 12 and effective_size(post.weight.to_numpy()) >= 0.4 * len(post), post
    assert (post.distance <= cal.generations[-1].threshold).all()
    assert [g.simulated <= 48 for g in cal.generations] == [True] * 3
    paths = write_outputs(cal, tmp_path / "cal")
    assert {p.name for p in paths} == {"posterior.parquet", "generations.csv", "parameters.toml"}
    assert (pd.read_csv(tmp_path / "cal" / "generations.csv").effective_size >= 1).all()
    assert 'budget.scale' in (tmp_path / "cal" / "parameters.toml").read_text()


def test_calibration_is_the_same_with_two_workers_and_resumes(synthetic, tmp_path):
    small, targets = synthetic
    one = _run(small, targets, tmp_path / "one", generations=2)
    two = _run(small, targets, tmp_path / "two", workers=2, generations=2)
    pd.testing.assert_frame_equal(one.posterior, two.posterior)
    # Stop half-way: drop the second generation's chunks after the first, and run again.
    chunks = sorted((tmp_path / "one" / "generations").glob("gen-01-*.parquet"))
    for c in chunks[len(chunks) // 2:]:
        c.unlink()
    again = _run(small, targets, tmp_path / "one", generations=2)
    pd.testing.assert_frame_equal(one.posterior, again.posterior)


def test_each_generation_runs_its_own_replicate_seeds(synthetic, tmp_path, monkeypatch):
    """Common random numbers within a generation, new draws in the next: a posterior kept for
    what its sets do over one generation's few seeds would be fitted to those seeds' shocks."""
    settings = Settings("s", "p", "t", ["a"], root_seed=4, replicates=3)
    seeds = [generation_seeds(settings, gen) for gen in range(4)]
    assert all(len(s) == 3 and len(set(s)) == 3 for s in seeds)
    assert len({x for s in seeds for x in s}) == 12                            # no seed shared
    assert seeds[2] == generation_seeds(Settings("s", "p", "t", ["a"], root_seed=4, replicates=3, generations=9), 2)
    assert seeds[0] != generation_seeds(Settings("s", "p", "t", ["a"], root_seed=5, replicates=3), 0)
    # The calibration runs every candidate of a generation with that generation's seeds.
    used = {}
    real = calibrate_module.run_candidates

    def spy(scenario, seeds, candidates, targets, **kw):
        used.setdefault(tuple(seeds), 0)
        used[tuple(seeds)] += len(candidates)
        return real(scenario, seeds, candidates, targets, **kw)

    monkeypatch.setattr(calibrate_module, "run_candidates", spy)
    small, targets = synthetic
    cal = _run(small, targets, tmp_path / "cal", generations=2)
    assert used == {tuple(generation_seeds(cal.settings, 0)): 48, tuple(generation_seeds(cal.settings, 1)): 48}


def test_a_candidate_stops_early_only_when_it_cannot_be_accepted(synthetic):
    """Under a threshold a candidate beyond it by its register part way stops (NaN values); one
    within it runs to the end with the values of an unstopped run."""
    small, targets = synthetic
    seeds = [11, 12]
    off = {"budget.scale": 0.6, "income.convergence_rate": 0.2}
    whole = evaluate(small, seeds, off, targets)
    assert np.isfinite(whole).all()
    d = distance(whole.mean(axis=0), targets)
    np.testing.assert_array_equal(evaluate(small, seeds, off, targets, threshold=d * 1.001), whole)
    np.testing.assert_array_equal(evaluate(small, seeds, off, targets, threshold=d), whole)  # at the threshold: kept
    assert np.isnan(evaluate(small, seeds, off, targets, threshold=d / 1e3)).all()
    # The stop comes part way: the register of the first year alone puts it beyond.
    first = small.spec.years[0]
    ends = {first: np.mean([TuopinModel(small, seed=s, overrides=off).run_through(first).ledger.persons_end(first)
                            for s in seeds], axis=0)}
    assert register_bound(ends, TuopinModel(small, seed=1).counties.names, targets) > d / 1e3


def test_whole_number_parameters_are_searched_as_reals_and_run_rounded():
    """A whole-number parameter is proposed as a real number (so a move has a density) and
    rounded where a model runs it and in the posterior; a move keeps a spread on a value every
    particle shares."""
    from sim.analysis.calibrate import Calibration, FreeParameter, Generation, Settings, _move_cov, _overrides, _prior_draws, _step

    free = [FreeParameter("register.exit_years_above", 1.0, 3.0, True), FreeParameter("shocks.illness_rate", 0.0, 0.01, False)]
    settings = Settings("s", "p", "t", [f.name for f in free], root_seed=3, particles=4, candidates=40)
    first = _prior_draws(settings, free)
    assert first.shape == (40, 2) and not np.allclose(first[:, 0], np.round(first[:, 0]))
    assert _overrides(free, first[0])["register.exit_years_above"] == round(first[0, 0])
    gen = Generation(0, first[:4], np.arange(4.0), np.zeros((4, 1)), 3.0, 40, 0)
    cal = Calibration(settings, free, [], [gen])
    assert set(cal.posterior["register.exit_years_above"]) <= {1.0, 2.0, 3.0}
    shared = np.column_stack([np.ones(4), np.linspace(0.001, 0.002, 4)])
    cov = _move_cov(shared, np.array([1.0, 0.0]), np.array([3.0, 0.01]))
    assert cov[0, 0] >= (0.02 * 2.0) ** 2 - 1e-12 and cov[1, 1] > 0
    moves = _step(settings, 1, 1, free, shared, cov)
    assert moves.shape == (4, 2) and np.unique(moves[:, 0]).size == 4
    # Steps are reflected at the prior's bounds: every move is a candidate inside the prior.
    assert np.all((moves >= [1.0, 0.0]) & (moves <= [3.0, 0.01]))
    from sim.analysis.calibrate import _reflect
    assert np.allclose(_reflect(np.array([[0.5, -0.002], [3.5, 0.013], [5.5, 0.025]]), np.array([1.0, 0.0]), np.array([3.0, 0.01])),
                       [[1.5, 0.002], [2.5, 0.007], [1.5, 0.005]])


def test_the_posterior_weights_each_distinct_set_by_its_copies():
    """After resampling, particles share parameter sets: the posterior lists each set once,
    weighted by the share of particles holding it."""
    from sim.analysis.calibrate import Calibration, FreeParameter, Generation, Settings, _resample

    free = [FreeParameter("shocks.illness_rate", 0.0, 0.01, False)]
    settings = Settings("s", "p", "t", [f.name for f in free], root_seed=3, particles=5, candidates=10)
    params = np.array([[0.002], [0.005], [0.002], [0.002], [0.007]])
    gen = Generation(1, params, np.array([1.0, 2.0, 1.0, 1.0, 0.5]), np.zeros((5, 1)), 2.0, 10, 3)
    post = Calibration(settings, free, [], [gen]).posterior
    assert post["shocks.illness_rate"].tolist() == [0.002, 0.005, 0.007]
    assert post.weight.tolist() == [0.6, 0.2, 0.2] and post.distance.tolist() == [1.0, 2.0, 0.5]
    assert gen.acceptance == 0.3
    # Resampling copies each kept particle equally often (two kept, five particles: 2 + 2 + one more).
    pick = _resample(settings, 1, np.array([1, 3]))
    assert len(pick) == 5 and set(np.bincount(pick)[[1, 3]]) == {2, 3}
