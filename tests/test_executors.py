"""Where replicates run does not change what they give: a Dask cluster, the local process pool with
any number of workers and the main process give the same bytes, replicate for replicate.

The cluster is a real ``distributed.LocalCluster`` on the loopback interface (worker processes,
no dashboard), started once for this file. That one worker count gives identical tables in memory
is tested in test_ensemble.py; here the results streamed to a folder are compared byte for byte.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import sim.execution.ensemble
from helpers import copy_sanming, kill_self_once, write
from sim.app.cli import app
from sim.execution.ensemble import TABLES, run_ensemble
from sim.execution.ensemble import run_replicate as _run_replicate
from sim.execution.executors import DASK_ENV, dask_address

SEED = 23
REPLICATES = 3
runner = CliRunner()


def die_once_on_dask(marks: str, scenario, seed, replicate):
    """``run_replicate``, except that the first attempt at replicate 1 kills its Dask worker."""
    if replicate == 1:
        kill_self_once(marks, "died")
    return _run_replicate(scenario, seed, replicate)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def local(tiny, tmp_path_factory):
    """The ensemble run in the main process, streamed to a folder."""
    out = tmp_path_factory.mktemp("local") / "out"
    ens = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    return ens, out


def _ran_on(cluster) -> int:
    """How many replicate tasks the cluster's scheduler has finished so far."""
    prefix = cluster.scheduler.task_prefixes.get("run_replicate")
    return 0 if prefix is None else prefix.state_counts["memory"]


def _same_folders(a: Path, b: Path) -> None:
    for name in TABLES:
        for ext in ("csv", "parquet"):
            assert (a / f"{name}.{ext}").read_bytes() == (b / f"{name}.{ext}").read_bytes(), f"{name}.{ext}"
        for k in range(REPLICATES):
            f = f"replicates/{name}-{k:05d}.parquet"
            assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_dask_cluster_gives_the_local_tables_replicate_for_replicate(tiny, cluster, local, tmp_path):
    ref, ref_out = local
    before = _ran_on(cluster)
    out = tmp_path / "dask"
    ens = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, out=out, progress=False,
                       dask=cluster.scheduler_address)
    assert _ran_on(cluster) - before == REPLICATES
    _same_folders(out, ref_out)
    # In memory too (no results folder).
    mem = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, progress=False, dask=cluster.scheduler_address)
    for name in TABLES:
        pd.testing.assert_frame_equal(mem.tables[name], ref.tables[name])
        pd.testing.assert_frame_equal(ens.tables[name], ref.tables[name])
        for k in range(REPLICATES):
            a = mem.tables[name][mem.tables[name].replicate == k]
            b = ref.tables[name][ref.tables[name].replicate == k]
            assert a.to_csv(index=False) == b.to_csv(index=False), (name, k)


def test_a_killed_dask_worker_does_not_change_the_results(tiny, cluster, local, tmp_path, monkeypatch, counters):
    _, ref_out = local
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", functools.partial(die_once_on_dask, str(marks)))
    out = tmp_path / "dask"
    run_ensemble(tiny, seed=SEED, replicates=REPLICATES, out=out, progress=False, dask=cluster.scheduler_address)
    assert (marks / "died").exists(), "the worker was not killed"
    counters["faults_injected"] += 1
    _same_folders(out, ref_out)


def test_two_local_workers_stream_the_same_bytes_as_one(tiny, local, tmp_path):
    _, ref_out = local
    out = tmp_path / "two"
    run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=2, out=out, progress=False)
    _same_folders(out, ref_out)


def test_dask_address_comes_from_the_option_then_the_environment(monkeypatch):
    monkeypatch.delenv(DASK_ENV, raising=False)
    assert dask_address() is None
    assert dask_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    monkeypatch.setenv(DASK_ENV, "tcp://127.0.0.1:9999")
    assert dask_address() == "tcp://127.0.0.1:9999"
    assert dask_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"  # the option wins
    monkeypatch.setenv(DASK_ENV, "")
    assert dask_address() is None


def test_cli_run_uses_the_cluster_named_in_the_environment(cluster, local, tmp_path):
    _, ref_out = local
    copy_sanming(tmp_path)
    path = write(tmp_path, "small.toml",
                 '[scenario]\nextends = "sanming.toml"\nname = "small"\npopulation_scale = 0.05\n')
    before = _ran_on(cluster)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--seed", str(SEED),
                                 "--replicates", str(REPLICATES)],
                           env={DASK_ENV: cluster.scheduler_address})
    assert result.exit_code == 0, result.output
    assert _ran_on(cluster) - before == REPLICATES  # the replicates ran on the cluster
    _same_folders(out, ref_out)


def test_config_file_sets_the_dask_address_and_is_checked(tmp_path, monkeypatch):
    from sim.inputs.errors import InputError
    from sim.execution.executors import CONFIG_ENV, DASK_ENV, dask_address

    monkeypatch.delenv(DASK_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert dask_address() is None
    config = tmp_path / "cluster.toml"
    config.write_text('[execution]\ndask = "tcp://127.0.0.1:8786"\n')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert dask_address() == "tcp://127.0.0.1:8786"
    assert dask_address("tcp://other:1") == "tcp://other:1"  # the command line wins
    monkeypatch.setenv(DASK_ENV, "tcp://env:2")
    assert dask_address() == "tcp://env:2"  # then the environment
    monkeypatch.delenv(DASK_ENV)
    config.write_text('[execution]\ndaks = "tcp://127.0.0.1:8786"\n')
    with pytest.raises(InputError) as err:
        dask_address()
    assert str(config) in str(err.value) and "execution.daks" in str(err.value)


def test_bad_or_missing_config_is_refused_and_local_overrides_it(tmp_path, monkeypatch):
    from sim.inputs.errors import InputError
    from sim.execution.executors import CONFIG_ENV, DASK_ENV, dask_address

    monkeypatch.delenv(DASK_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    config = tmp_path / "cluster.toml"
    config.write_text('execution = "tcp://x:1"\n')
    monkeypatch.setenv(CONFIG_ENV, str(config))
    with pytest.raises(InputError) as err:
        dask_address()
    assert err.value.key == "execution"
    config.write_text('[execution]\ndask = "tcp://127.0.0.1:9"\n')
    assert dask_address("local") is None  # --dask local wins over the config file
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(InputError):
        dask_address()


def test_unreachable_scheduler_is_one_error(tmp_path, sanming, monkeypatch):
    import sim.execution.executors
    from sim.execution.ensemble import run_ensemble
    from sim.execution.errors import EnsembleError

    monkeypatch.setattr(sim.execution.executors, "CONNECT_TIMEOUT", "2s")

    small = sanming.with_changes({"scenario": {"population_scale": 0.02}})
    with pytest.raises(EnsembleError) as err:
        run_ensemble(small, replicates=2, dask="tcp://127.0.0.1:9", progress=False)
    assert "127.0.0.1:9" in str(err.value) and "--dask local" in str(err.value)
