"""Ensembles: results independent of the number of workers, resumable, seeds per replicate."""

from __future__ import annotations

import pandas as pd
import pytest

import sim.execution.ensemble
from sim.execution.ensemble import TABLES, plan_targets, run_ensemble
from sim.model import TuopinModel
from sim.execution.output import table_bytes_csv
from sim.core.streams import replicate_seeds
from sim.inputs.errors import InputError


@pytest.fixture(scope="module")
def serial(tiny):
    return run_ensemble(tiny, seed=5, replicates=3, workers=1, progress=False)


def _same(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
        assert table_bytes_csv(a.tables[name]) == table_bytes_csv(b.tables[name]), name


def test_tables_hold_every_replicate_in_order(serial):
    assert serial.seeds == replicate_seeds(5, 3)
    for name in TABLES:
        df = serial.tables[name]
        assert list(df.columns[:2]) == ["replicate", "seed"]
        assert df.replicate.is_monotonic_increasing
        assert sorted(df.replicate.unique()) == [0, 1, 2]
        assert {int(s) for s in df.seed.unique()} == set(serial.seeds)
    # Replicates differ (each has its own seed).
    y = serial.yearly[serial.yearly.county == "ALL"]
    assert y.groupby("replicate").exits_persons.sum().nunique() > 1


def test_replicate_equals_a_single_run_with_its_seed(serial, tiny):
    one = TuopinModel(tiny, seed=serial.seeds[1]).run().results.yearly
    rep = serial.yearly[serial.yearly.replicate == 1].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rep, one)


def test_two_workers_give_identical_tables(serial, tiny):
    parallel = run_ensemble(tiny, seed=5, replicates=3, workers=2, progress=False)
    _same(serial, parallel)


def test_replicate_seeds_do_not_depend_on_the_number_of_replicates(serial, tiny):
    two = run_ensemble(tiny, seed=5, replicates=2, workers=1, progress=False)
    assert two.seeds == serial.seeds[:2]
    for name in TABLES:
        first_two = serial.tables[name][serial.tables[name].replicate < 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(two.tables[name], first_two)


def test_resume_runs_only_what_is_missing_and_gives_the_same_tables(serial, tiny, tmp_path, monkeypatch):
    out = tmp_path / "res"
    first = run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    _same(serial, first)
    rep = out / "replicates"
    files = sorted(p.name for p in rep.glob("*.parquet"))
    assert files == sorted(f"{t}-{k:05d}.parquet" for t in TABLES for k in range(3))
    assert sorted(p.name for p in rep.glob("replicate-*.json")) == [f"replicate-{k:05d}.json" for k in range(3)]
    (rep / "pathways-00001.parquet").unlink()

    ran = []
    original = sim.execution.ensemble.run_replicate

    def counting(scenario, seed, replicate):
        ran.append(replicate)
        return original(scenario, seed, replicate)

    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", counting)
    again = run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    assert ran == [1]
    _same(serial, again)
    # Nothing missing: nothing runs.
    ran.clear()
    run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    assert ran == []
    # More replicates: only the new ones run.
    more = run_ensemble(tiny, seed=5, replicates=4, workers=1, out=out, progress=False)
    assert ran == [3]
    assert more.seeds[:3] == serial.seeds


def test_resume_ignores_replicates_of_another_scenario_or_seed(tiny, tmp_path, monkeypatch):
    out = tmp_path / "res"
    run_ensemble(tiny, seed=5, replicates=2, workers=1, out=out, progress=False)
    ran = []
    original = sim.execution.ensemble.run_replicate
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate",
                        lambda s, seed, k: ran.append(k) or original(s, seed, k))
    other = tiny.with_changes({"budgets": {"industry": 1.0}})
    fresh = run_ensemble(other, seed=5, replicates=2, workers=1, out=out, progress=False)
    assert ran == [0, 1]
    direct = run_ensemble(other, seed=5, replicates=2, workers=1, progress=False)
    _same(fresh, direct)
    ran.clear()
    run_ensemble(other, seed=6, replicates=2, workers=1, out=out, progress=False)
    assert ran == [0, 1]
    ran.clear()
    changed = other.with_changes({"parameters": {"shocks.illness_rate": 0.0077}})
    run_ensemble(changed, seed=6, replicates=2, workers=1, out=out, progress=False)
    assert ran == [0, 1]


def test_summary_has_intervals_and_the_plan_targets(serial, tiny):
    s = serial.summary()
    assert list(s.year) == list(range(2015, 2021))
    for col in ("poor_persons_end_mean", "poor_persons_end_p05", "poor_persons_end_p95", "target_poor_persons_end"):
        assert col in s.columns
    assert (s.poor_persons_end_p05 <= s.poor_persons_end_mean + 1e-9).all()
    assert (s.poor_persons_end_mean <= s.poor_persons_end_p95 + 1e-9).all()
    # 001 attachment table: 82,143 at the end of 2014, less 25,000 / 24,000 / 24,000 / 9,143.
    t = s.set_index("year").target_poor_persons_end
    assert t[2015] == 57143 and t[2016] == 33143 and t[2017] == 9143 and t[2018] == 0
    assert t[2020] == 0
    meilie = plan_targets(tiny, "Meilie")
    assert meilie[2015] == 327 - 100 and meilie[2018] == 0


# Arguments from Python that used to fail deep inside ("No objects to concatenate", and six 0-byte
# tables with out=), run with the wrong meaning (workers=0 as 1, True as 1) or without a limit.
BAD_ARGUMENTS = {
    "no replicates": ({"replicates": 0}, "replicates"),
    "negative replicates": ({"replicates": -3}, "replicates"),
    "replicates=True": ({"replicates": True}, "replicates"),
    "fractional replicates": ({"replicates": 2.0}, "replicates"),
    "too many replicates": ({"replicates": 100_001}, "replicates"),
    "negative seed": ({"seed": -1}, "seed"),
    "seed of 2**63": ({"seed": 2**63}, "seed"),
    "seed=True": ({"seed": True}, "seed"),
    "no workers": ({"workers": 0}, "workers"),
    "workers=True": ({"workers": True}, "workers"),
    "malformed Dask address": ({"dask": "scheduler"}, "dask"),
}


@pytest.mark.parametrize("case", list(BAD_ARGUMENTS))
def test_a_bad_argument_from_python_is_an_input_error_and_writes_nothing(case, tiny, tmp_path, counters):
    from sim.app.runs import run_scenario

    kwargs, key = BAD_ARGUMENTS[case]
    counters["fuzzed_inputs"] += 1
    for function in (run_ensemble, run_scenario):
        out = tmp_path / function.__name__
        with pytest.raises(InputError) as exc:
            function(tiny, out=out, progress=False, **kwargs)
        assert exc.value.file == function.__name__ and exc.value.key == key, str(exc.value)
        assert exc.value.value == next(iter(kwargs.values()))
        assert not out.exists()


def test_numpy_integers_are_good_arguments(tiny):
    import numpy as np

    ens = run_ensemble(tiny, seed=np.uint64(5), replicates=np.int64(2), workers=np.int32(1), progress=False)
    assert ens.root_seed == 5 and ens.seeds == replicate_seeds(5, 2)


# --- what a replicate on disk must carry to be reused ----------------------------------------------

def _ran(monkeypatch) -> list[int]:
    ran: list[int] = []
    original = sim.execution.ensemble.run_replicate
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate",
                        lambda s, seed, k: ran.append(k) or original(s, seed, k))
    return ran


def test_a_replicate_record_says_what_made_it_and_holds_its_tables_checksums(tiny, tmp_path):
    import json

    from sim.execution.ensemble import parameters_digest
    from sim.execution.output import RESULT_PACKAGES, code_digest, sha256, versions

    out = tmp_path / "res"
    ens = run_ensemble(tiny, seed=5, replicates=2, workers=1, out=out, progress=False)
    installed = versions()
    for k in range(2):
        record = json.loads((out / "replicates" / f"replicate-{k:05d}.json").read_text())
        assert record["fingerprint"] == {
            "scenario_digest": tiny.spec.digest(), "parameter_set_id": parameters_digest(tiny),
            "replicate": k, "seed": ens.seeds[k], "code_digest": code_digest(),
            "versions": {name: installed[name] for name in RESULT_PACKAGES}}
        assert record["files"] == {f"{t}-{k:05d}.parquet": sha256(out / "replicates" / f"{t}-{k:05d}.parquet")
                                   for t in TABLES}


def test_another_scenarios_replicates_are_not_reused_even_without_a_state_file(tiny, tmp_path, monkeypatch):
    """Nothing outside a replicate's own record decides whether it is reused: with the folder's
    state file gone, another scenario's replicates used to be taken for this one's."""
    out = tmp_path / "res"
    run_ensemble(tiny, seed=5, replicates=2, workers=1, out=out, progress=False)
    (out / "replicates" / "state.json").unlink(missing_ok=True)
    other = tiny.with_changes({"budgets": {"industry": 1.0}})
    ran = _ran(monkeypatch)
    ens = run_ensemble(other, seed=5, replicates=2, workers=1, out=out, progress=False)
    assert ran == [0, 1] and ens.reused == 0 and ens.replaced == 2
    _same(ens, run_ensemble(other, seed=5, replicates=2, workers=1, progress=False))
    assert '"scenario_digest": "' + other.spec.digest() in (out / "manifest.json").read_text()


@pytest.mark.parametrize("change", ["code", "numpy version"])
def test_replicates_made_by_other_code_or_package_versions_are_run_again(change, serial, tiny, tmp_path, monkeypatch):
    import sim.execution.output

    out = tmp_path / "res"
    run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    if change == "code":
        monkeypatch.setattr(sim.execution.ensemble, "code_digest", lambda: "an edited checkout")
    else:
        real = sim.execution.output.result_versions
        monkeypatch.setattr(sim.execution.ensemble, "result_versions", lambda: {**real(), "numpy": "1.0.0"})
    ran = _ran(monkeypatch)
    again = run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    assert ran == [0, 1, 2] and again.reused == 0
    _same(serial, again)
    ran.clear()
    assert run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False).reused == 3
    assert ran == []


def test_the_ensemble_says_how_many_replicates_it_reused(tiny, tmp_path, monkeypatch):
    out = tmp_path / "res"
    first = run_ensemble(tiny, seed=5, replicates=3, workers=1, out=out, progress=False)
    assert (first.reused, first.replaced) == (0, 0)
    (out / "replicates" / "spending-00001.parquet").write_bytes(b"")
    ran = _ran(monkeypatch)
    again = run_ensemble(tiny, seed=5, replicates=4, workers=1, out=out, progress=False)
    assert ran == [1, 3] and (again.reused, again.replaced) == (2, 1)


def test_the_code_digest_changes_with_any_edit_to_the_package(tmp_path):
    import shutil

    from sim.execution.output import PACKAGE, code_digest

    copy = tmp_path / "sim"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    digest = code_digest.__wrapped__  # uncached: the copy changes under the same path
    first = digest(copy)
    assert first == digest(copy) == code_digest()  # same files, same digest, wherever they are
    path = copy / "core" / "income.py"
    path.write_text(path.read_text() + "\n# an edit\n")
    assert digest(copy) != first
    path = copy / "inputs" / "parameters" / "shocks.toml"
    path.write_text(path.read_text().replace("0.", "0.0", 1))
    assert len({first, digest(copy)}) == 2


def test_a_reader_of_an_ensemble_reads_its_own_run_even_after_another_publishes(tiny, tmp_path):
    out = tmp_path / "res"
    first = run_ensemble(tiny, seed=5, replicates=2, workers=1, out=out, progress=False)
    second = run_ensemble(tiny, seed=6, replicates=2, workers=1, out=out, progress=False)
    assert set(first.yearly.seed) == set(first.seeds) and set(second.yearly.seed) == set(second.seeds)
    assert not set(first.seeds) & set(second.seeds)
