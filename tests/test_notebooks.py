"""Every notebook in notebooks/ runs from top to bottom without error, in a kernel that is this
interpreter (the project's .venv), and shows what it promises.

The kernel is pinned to ``sys.executable`` by a kernel spec written into a temporary folder that
JUPYTER_PATH puts first, so a ``python3`` kernel spec elsewhere (the user's home, the system)
cannot send the notebook to another Python. Jupyter's and IPython's runtime and data folders are
temporary too: running the tests writes nothing under the user's home. The notebooks' size
variables (TUOPIN_NOTEBOOK_SCALE, TUOPIN_NOTEBOOK_REPLICATES) are removed from the environment, so
the tests run the sizes stored in the notebooks, whatever the shell says.

After a notebook has run, a check cell (``CHECKS``, appended in memory only) prints one JSON line
of the figures the notebook's text relies on, and the test asserts them: a notebook whose story
no longer holds (an option that stops churning, monitoring that stops lowering returns) fails.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from helpers import ROOT, SANMING_PROGRAMMES

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_quickstart.ipynb", "02_budget_options.ipynb", "03_calibration_and_fit.ipynb",
            "04_transition_return_risk.ipynb"]
KERNEL = "python3"
CELL_TIMEOUT = 300  # seconds per cell; the notebooks take seconds to a minute
SIZE_VARIABLES = ("TUOPIN_NOTEBOOK_SCALE", "TUOPIN_NOTEBOOK_REPLICATES")

# A cell appended (in memory only) to every executed notebook: which Python ran it.
PROBE = """
import json as _json, sys as _sys
print("PROBE " + _json.dumps({"executable": _sys.executable, "prefix": _sys.prefix}))
"""

# Notebook-specific checks, run in the kernel after the notebook: they print one JSON line.
CHECKS = {
    "01_quickstart.ipynb": """
import json as _json, tomllib as _tomllib
import numpy as _np
_point = _tomllib.loads((ROOT / "calibration" / "sanming" / "parameters.toml").read_text())["parameters"]
_y = ensemble.yearly
_city = _y[_y.county == TOTAL]
_first, _last = _city.year.min(), _city.year.max()
_start = _city[_city.year == _first].set_index("replicate").poor_persons_start
_end = _city[_city.year == _last].set_index("replicate").poor_persons_end
_books = (_y.poor_persons_end - (_y.poor_persons_start - _y.exits_persons + _y.returns_persons + _y.entries_persons)).abs()
_base, _opt = scenario.spec.model_dump(), option.spec.model_dump()
_base_budgets, _opt_budgets = _base.pop("budgets"), _opt.pop("budgets")
print("CHECK " + _json.dumps({
    "years": [int(v) for v in year_table.index],
    "run_start": float(year_table["registered poor, start"].iloc[0]),
    "run_end": float(year_table["registered poor, end"].iloc[-1]),
    "replicates": REPLICATES,
    "ensemble_replicates": int(_city.replicate.nunique()),
    "ensemble_fell": bool((_end < _start.loc[_end.index]).all()),
    "books_off_by": float(_books.max()),
    "books_scale": float(_y.poor_persons_start.abs().max()),
    "return_rates": [float(v) for v in _city.return_rate.dropna()],
    "targets": [float(v) for v in summary.target_poor_persons_end],
    "same_but_budgets": _base == _opt,
    "budget_keys_changed": sorted(k for k in set(_base_budgets) | set(_opt_budgets)
                                  if _base_budgets.get(k) != _opt_budgets.get(k)),
    "employment_before": [scenario.spec.budget("employment", y) for y in YEARS],
    "employment_after": [option.spec.budget("employment", y) for y in YEARS],
    "seeds_equal": option_ensemble.seeds == ensemble.seeds,
    "headcount_difference_mean": [float(v) for v in difference.loc["mean"]],
    "employment_spent_difference": float(spent.loc["employment", "difference"]),
    "kinds": {k: int(v) for k, v in params.kind.value_counts().items()},
    "calibrated_off_median": sorted(n for n in params.name[params.kind == "calibrated"]
                                    if not _np.isclose(float(scenario.params.value(n)), float(_point.get(n, _np.nan)), rtol=5e-3)),
    "shipped_has_sets": scenario.parameter_sets is not None,
    "with_sets_has_sets": with_sets.parameter_sets is not None,
    "single_has_sets": single.parameter_sets is not None,
    "seeds_all_equal": single_ensemble.seeds == with_sets_ensemble.seeds == ensemble.seeds,
    "drawn_rows": len(drawn),
    "drawn_in_posterior": bool(all(_np.isclose(sets.values, row).all(axis=1).any() for row in drawn.to_numpy())),
    "budget_scale_files": float(single.params.value("budget.scale")),
    "budget_scale_drawn": "budget.scale" in sets.names,
    "band_widths_ok": bool(_np.isfinite(band_width.to_numpy()).all() and (band_width.to_numpy() >= 0).all()),
    "band_years": [int(v) for v in band_width.index],
}))
""",
    "02_budget_options.ipynb": """
import json as _json, math as _math
import pandas as _pd
_out = comparison.outcomes
_p = comparison.paired
_years = list(baseline.spec.years)
_totals = {o: [sum(sc.spec.budget(p, y) for p in sc.spec.budgets) for y in _years] for o, sc in OPTIONS.items()}
_measures = ("exits_persons", "returns_persons", "sustained_exits_persons", "persons_kept_out", "spent")
print("CHECK " + _json.dumps({
    "side_by_side_type": type(side_by_side).__name__,
    "options": list(side_by_side.columns.get_level_values(0).unique()),
    "statistics": list(side_by_side.columns.get_level_values(1).unique()),
    "measures": list(side_by_side.index),
    "side_by_side_finite": bool(_pd.DataFrame(side_by_side).map(_math.isfinite).all().all()),
    "names": comparison.names,
    "paired_options": list(paired_differences.index.get_level_values(0).unique()),
    "paired_outcomes": sorted(set(paired_differences.index.get_level_values(1))),
    "paired_replicates": sorted({int(v) for v in paired_differences.replicates}),
    "replicates": REPLICATES,
    "sustained_not_above_exits": bool((_out.sustained_exits_persons <= _out.exits_persons).all()),
    "sustained_positive": bool((_out.sustained_exits_persons > 0).all()),
    "paired": {o: {k: [float(_p.loc[o].at[k, c]) for c in ("mean", "ci_low", "ci_high")] for k in _measures}
               for o in comparison.names[1:]},
    "parameter_digests": [parameters_digest(s) for s in comparison.scenarios],
    "sets_digests": [sets_digest(s) for s in comparison.scenarios],
    "multiples": {o: {k: float(v) for k, v in budget_multiples[o].items()} for o in budget_multiples.columns},
    "yearly_total_gap": {o: max(abs(a - b) / b for a, b in zip(_totals[o], _totals["baseline"])) for o in OPTIONS},
    "targets": [float(x) for x in comparison.ensembles[0].summary().target_poor_persons_end],
    "pathways": list(exits_by_pathway.index),
    "employment_pathway": {o: float(exits_by_pathway.at["employment", o]) for o in exits_by_pathway.columns},
    "spent_share_ok": bool(((spent_share >= 0) & (spent_share <= 1 + 1e-9)).all().all()),
    "cost_columns": list(costs.columns),
    "single_names": single.names if SINGLE_SET_CHECK else None,
    "single_sets": [s.parameter_sets is not None for s in single.scenarios] if SINGLE_SET_CHECK else None,
}))
""",
    "03_calibration_and_fit.ipynb": """
import json as _json
import numpy as _np
_after = {p.name: sha256(p) for p in CALIBRATION.glob("*") if p.is_file()}
print("CHECK " + _json.dumps({
    "altered": altered,
    "targets": len(targets),
    "fit_rows": len(fit),
    "fit_labels_match": list(fit.target) == [t.label for t in targets],
    "fit_errors_consistent": bool(_np.allclose(fit.error, fit.simulated_median - fit.value)),
    "fit_within_consistent": bool((fit.within_tolerance == (fit.error.abs() <= fit.tolerance)).all()),
    "groups": sorted(set(fit.group)),
    "verdict_total": int(verdict.targets.sum()),
    "posterior_rows": len(posterior),
    "weights_positive": bool((posterior.weight >= 0).all() and posterior.weight.sum() > 0),
    "inside_prior": bool(((marginals["5 %"] >= marginals["prior low"]) & (marginals["95 %"] <= marginals["prior high"])).all()),
    "toml_is_median": bool(marginals["toml = median"].all()),
    "free_in_manifest": sorted(settings["free"]) == sorted(names),
    "generations": len(generations),
    "generations_in_manifest": settings["generations"],
    "threshold_first_last": [float(generations.threshold.iloc[0]), float(generations.threshold.iloc[-1])],
    "distance_started": float(distances["started from"].median()),
    "distance_posterior": float(distances["posterior draws"].median()),
    "distance_files_finite": bool(_np.isfinite(distances["parameter files"]).all()),
    "runs_this_posterior": runs_this_posterior,
    "files_hold_medians": files_hold_medians,
    "marked": marked,
    "budget_scale_files": float(scenario.params.value("budget.scale")),
    "started_recorded": all(n in started_from for n in names),
    "predictive_runs": int(predicted.shape[0]),
    "replicates": REPLICATES,
    "demo_generations": len(demo.generations),
    "demo_posterior_rows": len(demo_posterior),
    "demo_distinct_particles": int(len(_np.unique(demo.generations[-1].params, axis=0))),
    "demo_weights_sum": float(demo_posterior.weight.sum()),
    "demo_inside_prior": bool(all(((demo_posterior[f.name] >= f.low) & (demo_posterior[f.name] <= f.high)).all()
                                  for f in demo.free)),
    "demo_free": [f.name for f in demo.free],
    "demo_settings": [DEMO_GENERATIONS, DEMO_PARTICLES, DEMO_FREE],
    "shipped_unchanged": _after == before,
}))
""",
    "04_transition_return_risk.ipynb": """
import json as _json
import numpy as _np
_y = comparison.yearly
_mon_cols = ["monitored_households_end", "identified_households", "risk_removed_households",
             "returns_monitored_households", "monitoring_support_spent"]
_late = _y[(_y.option == "monitoring") & (_y.year >= FIRST)]
_d = comparison.differences
_rates = _np.concatenate([r.to_numpy().ravel() for r in by_duration.values()])
_rates = _rates[~_np.isnan(_rates)]
_near = _y.exits_near_line_share.dropna()
print("CHECK " + _json.dumps({
    "names": comparison.names,
    "first": int(FIRST),
    "plan_period_gap": plan_period_gap,
    "returns_averted": [float(v) for v in returns_averted],
    "monitoring_zero_before": bool((_y[_y.year < FIRST][_mon_cols] == 0).all().all()),
    "paid_when_monitoring": bool((_late.monitoring_support_spent > 0).all()),
    "paid_without": float(_y[_y.option == "no monitoring"].monitoring_support_spent.abs().max()),
    "monitored_without": float(_y[_y.option == "no monitoring"].monitored_households_end.max()),
    "durations": sorted({int(c) for r in by_duration.values() for c in r.columns}),
    "rates_in_range": bool(((_rates >= 0) & (_rates <= 1)).all()),
    "rates_count": int(_rates.size),
    "no_support_more_returns": [float(v) for v in _d[_d.option == "no support after exit"].returns_persons],
    "extra_spending": [float(v) for v in extra_spending],
    "per_return": [float(v) for v in per_return],
    "near_line_in_range": bool(((_near >= 0) & (_near <= 1)).all()),
    "effect_means": {k: float(monitoring_effect.at[k, "mean"]) for k in ("exits (persons)", "entries (persons)")},
    "monitored_returns_share": float(_late.returns_monitored_households.sum() / _late.returns_households.sum()),
    "support": {k: [float(support.at[k, c]) for c in ("mean", "ci_low", "ci_high")] for k in support.index},
    "near_line_by_pathway": sorted(near_line_by_pathway.index),
    "has_sets": [s.parameter_sets is not None for s in comparison.scenarios],
    "single_sets": [s.parameter_sets is not None for s in single.scenarios] if SINGLE_SET_CHECK else None,
    "single_returns_lower": ([int(v) for v in single_effect.loc["returns (persons)", ["replicates lower", "replicates higher"]]]
                             if SINGLE_SET_CHECK else None),
    "single_returns_difference": (float(single_effect.at["returns (persons)", "mean"]) if SINGLE_SET_CHECK else None),
}))
""",
}
OPTIONS_02 = ["baseline", "total −20 %", "total +20 %", "shift to employment"]
TRANSITION_04 = ["monitoring", "no monitoring", "no support after exit"]


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A ``python3`` kernel spec for this interpreter, found before any other; temporary
    Jupyter/IPython folders; the notebooks' stored sizes."""
    jupyter = tmp_path / "jupyter"
    write_kernel_spec(jupyter / "kernels" / KERNEL)  # argv[0] = sys.executable
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    for name in SIZE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    assert spec.argv[0] == sys.executable, f"kernel spec {KERNEL!r} resolves to {spec.argv}"
    return spec


def _execute(path: Path, extra_cells: list[str]) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in extra_cells]
    # Run in the notebook's own folder, as Jupyter does when the notebook is opened.
    client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError (with the cell and traceback) on any error
    return nb


def _printed(cell, prefix: str) -> dict:
    lines = [line for out in cell.outputs if out.output_type == "stream"
             for line in out.text.splitlines() if line.startswith(prefix + " ")]
    assert lines, f"no {prefix} line in the output of:\n{cell.source}"
    return json.loads(lines[-1].removeprefix(prefix + " "))


def _tagged(nb, tag: str):
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def _images(nb) -> int:
    return sum(1 for c in nb.cells for out in c.get("outputs", []) if out.get("data", {}).get("image/png"))


def _html(cell) -> str:
    shown = [out for out in cell.outputs if out.output_type in ("execute_result", "display_data")
             and "text/html" in out.data]
    assert shown, f"the cell displays no table:\n{cell.source}"
    return "".join(out.data["text/html"] for out in shown)


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} are stored with outputs (clear them before saving)"
    timed = [i for i, c in enumerate(nb.cells) if "execution" in c.get("metadata", {})]
    assert not timed, f"{path.name}: cells {timed} keep execution timings in their metadata"
    assert "widgets" not in nb.metadata, f"{path.name}: widget state is stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_settings_are_in_one_cell_at_the_top(path):
    """The sizes a researcher turns up are in the one cell tagged ``parameters``, before any
    computation, and read the documented environment variables."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    settings = _tagged(nb, "parameters")
    assert settings is code[0], f"{path.name}: the settings are not the first code cell"
    for name, variable in (("POPULATION_SCALE", "TUOPIN_NOTEBOOK_SCALE"), ("REPLICATES", "TUOPIN_NOTEBOOK_REPLICATES")):
        assert re.search(rf"^{name} = .*{variable}", settings.source, re.M), f"{path.name}: {name} / {variable}"
        later = [c.source for c in code[1:] if re.search(rf"^{name} = ", c.source, re.M)]
        assert not later, f"{path.name}: {name} is set again after the settings cell"


def test_notebooks_readme_names_every_notebook():
    readme = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        assert path.name in readme, f"notebooks/README.md does not describe {path.name}"
    for variable in SIZE_VARIABLES:
        assert variable in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_env):
    check = CHECKS.get(path.name)
    nb = _execute(path, [PROBE] + ([check] if check else []))

    probe = _printed(nb.cells[-2] if check else nb.cells[-1], "PROBE")
    assert probe["executable"] == sys.executable
    assert probe["prefix"] == sys.prefix  # the same environment (the project's .venv under `make test`)

    errors = [out for c in nb.cells if c.cell_type == "code" for out in c.outputs
              if out.output_type == "error"]
    assert not errors

    if check:
        CHECKERS[path.name](nb, _printed(nb.cells[-1], "CHECK"))


def _check_quickstart(nb, got: dict) -> None:
    years = got["years"]
    assert years == list(range(2015, 2021))
    # The register falls over the run: in the single run and in every replicate of the ensemble.
    assert got["run_end"] < got["run_start"]
    assert got["ensemble_replicates"] == got["replicates"]
    assert got["ensemble_fell"]
    # The books balance: end = start − exits + returns + entries, in every row.
    assert got["books_off_by"] <= 1e-6 * got["books_scale"]
    assert got["return_rates"] and all(0 <= r <= 1 for r in got["return_rates"])
    assert len(got["targets"]) == len(years) and all(math.isfinite(t) for t in got["targets"])
    # The dotted override changed the employment budget, doubled, and nothing else.
    assert got["same_but_budgets"]
    assert got["budget_keys_changed"] == ["employment"]
    assert got["employment_after"] == [2 * b for b in got["employment_before"]]
    assert got["seeds_equal"]
    # More employment money is spent, and fewer persons are registered on average over the run.
    assert got["employment_spent_difference"] > 0
    assert sum(got["headcount_difference_mean"]) < 0
    # Where the parameters come from: some values rest on a source, some are assumptions, some were
    # calibrated, and a calibrated value is the shipped calibration's posterior median.
    assert got["kinds"].get("from a source", 0) > 0 and got["kinds"].get("assumption", 0) > 0
    assert got["kinds"].get("calibrated", 0) > 0, got["kinds"]
    assert got["calibrated_off_median"] == []
    # The shipped scenario runs parameter sets, each replicate drawing a row of the posterior; with
    # parameter_sets None it runs one set, budget.scale at 1 (drawn in the sets); the same seeds.
    assert got["shipped_has_sets"] and got["with_sets_has_sets"]
    assert not got["single_has_sets"]
    assert got["seeds_all_equal"]
    assert got["drawn_rows"] == got["replicates"] and got["drawn_in_posterior"]
    assert got["budget_scale_files"] == 1.0 and got["budget_scale_drawn"]
    assert got["band_widths_ok"] and got["band_years"] == years
    year_table = _html(_tagged(nb, "year-table"))
    assert "registered poor, end" in year_table and "plan target, end" in year_table
    for tag in ("headcount-plot", "option-plot", "sets-plot"):
        assert any(out.get("data", {}).get("image/png") for out in _tagged(nb, tag).outputs), tag
    assert _images(nb) == 3


def _check_budget_options(nb, got: dict) -> None:
    # The side-by-side table: a DataFrame with the four options, each with mean and 5–95 % points.
    assert got["side_by_side_type"] == "DataFrame"
    assert got["names"] == OPTIONS_02
    assert got["options"] == OPTIONS_02
    assert got["statistics"] == ["mean", "5 %", "95 %"]
    for word in ("sustained exits", "exits", "returns", "registered poor at the end", "person-years",
                 "spending", "cost per sustained exit"):
        assert any(m.startswith(word) for m in got["measures"]), word
    assert got["side_by_side_finite"]
    html = _html(_tagged(nb, "side-by-side"))
    for option in OPTIONS_02:
        assert option in html

    # Paired differences: each option against the baseline, with every replicate.
    assert got["paired_options"] == OPTIONS_02[1:]
    assert {"sustained_exits_persons", "persons_kept_out", "marginal_cost_per_sustained_exit"} <= set(got["paired_outcomes"])
    assert got["paired_replicates"] == [got["replicates"]]
    assert _tagged(nb, "paired-differences").outputs

    # The options change budgets only (parameters and parameter sets are the baseline's), as their
    # names say: ±20 % on every programme; the shift moves money to employment from industry,
    # relocation and education, keeps health and welfare, and keeps every year's total.
    assert len(set(got["parameter_digests"])) == 1
    assert len(set(got["sets_digests"])) == 1
    m = got["multiples"]
    assert all(v == 1 for v in m["baseline"].values())
    for option, factor in (("total −20 %", 0.8), ("total +20 %", 1.2)):
        assert all(v == pytest.approx(factor, abs=2e-3) for v in m[option].values()), m[option]
    shift = m["shift to employment"]
    assert shift["employment"] > 1
    assert all(shift[p] < 1 for p in ("industry", "relocation", "education"))
    assert shift["health"] == 1 and shift["welfare"] == 1
    assert got["yearly_total_gap"]["shift to employment"] < 1e-4

    # Sustained exits never exceed exits.
    assert got["sustained_not_above_exits"] and got["sustained_positive"]

    # Section 5, why counting exits misleads. The shift to employment: fewer exits and fewer returns
    # than the baseline, yet more sustained exits and more person-years kept out (95 % intervals of
    # the mean difference on the far side of zero).
    e = got["paired"]["shift to employment"]
    assert e["exits_persons"][2] < 0, e["exits_persons"]
    assert e["returns_persons"][2] < 0, e["returns_persons"]
    assert e["sustained_exits_persons"][1] > 0, e["sustained_exits_persons"]
    assert e["persons_kept_out"][1] > 0, e["persons_kept_out"]
    # The cut: on average more returns and more exits; fewer person-years kept out; less spent.
    c = got["paired"]["total −20 %"]
    assert c["returns_persons"][0] > 0, c["returns_persons"]
    assert c["exits_persons"][0] > 0, c["exits_persons"]
    assert c["persons_kept_out"][2] < 0, c["persons_kept_out"]
    assert c["spent"][2] < 0, c["spent"]

    # Costs: average and marginal cost per sustained exit, cost per person-year kept out.
    for column in ("cost per sustained exit", "marginal cost per sustained exit", "cost per person-year kept out"):
        assert column in got["cost_columns"]
    assert _tagged(nb, "costs").outputs

    # The plan's targets reached the plot's data; exits are split by pathway, and the shift to
    # employment raises exits by the employment pathway; budget shares spent are shares.
    assert got["targets"] and all(math.isfinite(t) for t in got["targets"])
    assert {"spontaneous", *SANMING_PROGRAMMES} <= set(got["pathways"])
    assert got["employment_pathway"]["shift to employment"] > got["employment_pathway"]["baseline"]
    assert got["spent_share_ok"]

    # Section 9: the same comparison with one parameter set (no option draws parameter sets).
    assert got["single_names"] == OPTIONS_02
    assert got["single_sets"] == [False] * len(OPTIONS_02)
    assert _tagged(nb, "single-set").outputs

    # Plots: paired differences per replicate, exits and returns by year, registered poor vs
    # targets, exits by pathway.
    assert _images(nb) == 4


def _check_calibration(nb, got: dict) -> None:
    # The shipped files are one run's, as its manifest lists them.
    assert got["altered"] == []
    # Targets, fit table and groups line up.
    assert got["targets"] == got["fit_rows"] == got["verdict_total"] > 0
    assert got["fit_labels_match"] and got["fit_errors_consistent"] and got["fit_within_consistent"]
    assert len(got["groups"]) == 7
    # The posterior: weights, values inside the prior ranges, parameters.toml = weighted medians,
    # the free parameters the manifest names.
    assert got["posterior_rows"] > 0 and got["weights_positive"]
    assert got["inside_prior"]
    assert got["toml_is_median"]
    assert got["free_in_manifest"]
    assert got["generations"] == got["generations_in_manifest"]
    first, last = got["threshold_first_last"]
    assert last <= first
    # The checkout uses this calibration: the shipped scenario runs its posterior, and the parameter
    # files hold its medians for the parameters they mark calibrated (budget.scale is not one: 1).
    assert got["runs_this_posterior"]
    assert got["marked"] and got["files_hold_medians"]
    assert "budget.scale" not in got["marked"] and got["budget_scale_files"] == 1.0
    assert got["started_recorded"]
    # Posterior draws fit the targets better than the values the calibration started from.
    assert got["predictive_runs"] == got["replicates"]
    assert got["distance_posterior"] < got["distance_started"]
    assert got["distance_files_finite"]
    # The demonstration is tiny, well formed, and left the shipped calibration alone.
    generations, particles, free = got["demo_settings"]
    assert got["demo_generations"] == generations
    # The posterior holds the distinct sets among the last generation's particles.
    assert got["demo_posterior_rows"] == got["demo_distinct_particles"] and 1 <= got["demo_posterior_rows"] <= particles
    assert got["demo_weights_sum"] == pytest.approx(1.0)
    assert got["demo_inside_prior"]
    assert got["demo_free"] == free
    assert got["shipped_unchanged"]
    for tag in ("marginals", "predictive", "verdict", "misses", "demonstration"):
        assert _tagged(nb, tag).outputs, tag
    # Plots: thresholds, marginals, city register vs targets, errors by target.
    assert _images(nb) == 4


def _check_transition(nb, got: dict) -> None:
    assert got["names"] == TRANSITION_04
    assert got["first"] == 2021
    # With and without monitoring share 2015–2020 exactly: common random numbers.
    assert got["plan_period_gap"] == 0
    # Monitoring lowers returns in 2021–2025 in every replicate.
    assert got["returns_averted"] and all(v > 0 for v in got["returns_averted"])
    # Monitoring figures are zero before 2021 and without monitoring; it pays in every later year.
    assert got["monitoring_zero_before"]
    assert got["paid_when_monitoring"]
    assert got["paid_without"] == 0 and got["monitored_without"] == 0
    # Returns by years since exit: durations 1 to 6, rates between 0 and 1.
    assert got["durations"] == [1, 2, 3, 4, 5, 6]
    assert got["rates_count"] > 0 and got["rates_in_range"]
    # With monitoring, fewer exits and fewer entries (means); few returns are of monitored households.
    assert got["effect_means"]["exits (persons)"] < 0 and got["effect_means"]["entries (persons)"] < 0
    assert got["monitored_returns_share"] < 0.1
    # Stopping support at exit raises returns over the run, in every replicate; it raises exits,
    # spends less and keeps fewer person-years off the register (95 % intervals), and sustained exits
    # do not rise measurably (the interval's lower end is not above zero).
    assert got["no_support_more_returns"] and all(v > 0 for v in got["no_support_more_returns"])
    s = got["support"]
    assert s["returns_persons"][1] > 0 and s["exits_persons"][1] > 0, s
    assert s["spent"][2] < 0 and s["persons_kept_out"][2] < 0, s
    assert s["sustained_exits_persons"][1] <= 0, s
    # Monitoring costs money (more of the held budgets is spent), at a finite positive price per
    # return averted.
    assert sum(got["extra_spending"]) > 0
    ratio, low, high = got["per_return"]
    assert ratio > 0 and math.isfinite(ratio)
    assert math.isnan(low) or low <= ratio <= high
    assert got["near_line_in_range"]
    assert {"spontaneous", *SANMING_PROGRAMMES} <= set(got["near_line_by_pathway"])
    # The scenarios as shipped draw parameter sets; with one parameter set too, monitoring lowers
    # returns on average.
    assert got["has_sets"] == [True] * len(TRANSITION_04)
    assert got["single_sets"] == [False, False]
    assert got["single_returns_difference"] < 0
    for tag in ("monitoring-effect", "by-duration", "near-line", "monitoring-cost"):
        assert _tagged(nb, tag).outputs, tag
    # Plots: returns by year, return rate by years since exit, near-line exits and incomes.
    assert _images(nb) == 3


CHECKERS = {
    "01_quickstart.ipynb": _check_quickstart,
    "02_budget_options.ipynb": _check_budget_options,
    "03_calibration_and_fit.ipynb": _check_calibration,
    "04_transition_return_risk.ipynb": _check_transition,
}
assert set(CHECKERS) == set(CHECKS) == set(EXPECTED)
