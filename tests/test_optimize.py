"""The budget optimiser (sim/analysis/optimize.py, `tuopin optimize`): splits are shares within
their bounds; the search never loses to the baseline split on its own seeds; money leaves a
programme that does nothing; the result is the same with any number of workers; cost-to-target
finds the cheapest split that meets the targets or says that none does; best.toml runs as the
split it describes; bad settings are one error line naming the option."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from helpers import copy_sanming, scaled, write
from sim import InputError, load_scenario
from sim.analysis import optimize as om
from sim.app.cli import app
from sim.app.optimize_commands import summary_renderables
from sim.execution.errors import OutputError

SCALE = 0.02        # a tiny sample: a run takes a fraction of a second
SMALL = dict(evaluations=6, replicates=2, confirm_replicates=2, tradeoff=(0.8, 1.0), tradeoff_evaluations=2)
WELFARE = {"welfare": (0.3, 0.6)}   # the baseline's 32.5 % is inside
# Every effect of a programme set to zero: money spent on it buys nothing.
DEAD = {"employment": {"programme.employment.effect": 0, "programme.employment.post_wage": 0,
                       "programme.employment.village_income": 0},
        "industry": {"programme.industry.effect": 0, "programme.industry.village_income": 0}}

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    copy_sanming(folder)
    return write(folder, "tiny.toml", '[scenario]\nextends = "sanming.toml"\nname = "tiny"\n'
                 f"population_scale = {SCALE}\n")


@pytest.fixture(scope="module")
def tiny(tiny_file):
    return load_scenario(tiny_file)


@pytest.fixture(scope="module")
def result(tiny, tmp_path_factory):
    """One small optimisation with a trade-off curve, in this process, written to a folder."""
    out = tmp_path_factory.mktemp("opt") / "one-worker"
    opt, manifest = om.run_optimisation(tiny, out=out, bounds=WELFARE, workers=1, **SMALL)
    return opt, out


def _space(scenario, **settings):
    return om.Space.of(scenario, om.Settings(total=1.0, **settings))


# ---- splits -------------------------------------------------------------------------------------

def test_any_point_of_the_search_is_a_split_within_its_bounds(tiny):
    bounds = (("relocation", 0.05, 0.1), ("education", 0.15, 0.15), ("welfare", 0.3, 0.6))
    space = _space(tiny, bounds=bounds, spread=10.0)
    assert space.programmes == ("industry", "employment", "relocation", "education", "health", "welfare")
    assert "education" not in [space.programmes[i] for i in space.free]  # fixed by its bounds
    rng = np.random.default_rng(3)
    points = np.vstack([rng.random((300, len(space.free))), np.zeros(len(space.free)), np.ones(len(space.free))])
    for x in points:
        s = space.shares(x)
        assert s.sum() == pytest.approx(1.0, abs=1e-12)
        assert space.within(s), (x, s)
        back = space.point(s)
        if back is not None:  # the sampler's point for a split gives that split again
            np.testing.assert_allclose(space.shares(back), s, atol=1e-9)
    # The centre of the search is the baseline split.
    plain = _space(tiny)
    np.testing.assert_allclose(plain.shares([0.5] * len(plain.free)), plain.baseline, atol=1e-12)
    assert plain.point(plain.baseline) == pytest.approx([0.5] * len(plain.free))


def test_a_split_becomes_budgets_with_the_scenarios_yearly_profile(tiny):
    spec = tiny.spec
    total = om.scenario_total(tiny)
    # Own profile: the baseline split at the scenario's total is the scenario's own budgets.
    own = _space(tiny, profile="own")
    for p, table in own.budgets(own.baseline, total).items():
        for year, amount in table.items():
            assert amount == pytest.approx(spec.budget(p, year), abs=0.5)
    # Total profile: every year's envelope keeps the scenario's proportions, the run total is kept.
    space = _space(tiny)
    shares = np.array([0.3, 0.1, 0.1, 0.1, 0.1, 0.3])
    budgets = space.budgets(shares, 2e9)
    by_year = np.array([sum(t[y] for t in budgets.values()) for y in spec.years])
    scenario_by_year = np.array([sum(spec.budget(p, y) for p in spec.budgets) for y in spec.years])
    np.testing.assert_allclose(by_year / by_year.sum(), scenario_by_year / scenario_by_year.sum(), atol=1e-8)
    assert by_year.sum() == pytest.approx(2e9, abs=len(by_year) * len(budgets))
    assert sum(budgets["industry"].values()) == pytest.approx(0.3 * 2e9, abs=len(by_year))


def test_registered_targets_are_the_plans_and_the_scenarios_own(sanming):
    targets = om.registered_targets(sanming, 0.02)
    plan = {t.first_year: t.value for t in targets}
    assert plan == {2015: 57143, 2016: 33143, 2017: 9143, 2018: 0, 2019: 0, 2020: 0}
    assert all(t.tolerance == pytest.approx(0.02 * 82143) for t in targets)
    county = sanming.spec.population.counties[0].name
    more = sanming.with_changes({"observations": [
        {"quantity": "registered_persons_end", "place": county, "year": 2017, "value": 35, "tolerance": 5},
        {"quantity": "exits_persons", "year": 2016, "value": 200, "tolerance": 20}]})
    extra = om.registered_targets(more, 0.02)[len(targets):]
    assert [(t.quantity, t.place, t.value, t.tolerance) for t in extra] == [("registered_persons_end", county, 35, 5)]


# ---- searches -----------------------------------------------------------------------------------

def test_the_search_stays_within_bounds_and_never_loses_to_the_baseline(result, tiny):
    opt, _ = result
    ev = opt.evaluations
    shares = ev[[f"share_{p}" for p in opt.programmes]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-12)
    assert ((ev.share_welfare >= 0.3 - 1e-12) & (ev.share_welfare <= 0.6 + 1e-12)).all()
    assert len(ev[ev.search == "main"]) == SMALL["evaluations"]
    main = ev[ev.search == "main"]
    base = main[main.origin == "baseline"]
    assert len(base) == 1 and base.candidate.iloc[0] == 0
    np.testing.assert_allclose(base[[f"share_{p}" for p in opt.programmes]].to_numpy()[0], opt.space.baseline)
    best = main[main.best]
    assert len(best) == 1
    assert best.sustained_exits_persons_mean.iloc[0] >= base.sustained_exits_persons_mean.iloc[0]
    assert best.sustained_exits_persons_mean.iloc[0] == main.sustained_exits_persons_mean.max()
    # Common random numbers: the baseline candidate is the scenario's baseline split on the search
    # seeds, value for value.
    direct = [om.evaluate(tiny, seed, opt.space.overrides(opt.space.baseline, opt.settings.total), [])[0]
              for seed in opt.search_seeds]
    assert opt.baseline.values[:, 0].tolist() == direct
    # The confirmation replicates are other seeds than the search's.
    assert not set(opt.confirm_seeds) & set(opt.search_seeds)
    assert len(opt.confirmed("main", 1.0, "best")) == SMALL["confirm_replicates"]


# The two free programmes start level (the same budget), so that either has money to lose; the
# safety net's income test and temporary assistance are off, since they catch whoever development
# misses and leave the split between development programmes nearly without effect on sustained
# exits (the calibrated Sanming baseline empties its register by 2020 whatever the split).
LEVEL = {"budgets.industry": 1.5e7, "budgets.employment": 1.5e7,
         "programme.welfare.income_test_from": 2100, "register.assistance_reach": 0.0}


@pytest.mark.parametrize("dead", ["employment", "industry"])
def test_money_moves_away_from_a_programme_that_does_nothing(tiny, dead):
    """Only industry and employment are free (the others are fixed at their baseline shares); the
    one whose every effect is zero loses money to the other. Each case is the other's control: an
    optimiser that always moved money the same way would fail one of them."""
    level = tiny.with_overrides(LEVEL)
    space = _space(level)
    fixed = {p: (b, b) for p, b in zip(space.programmes, space.baseline) if p not in ("industry", "employment")}
    # Money scarce (half the budgets as derived), so that the other programme's extra money counts.
    opt = om.optimize(level.with_overrides({**DEAD[dead], "budget.scale": 0.5}), evaluations=16, replicates=2,
                      confirm_replicates=1,
                      tradeoff=(), bounds=fixed, workers=1)
    i = opt.programmes.index(dead)
    assert opt.best.shares[i] < space.baseline[i], (dead, opt.best.shares)
    assert opt.best.mean("sustained_exits_persons") > opt.baseline.mean("sustained_exits_persons")
    for p, (low, _) in fixed.items():
        assert opt.best.shares[opt.programmes.index(p)] == pytest.approx(low, abs=1e-12)


def test_the_result_does_not_depend_on_the_number_of_workers(result, tiny, tmp_path):
    opt1, out1 = result
    opt2, manifest = om.run_optimisation(tiny, out=tmp_path / "two-workers", bounds=WELFARE, workers=2, **SMALL)
    out2 = manifest.parent
    for name in ("evaluations.csv", "tradeoff.csv", "confirmation.csv"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name

    def body(path):  # the comments name the folder; everything else must match
        return [ln for ln in path.read_text().splitlines() if not ln.startswith("#") and not ln.startswith("extends")]

    assert body(out1 / "best.toml") == body(out2 / "best.toml")
    np.testing.assert_array_equal(opt1.best.shares, opt2.best.shares)
    assert opt1.simulations == opt2.simulations


def test_the_folder_holds_the_tables_the_plot_and_a_manifest(result):
    import json

    opt, out = result
    for name in om.FILES + ("manifest.json",):
        assert (out / name).is_file(), name
    info = json.loads((out / "manifest.json").read_text())
    assert info["command"] == "optimize" and info["root_seed"] == tiny_seed(opt)
    assert info["settings"]["evaluations"] == SMALL["evaluations"] and info["settings"]["bounds"] == {"welfare": [0.3, 0.6]}
    assert set(info["outputs"]) == set(om.FILES)
    assert info["best_shares"] == pytest.approx(dict(zip(opt.programmes, opt.best.shares)))
    assert "optuna" in info["versions"]
    trade = opt.tradeoff
    assert trade.level.tolist() == [0.8, 1.0]
    assert (trade.best_sustained_p05 <= trade.best_sustained_mean).all()
    assert (trade.best_sustained_mean <= trade.best_sustained_p95).all()
    assert trade.total_yuan.tolist() == pytest.approx([0.8 * opt.settings.total, opt.settings.total])


def tiny_seed(opt):
    return opt.scenario.spec.scenario.seed


def test_best_toml_runs_as_the_best_split(result):
    opt, out = result
    loaded = load_scenario(out / "best.toml", allow_outside=True)
    assert loaded.name == "tiny" + om.OVERLAY_SUFFIX
    assert loaded.spec.scenario.population_scale == SCALE
    want = opt.space.budgets(opt.best.shares, opt.best.total)
    for p, table in want.items():
        assert {y: loaded.spec.budget(p, y) for y in table} == table
    # The same seeds give the search's numbers for the best split.
    got = [om.evaluate(loaded, seed, {}, [])[0] for seed in opt.search_seeds]
    assert got == opt.best.values[:, 0].tolist()


def test_the_summary_fits_100_columns(result):
    opt, out = result
    console = Console(width=100, record=True, highlight=False)
    for item in summary_renderables(opt, out):
        console.print(item)
    text = console.export_text()
    assert "best split" in text and "Trade-off" in text and "sustained exits" in text
    assert max(len(line) for line in text.splitlines()) <= 100


# ---- cost-to-target -------------------------------------------------------------------------------

def test_cost_to_target_takes_the_cheapest_candidate_that_meets_every_target(tiny):
    # A slack of the whole register makes every plan target easy: every candidate meets them.
    opt = om.optimize(tiny, objective="cost-to-target", target_slack=1.0, evaluations=6, replicates=2,
                      confirm_replicates=1, tradeoff=(), workers=1)
    assert opt.feasible is True
    ev = opt.evaluations[opt.evaluations.search == "main"]
    assert ev.targets_met.all()
    assert opt.best.mean("spent") == ev.spent_mean.min()
    assert ev.total_yuan.between(0.5 * opt.settings.total - 1e-6, opt.settings.total + 1e-6).all()
    assert ev.total_yuan.nunique() > 1   # the total is searched too


def test_cost_to_target_says_when_no_candidate_meets_the_targets(tiny, tmp_path):
    # A zero slack and a tenth of the budgets: the plan's zero targets cannot be met.
    total = 0.1 * om.scenario_total(tiny)
    opt = om.optimize(tiny, total, objective="cost-to-target", target_slack=0.0, evaluations=4, replicates=1,
                      confirm_replicates=1, tradeoff=(), workers=1)
    assert opt.feasible is False and opt.best is None
    assert not opt.evaluations.targets_met.any()
    paths = om.write_outputs(opt, tmp_path)
    assert not (tmp_path / "best.toml").exists() and tmp_path / "evaluations.csv" in paths
    console = Console(width=100, record=True, highlight=False)
    for item in summary_renderables(opt):
        console.print(item)
    assert "No candidate met every target" in console.export_text()


def test_cost_to_target_needs_targets(tiny):
    counties = [{**c.model_dump(), "reductions": {}} for c in tiny.spec.population.counties]
    plain = tiny.with_changes({"population": {"counties": counties}})
    with pytest.raises(InputError) as err:
        om.check_settings(plain, total=1e9, objective="cost-to-target")
    assert err.value.key == "objective" and "no registered-poor targets" in str(err.value)


# ---- folders and arguments -----------------------------------------------------------------------

def test_a_folder_of_another_run_is_not_written_over(result, tiny):
    opt, out = result
    assert om.settle_out(tiny, opt.settings, out) == out            # the same optimisation: written again
    other = om.check_settings(tiny, total=opt.settings.total, evaluations=5)
    with pytest.raises(OutputError, match="holds another run"):
        om.settle_out(tiny, other, out)
    assert om.settle_out(tiny, other, out, replace=True) == out


@pytest.mark.parametrize("args, option, value", [
    (["--total", "-5"], "--total", "-5"),
    (["--total", "nan"], "--total", "nan"),
    (["--objective", "fastest"], "--objective", "fastest"),
    (["--bound", "tourism=0.1:0.5"], "--bound", "tourism"),
    (["--bound", "welfare=0.8:0.2"], "--bound", "welfare=0.8:0.2"),
    (["--bound", "welfare"], "--bound", "welfare"),
    (["--bound", "welfare=0.9:1", "--bound", "relocation=0.5:1"], "--bound", "relocation=0.5:1"),
    (["--tradeoff", "0.8,lots"], "--tradeoff", "0.8,lots"),
    (["--evaluations", "0"], "--evaluations", "0"),
    (["--profile", "flat"], "--profile", "flat"),
    (["--spread", "0.5"], "--spread", "0.5"),
])
def test_a_bad_option_is_one_error_line_naming_it(tiny_file, tmp_path, args, option, value):
    out = tmp_path / "out"
    result = runner.invoke(app, ["optimize", str(tiny_file), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and option in lines[0] and value in lines[0], lines[0]
    assert not out.exists()  # refused before anything ran or was written


def test_the_command_runs_and_prints_the_summary(tiny_file, tmp_path):
    out = tmp_path / "cli"
    result = runner.invoke(app, ["optimize", str(tiny_file), "--out", str(out), "--evaluations", "3",
                                 "--replicates", "1", "--confirm-replicates", "1", "--tradeoff", "none",
                                 "--workers", "1", "--bound", "welfare=0.3:"])
    assert result.exit_code == 0, result.output
    assert "Budget split" in result.stdout and "best.toml" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    best = tomllib.loads((out / "best.toml").read_text())
    assert best["budgets"]["welfare"][str(tiny_file_year(best))] > 0
    assert not (out / "tradeoff.png").exists()  # no curve asked for


def tiny_file_year(best):
    return min(int(y) for y in best["budgets"]["welfare"])


def test_the_bench_figure(tiny):
    from sim.app import bench

    figure = bench.bench_optimize(evaluations=2, workers=1, scenario=tiny, replicates=1, confirm_replicates=1)
    assert figure["evaluations"] == 2 and figure["simulations"] >= 2 and figure["seconds"] > 0
    assert figure["default_simulations"] == bench.optimize_simulations(
        om.DEFAULT_EVALUATIONS, om.DEFAULT_REPLICATES, om.DEFAULT_CONFIRM_REPLICATES,
        len(om.DEFAULT_TRADEOFF) - 1, om.DEFAULT_TRADEOFF_EVALUATIONS)
    assert figure["ratio_to_target"] > 0 and sum(figure["best_shares"].values()) == pytest.approx(1, abs=1e-3)
    text = bench.format_optimize(figure)
    assert "ratio to target" in text and "best split found" in text
