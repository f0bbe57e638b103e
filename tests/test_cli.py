"""The command line: bad input ends with one 'error:' line and status 2, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import ROOT, copy_sanming, write
from sim.app.cli import app

runner = CliRunner()


def _command() -> list[str]:
    exe = Path(sys.executable).parent / "tuopin"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


BROKEN = {
    "negative budget": ("[budgets]\nindustry = -5\n", "budgets.industry"),
    "unknown key": ("[scenario.x]\n", "scenario.x"),
    "parameter typo": ('[parameters]\n"shocks.ilness_rate" = 0.01\n', "parameters.shocks.ilness_rate"),
    "wrong type": ('[budgets]\nwelfare = "a lot"\n', "budgets.welfare"),
}


def _broken(tmp_path, case):
    copy_sanming(tmp_path)
    body, key = BROKEN[case]
    return write(tmp_path, "broken.toml", '[scenario]\nextends = "sanming.toml"\nname = "broken"\n' + body), key


@pytest.mark.parametrize("case", ["negative budget", "parameter typo"])
def test_run_on_a_broken_scenario_prints_one_error_line_and_exits_2(tmp_path, case):
    path, key = _broken(tmp_path, case)
    proc = subprocess.run(_command() + ["run", str(path), "--out", str(tmp_path / "out"), "--no-plots"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0] and key in lines[0]
    assert not (tmp_path / "out").exists()  # nothing written


@pytest.mark.parametrize("case", list(BROKEN))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_broken_scenario_in_process(tmp_path, case, command):
    path, key = _broken(tmp_path, case)
    result = runner.invoke(app, [command, str(path), "--out", str(tmp_path / "o")] if command == "run"
                           else [command, str(path)])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(path) in lines[0] and f"{key} = " in lines[0]


# Scenarios validate used to accept and run crashed on or misreported (tests/test_scenario.py has them all).
ONCE_ACCEPTED = ["NaN cause", "infinite cause", "incidence that implies an impossible rural population",
                 "rural population beyond any country", "county poor villages beyond any country",
                 "infinite persons in a category", "parameter too large for a float",
                 "reductions beyond the county's poor persons", "budget beyond any treasury"]


@pytest.fixture(scope="module")
def earlier_results(tmp_path_factory):
    """A results folder from an earlier run, and the checksum of every file in it."""
    from sim.execution.output import sha256

    base = tmp_path_factory.mktemp("earlier")
    path = write(copy_sanming(base).parent, "small.toml",
                 '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n')
    out = base / "results"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1"])
    assert result.exit_code == 0, result.output

    def checksums():
        return {str(p.relative_to(out)): (sha256(p) if p.is_file() else "link") for p in sorted(out.rglob("*"))}

    return out, checksums, checksums()


@pytest.mark.parametrize("case", ONCE_ACCEPTED)
def test_validate_and_run_refuse_what_once_crashed_leaving_results_untouched(tmp_path, case, earlier_results):
    from test_scenario import BROKEN as SCENARIO_BROKEN

    body, key, shown = SCENARIO_BROKEN[case]
    copy_sanming(tmp_path)
    path = write(tmp_path, "broken.toml", '[scenario]\nextends = "sanming.toml"\nname = "broken"\n' + body)
    out, checksums, before = earlier_results
    for args in (["validate", str(path)], ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args[0], result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"error: {path}: {key} = ") and shown in lines[0], lines[0]
    assert checksums() == before


@pytest.mark.parametrize("case", ["parameter too large for a float"])
def test_validate_refuses_what_once_crashed_without_a_traceback(tmp_path, case):
    from test_scenario import BROKEN as SCENARIO_BROKEN

    body, key, _ = SCENARIO_BROKEN[case]
    copy_sanming(tmp_path)
    path = write(tmp_path, "broken.toml", '[scenario]\nextends = "sanming.toml"\nname = "broken"\n' + body)
    proc = subprocess.run(_command() + ["validate", str(path)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: {key} = "), proc.stderr


def test_missing_scenario_file(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path / "none.toml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "none.toml" in result.stderr
    assert "Traceback" not in result.output


def test_extends_outside_needs_allow_outside(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "sub/child.toml", '[scenario]\nextends = "../sanming.toml"\nname = "child"\n')
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2 and "scenario.extends" in result.stderr
    result = runner.invoke(app, ["validate", str(path), "--allow-outside"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: child")


def test_validate_the_shipped_scenario():
    result = runner.invoke(app, ["validate", str(ROOT / "scenarios" / "sanming.toml")])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: sanming-baseline")


def test_run_a_small_scenario(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.05\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--replicates", "2",
                                 "--workers", "1", "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "2 replicate(s)" in result.stdout and "seed 4" in result.stdout
    assert "Exits by pathway" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["root_seed"] == 4 and manifest["scenario_name"] == "small"
    assert (out / "yearly.csv").exists() and not list(out.glob("*.png"))


def test_unwritable_output_folder_exits_3(tmp_path):
    copy_sanming(tmp_path)
    path = write(tmp_path, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n')
    blocker = tmp_path / "out"
    blocker.write_text("a file where the results folder should be")
    result = runner.invoke(app, ["run", str(path), "--out", str(blocker), "--no-plots"])
    assert result.exit_code == 3, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert blocker.read_text().startswith("a file")


def test_params_lists_every_parameter_and_scenario_values(tmp_path):
    from sim.inputs.params import ParameterSet

    result = runner.invoke(app, ["params", "--csv"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("name,")
    assert len(lines) >= len(list(ParameterSet.defaults())) + 1
    copy_sanming(tmp_path)
    path = write(tmp_path, "p.toml", '[scenario]\nextends = "sanming.toml"\nname = "p"\n'
                 '[parameters]\n"shocks.illness_rate" = 0.0123\n')
    result = runner.invoke(app, ["params", "--scenario", str(path), "--csv"])
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("shocks.illness_rate,"))
    assert "0.0123" in row and "p.toml" in row
    # Values a calibration chose are marked, with the calibration's note in the CSV.
    table = runner.invoke(app, ["params"]).stdout.splitlines()
    marked = [line.split()[0] for line in table if "(calibrated)" in line]
    calibrated = [p.name for p in ParameterSet.defaults() if p.calibrated]
    assert calibrated and sorted(marked) == sorted(calibrated)
    assert "budget.scale" not in calibrated  # a scenario's own: its parameter sets carry it


def test_error_in_a_worker_process_is_one_error_line(tmp_path):
    """With several workers the model runs in other processes; bad input found there must still
    end with one 'error:' line and status 2."""
    from test_scenario import EARLY

    copy_sanming(tmp_path)
    path = write(tmp_path, "early.toml", EARLY)
    proc = subprocess.run(_command() + ["run", str(path), "--out", str(tmp_path / "out"), "--no-plots",
                                        "--replicates", "2", "--workers", "2"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "BrokenProcessPool" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]


def test_run_too_large_for_memory_is_refused(tmp_path, monkeypatch):
    import psutil

    class Tiny:
        available = 10 * 2**20  # 10 MiB

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Tiny())
    copy_sanming(tmp_path)
    result = runner.invoke(app, ["run", str(tmp_path / "sanming.toml"), "--out", str(tmp_path / "out"), "--no-plots"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "population_scale" in lines[0] and "households" in lines[0]
    assert not (tmp_path / "out").exists()


# Options that used to end in a traceback, run unbounded, or be taken silently for something else.
BAD_OPTIONS = {
    "negative seed": (["--seed", "-1"], "--seed", "-1"),
    "seed of 2**64": (["--seed", str(2**64)], "--seed", str(2**64)),
    "seed of 2**63": (["--seed", str(2**63)], "--seed", str(2**63)),
    "no replicates": (["--replicates", "0"], "--replicates", "0"),
    "a billion replicates": (["--replicates", "1000000000"], "--replicates", "1000000000"),
    "no workers": (["--workers", "0"], "--workers", "0"),
    "malformed Dask address": (["--dask", "scheduler"], "--dask", "'scheduler'"),
    "Dask address without a port": (["--dask", "tcp://scheduler"], "--dask", "'tcp://scheduler'"),
    "Dask address of another scheme": (["--dask", "http://scheduler:8786"], "--dask", "'http://scheduler:8786'"),
    "Dask port out of range": (["--dask", "tcp://127.0.0.1:99999"], "--dask", "'tcp://127.0.0.1:99999'"),
}


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    copy_sanming(folder)
    return write(folder, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n')


def _one_error_line(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_a_bad_option_is_one_error_line_naming_it_before_anything_runs(case, small_file, tmp_path, monkeypatch, counters):
    import time

    monkeypatch.delenv("TUOPIN_DASK", raising=False)
    args, key, shown = BAD_OPTIONS[case]
    out = tmp_path / "out"
    counters["fuzzed_inputs"] += 1
    start = time.monotonic()
    line = _one_error_line(runner.invoke(app, ["run", str(small_file), "--out", str(out), "--no-plots", *args]))
    assert line.startswith(f"error: command line: {key} = {shown}: "), line
    assert time.monotonic() - start < 10  # refused, not tried (a Dask connection waits 20 s)
    assert not out.exists()


@pytest.mark.parametrize("value", ["scheduler:8786", "tcp://", "tcp://host:port", "tcp://a b:1"])
def test_a_malformed_dask_address_in_the_environment_or_config_is_named_there(value, small_file, tmp_path, monkeypatch):
    monkeypatch.setenv("TUOPIN_DASK", value)
    line = _one_error_line(runner.invoke(app, ["run", str(small_file), "--out", str(tmp_path / "o"), "--no-plots"]))
    assert line.startswith(f"error: environment: TUOPIN_DASK = {value!r}: not a Dask scheduler address"), line
    monkeypatch.delenv("TUOPIN_DASK")
    config = write(tmp_path, "config.toml", f'[execution]\ndask = "{value}"\n')
    monkeypatch.setenv("TUOPIN_CONFIG", str(config))
    line = _one_error_line(runner.invoke(app, ["run", str(small_file), "--out", str(tmp_path / "o"), "--no-plots"]))
    assert line.startswith(f"error: {config}: execution.dask = {value!r}: "), line
    assert not (tmp_path / "o").exists()


BAD_SEED_FILES = {
    "replicates = true": (b"root_seed = 1\nreplicates = true\n", "replicates", "True"),
    "replicates = 0": (b"root_seed = 1\nreplicates = 0\n", "replicates", "0"),
    "too many replicates": (b"root_seed = 1\nreplicates = 100_001\n", "replicates", "100001"),
    "root seed of 2**63": (f"root_seed = {2**63 - 1}1\nreplicates = 1\n".encode(), "root_seed", "9223372036854775807"),
    "root seed = false": (b"root_seed = false\nreplicates = 1\n", "root_seed", "False"),
    "not UTF-8": ("# 三明\nroot_seed = 1\nreplicates = 1\n".encode("gb18030"), "", "None"),
}


@pytest.mark.parametrize("case", list(BAD_SEED_FILES))
def test_a_bad_seed_file_is_one_error_line_naming_it(case, small_file, tmp_path, counters):
    data, key, shown = BAD_SEED_FILES[case]
    seeds = tmp_path / "seeds.toml"
    seeds.write_bytes(data)
    counters["fuzzed_inputs"] += 1
    line = _one_error_line(runner.invoke(app, ["run", str(small_file), "--out", str(tmp_path / "o"), "--no-plots",
                                               "--seed-file", str(seeds)]))
    assert line.startswith(f"error: {seeds}: {key or '(top level)'} = {shown}"), line
    assert not (tmp_path / "o").exists()


def test_a_config_file_that_is_not_utf8_is_one_error_line(small_file, tmp_path, monkeypatch, counters):
    config = tmp_path / "config.toml"
    config.write_bytes('# 集群\n[execution]\ndask = "local"\n'.encode("gb18030"))
    monkeypatch.setenv("TUOPIN_CONFIG", str(config))
    monkeypatch.delenv("TUOPIN_DASK", raising=False)
    counters["fuzzed_inputs"] += 1
    line = _one_error_line(runner.invoke(app, ["run", str(small_file), "--out", str(tmp_path / "o"), "--no-plots"]))
    assert line.startswith(f"error: {config}: (top level) = None: cannot read the config file"), line


def test_a_negative_seed_from_the_shell_has_no_traceback(small_file, tmp_path):
    proc = subprocess.run(_command() + ["run", str(small_file), "--seed", "-1", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"tuopin {version('tuopin')}"


def test_a_run_never_writes_over_another_runs_folder(tmp_path):
    """Same scenario and seed: the folder is resumed. Another seed into the default folder: a new
    folder beside it. Another seed into a folder asked for: refused, unless --replace."""
    copy_sanming(tmp_path)
    path = write(tmp_path, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n')
    common = ["--no-plots", "--replicates", "1", "--workers", "1"]
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(path), "--out", str(out), "--seed", "1", *common]).exit_code == 0
    before = (out / "yearly.csv").read_bytes()
    again = runner.invoke(app, ["run", str(path), "--out", str(out), "--seed", "1", *common])
    assert again.exit_code == 0 and (out / "yearly.csv").read_bytes() == before
    refused = runner.invoke(app, ["run", str(path), "--out", str(out), "--seed", "2", *common])
    assert refused.exit_code == 3 and "holds another run" in refused.output and "--replace" in refused.output
    assert (out / "yearly.csv").read_bytes() == before
    replaced = runner.invoke(app, ["run", str(path), "--out", str(out), "--seed", "2", "--replace", *common])
    assert replaced.exit_code == 0 and json.loads((out / "manifest.json").read_text())["root_seed"] == 2


def test_a_default_folder_holding_another_run_is_passed_over(tmp_path, monkeypatch):
    copy_sanming(tmp_path)
    path = write(tmp_path, "small.toml", '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.02\n')
    monkeypatch.chdir(tmp_path)
    common = ["--no-plots", "--replicates", "1", "--workers", "1"]
    assert runner.invoke(app, ["run", str(path), "--seed", "1", *common]).exit_code == 0
    result = runner.invoke(app, ["run", str(path), "--seed", "2", *common])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "results/small/manifest.json").read_text())["root_seed"] == 1
    assert json.loads((tmp_path / "results/small-2/manifest.json").read_text())["root_seed"] == 2
