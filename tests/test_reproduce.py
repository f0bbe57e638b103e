"""Reproducing a published run: from its manifest alone (``tuopin reproduce``), or from the scenario
files and the seeds.toml it wrote (``tuopin run SCENARIO --seed-file seeds.toml``).

The run reproduced is a child scenario that extends a copy of the shipped one and changes a budget
and a parameter, so that the manifest has to carry the resolved scenario, not a file name.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import copy_sanming, write
from sim.app.cli import app
from sim.execution.ensemble import TABLES, parameters_digest
from sim.execution.output import MANIFEST, sha256
from sim.core.streams import replicate_seeds
from sim.app.runs import SEEDS_FILE, run_scenario
from sim.inputs.scenario import load_scenario

runner = CliRunner()
ROOT_SEED = 9
REPLICATES = 2
CHILD = ('[scenario]\nextends = "sanming.toml"\nname = "published"\npopulation_scale = 0.05\n'
         '[budgets]\nemployment = 8_000_000\n'
         '[parameters]\n"programme.employment.effect" = 8000\n')


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A run as published: its scenario files, results folder and manifest."""
    base = tmp_path_factory.mktemp("published")
    scenarios = base / "scenarios"
    copy_sanming(scenarios)
    child = write(scenarios, "published.toml", CHILD)
    out = base / "results"
    ens, manifest = run_scenario(child, seed=ROOT_SEED, replicates=REPLICATES, workers=1, out=out, plots=True,
                                 progress=False)
    return child, out, manifest, json.loads(manifest.read_text())


def _manifest_copy(info: dict, folder: Path, change=None) -> Path:
    """The manifest alone in a folder of its own (none of the scenario files), maybe altered."""
    info = json.loads(json.dumps(info))
    if change:
        change(info)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MANIFEST
    path.write_text(json.dumps(info, indent=2))
    return path


def _reproduce(manifest: Path, out: Path):
    return runner.invoke(app, ["reproduce", str(manifest), "--out", str(out), "--workers", "1"])


def _file_lines(text: str) -> dict[str, str]:
    lines = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("match", "MISMATCH", "missing"):
            lines[parts[1]] = parts[0]
    return lines


def test_manifest_records_what_a_reproduction_needs(published):
    child, out, _, info = published
    loaded = load_scenario(child)
    assert info["scenario"] == loaded.spec.model_dump(mode="json")
    # Resolved: the base's population and budgets with the child's changes laid over them.
    assert info["scenario"]["scenario"]["name"] == "published"
    assert info["scenario"]["scenario"]["population_scale"] == 0.05
    assert info["scenario"]["budgets"]["employment"] == 8_000_000
    assert len(info["scenario"]["population"]["counties"]) == 12
    assert info["scenario"]["parameters"] == {"programme.employment.effect": 8000}
    assert info["parameters"]["programme.employment.effect"] == 8000
    assert set(info["parameters"]) == {p.name for p in loaded.params}
    assert info["root_seed"] == ROOT_SEED and info["replicates"] == REPLICATES
    assert info["replicate_seeds"] == replicate_seeds(ROOT_SEED, REPLICATES)
    assert info["parameter_set_id"] == parameters_digest(loaded)
    assert info["scenario_digest"] == loaded.spec.digest()
    versions = info["versions"]
    assert versions["python"] == platform.python_version() == sys.version.split()[0]
    assert versions["numpy"] == np.__version__
    for pkg in ("pandas", "pyarrow", "mesa", "tuopin"):
        assert pkg in versions, pkg
    assert "git_commit" in info and (info["git_commit"] is None or isinstance(info["git_commit"], str))
    assert info["platform"]["system"] == platform.system() and info["platform"]["machine"] == platform.machine()
    # A checksum for every file in the folder (the manifest aside; replicates/ is working state).
    files = {p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST}
    assert set(info["outputs"]) == files
    for name in [f"{t}.{ext}" for t in (*TABLES, "summary") for ext in ("csv", "parquet")] + [SEEDS_FILE]:
        assert name in files, name
    assert any(name.endswith(".png") for name in files)
    for name, digest in info["outputs"].items():
        assert sha256(out / name) == digest, name


def test_reproduce_from_the_manifest_alone_matches_every_file(published, tmp_path):
    *_, info = published
    manifest = _manifest_copy(info, tmp_path / "elsewhere")
    result = _reproduce(manifest, tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert _file_lines(result.stdout) == {name: "match" for name in info["outputs"]}
    assert "reproduced exactly" in result.stdout
    assert "VERSION" not in result.stdout and "PARAMETER" not in result.stdout


def test_a_tampered_checksum_is_a_mismatch(published, tmp_path):
    *_, info = published

    def tamper(m):
        m["outputs"]["yearly.csv"] = "0" * 64

    result = _reproduce(_manifest_copy(info, tmp_path / "m", tamper), tmp_path / "again")
    assert result.exit_code == 1, result.output
    lines = _file_lines(result.stdout)
    assert lines.pop("yearly.csv") == "MISMATCH"
    assert set(lines.values()) == {"match"}
    assert "NOT reproduced" in result.stdout


def test_another_numpy_version_is_reported_and_fails(published, tmp_path):
    *_, info = published

    def older(m):
        m["versions"]["numpy"] = "1.0.0"

    result = _reproduce(_manifest_copy(info, tmp_path / "m", older), tmp_path / "again")
    assert result.exit_code == 1, result.output
    version_lines = [line for line in result.stdout.splitlines() if line.startswith("VERSION")]
    assert version_lines == [f"VERSION   numpy: manifest 1.0.0, here {np.__version__}"]
    assert set(_file_lines(result.stdout).values()) == {"match"}  # the files themselves still match


def test_reproduce_uses_the_manifest_parameter_values(published, tmp_path):
    """The manifest's values are the ones run, not the installed defaults: a changed value there
    changes the tables (one the scenario's parameter sets do not carry: those are drawn over it),
    and a parameter unknown here is reported."""
    *_, info = published
    assert "shocks.disaster_rate" not in (info["parameter_sets"] or {}).get("names", [])

    def changed(m):
        m["parameters"]["shocks.disaster_rate"] = 0.2
        m["parameters"]["shocks.not_a_parameter"] = 1

    result = _reproduce(_manifest_copy(info, tmp_path / "m", changed), tmp_path / "again")
    assert result.exit_code == 1, result.output
    assert _file_lines(result.stdout)["yearly.csv"] == "MISMATCH"
    assert "PARAMETER shocks.not_a_parameter: in the manifest, unknown here" in result.stdout


def test_reviewer_with_the_scenario_files_and_seeds_gets_identical_tables(published, tmp_path):
    child, out, _, info = published
    seeds = tomllib.loads((out / SEEDS_FILE).read_text())
    assert seeds == {"root_seed": ROOT_SEED, "replicates": REPLICATES, "replicate_seeds": info["replicate_seeds"]}
    # The reviewer has the scenario files and seeds.toml, nothing else; and another worker count.
    review = tmp_path / "review"
    review.mkdir()
    for f in (child, child.parent / "sanming.toml", out / SEEDS_FILE):
        shutil.copyfile(f, review / f.name)
    shutil.copytree(child.parent / "calibrated", review / "calibrated")  # the parameter sets sanming.toml names
    again = tmp_path / "again"
    result = runner.invoke(app, ["run", str(review / child.name), "--seed-file", str(review / SEEDS_FILE),
                                 "--out", str(again), "--no-plots", "--workers", "2"])
    assert result.exit_code == 0, result.output
    for name in (*TABLES, "summary"):
        for ext in ("csv", "parquet"):
            assert (again / f"{name}.{ext}").read_bytes() == (out / f"{name}.{ext}").read_bytes(), f"{name}.{ext}"
    assert (again / SEEDS_FILE).read_bytes() == (out / SEEDS_FILE).read_bytes()
    review_info = json.loads((again / MANIFEST).read_text())
    assert review_info["root_seed"] == ROOT_SEED and review_info["replicate_seeds"] == info["replicate_seeds"]
    assert review_info["parameter_set_id"] == info["parameter_set_id"]


# --- the published files are checked first; the re-run is always fresh -------------------------------

def _published_copy(out: Path, to: Path) -> Path:
    """A copy of the published results folder (its links and sets as they are)."""
    shutil.copytree(out, to, symlinks=True)
    return to


def test_reproduce_checks_the_published_files_and_says_so(published, tmp_path):
    _, out, _, info = published
    copy = _published_copy(out, tmp_path / "results")
    result = _reproduce(copy / MANIFEST, tmp_path / "again")
    assert result.exit_code == 0, result.output
    n = len(info["outputs"])
    assert f"{n} of {n} files of the re-run match; {n} of {n} published files as the manifest records them; " \
           "reproduced exactly." in result.stdout


def test_a_published_file_altered_since_the_run_is_reported_and_fails(published, tmp_path, counters):
    _, out, _, info = published
    copy = _published_copy(out, tmp_path / "results")
    with open(copy / "spending.csv", "a") as fh:
        fh.write("0,0,2099,ALL,industry,0,0,0,0,0,0\n")
    (copy / ".current" / "seeds.toml").unlink()
    counters["faults_injected"] += 2
    result = _reproduce(copy / MANIFEST, tmp_path / "again")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert "ALTERED   spending.csv: altered since the run (its SHA-256 is not the manifest's)" in lines
    assert "MISSING   seeds.toml: missing since the run" in lines
    assert set(_file_lines(result.stdout).values()) == {"match"}  # the re-run still gives the manifest's files
    n = len(info["outputs"])
    assert f"{n - 2} of {n} published files as the manifest records them; NOT reproduced." in result.stdout


@pytest.mark.parametrize("where", ["the published folder", "a folder with a file"])
def test_reproduce_refuses_an_out_folder_that_holds_files(where, published, tmp_path):
    _, out, manifest, _ = published
    target = out if where == "the published folder" else tmp_path / "used"
    if target != out:
        write(target, "notes.txt", "mine")
    before = {p: p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()}
    result = _reproduce(manifest, target)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: command line: --out = {str(target)!r}: holds files already: a reproduction runs in a "
                     "fresh folder (allowed: a new or empty folder)"]
    assert {p: p.read_bytes() for p in sorted(target.rglob("*")) if p.is_file()} == before


def test_each_reproduction_runs_in_a_folder_of_its_own(published, tmp_path, monkeypatch):
    """From inside the results folder, with the manifest's bare name (once a traceback): the
    re-run goes beside it, and a second reproduction beside that, never into the first."""
    import sim.execution.ensemble

    _, out, _, info = published
    copy = _published_copy(out, tmp_path / "results")
    monkeypatch.chdir(copy)
    ran = []
    run = sim.execution.ensemble.run_replicate
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", lambda s, seed, k: ran.append(k) or run(s, seed, k))
    for n, folder in enumerate([tmp_path / "results-reproduced", tmp_path / "results-reproduced-2"], start=1):
        result = runner.invoke(app, ["reproduce", MANIFEST, "--workers", "1"])
        assert result.exit_code == 0, result.output
        assert f"Re-run in {folder}/" in result.stdout
        assert ran == list(range(REPLICATES)) * n  # every replicate run again: nothing reused
        assert json.loads((folder / MANIFEST).read_text())["outputs"] == info["outputs"]


TAMPERED = {
    "a negative root seed": (lambda m: m.update(root_seed=-1), "root_seed", "-1"),
    "no replicates": (lambda m: m.update(replicates=0), "replicates", "0"),
    "replicates = true": (lambda m: m.update(replicates=True), "replicates", "True"),
    "a list for the scenario": (lambda m: m.update(scenario=[1, 2]), "scenario", "[1, 2]"),
    "a list for the parameters": (lambda m: m.update(parameters=["x"]), "parameters", "['x']"),
    "a list for the outputs": (lambda m: m.update(outputs=["yearly.csv"]), "outputs", "['yearly.csv']"),
    "an output outside the folder": (lambda m: m["outputs"].update({"../../etc/passwd": "0" * 64}), "outputs",
                                     "'../../etc/passwd'"),
    "a checksum that is not one": (lambda m: m["outputs"].update({"yearly.csv": 5}), "outputs.yearly.csv", "5"),
    "a version that is a table": (lambda m: m["versions"].update(numpy={"v": 1}), "versions.numpy", "{'v': 1}"),
    "seeds that are not the root seed's": (lambda m: m.update(replicate_seeds=[1, 2]), "replicate_seeds", "[1, 2]"),
    "a county list that is a table": (lambda m: m["scenario"]["population"].update(counties={"a": 1}),
                                      "population.counties", "{'a': 1}"),
    "fields missing": (lambda m: (m.clear(), m.update({"list": True})), "root_seed", "None"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_manifest_field_is_one_error_line(case, published, tmp_path, counters):
    *_, info = published
    change, key, shown = TAMPERED[case]
    manifest = _manifest_copy(info, tmp_path / "m", change)
    counters["fuzzed_inputs"] += 1
    result = _reproduce(manifest, tmp_path / "again")
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {manifest}: {key} = {shown}"), lines
    assert not (tmp_path / "again").exists()


def test_a_manifest_that_is_a_json_list_is_one_error_line(tmp_path):
    manifest = write(tmp_path, MANIFEST, "[1, 2, 3]")
    result = _reproduce(manifest, tmp_path / "again")
    assert result.exit_code == 2 and result.stderr.startswith(f"error: {manifest}: (top level) = [1, 2, 3]: ")


def test_a_run_over_parameter_sets_reproduces_from_its_manifest_alone(tmp_path):
    """The manifest carries the parameter sets themselves: a reviewer without the Parquet file
    still gets every file back, and each replicate ran with the set its seed drew."""
    import pandas as pd

    scenarios = tmp_path / "scenarios"
    copy_sanming(scenarios)
    pd.DataFrame({"programme.employment.effect": [4000.0, 12000.0], "weight": [1.0, 1.0]}).to_parquet(
        scenarios / "posterior.parquet")
    child = write(scenarios, "sets.toml", '[scenario]\nextends = "sanming.toml"\nname = "sets"\n'
                  'population_scale = 0.05\nparameter_sets = "posterior.parquet"\n')
    _, manifest = run_scenario(child, seed=ROOT_SEED, replicates=3, workers=1, out=tmp_path / "results",
                               plots=False, progress=False)
    info = json.loads(manifest.read_text())
    assert info["parameter_sets"]["values"] == [[4000.0], [12000.0]]
    (scenarios / "posterior.parquet").unlink()
    result = _reproduce(_manifest_copy(info, tmp_path / "elsewhere"), tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert "reproduced exactly" in result.stdout


def test_a_calibration_reproduces_from_its_manifest(tmp_path):
    """`tuopin reproduce` on a calibration's manifest runs the calibration again from its recorded
    settings, targets and seed (the scenario's own parameter sets not needed) and matches every
    file, the fit report's included; a published posterior altered since fails the check."""
    from sim.analysis.calibrate import run_calibration
    from sim.inputs.targets import load_targets

    scenarios = tmp_path / "scenarios"
    copy_sanming(scenarios)
    small = write(scenarios, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\n'
                  "population_scale = 0.02\n")
    targets = [t for t in load_targets(Path(__file__).parents[1] / "calibration" / "targets" / "sanming.csv")
               if t.quantity == "registered_persons_end" and t.place == "ALL"]
    _, manifest = run_calibration(load_scenario(small), targets, tmp_path / "cal",
                                  free_names=["budget.scale", "income.convergence_rate"], particles=4, candidates=8,
                                  generations=2, replicates=1, seed=3, workers=1, report_runs=2)
    info = json.loads(manifest.read_text())
    assert info["command"] == "calibrate" and "fit/report.html" in info["outputs"]
    shutil.rmtree(scenarios)  # the reviewer has the calibration folder only
    result = _reproduce(manifest, tmp_path / "again")
    assert result.exit_code == 0, result.output
    assert "reproduced exactly" in result.stdout
    assert _file_lines(result.stdout) == {name: "match" for name in info["outputs"]}
    (tmp_path / "cal" / "posterior.parquet").write_bytes(b"altered")
    result = _reproduce(manifest, tmp_path / "again-2")
    assert result.exit_code == 1 and "ALTERED   posterior.parquet" in result.stdout
    # A calibration whose generations all ran the same seeds (an earlier version) is refused by name.
    info["calibration"].pop("seeds")
    old = tmp_path / "old-manifest.json"
    old.write_text(json.dumps(info))
    result = _reproduce(old, tmp_path / "again-3")
    assert result.exit_code != 0 and "calibration.seeds" in result.output, result.output
