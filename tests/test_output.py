"""Writing results: whole files or none, and a manifest whose checksums match the files."""

from __future__ import annotations

import io
import json
import os
import stat

import pandas as pd
import pytest

from sim.execution.errors import OutputError
from sim.execution.output import (MANIFEST, atomic_write, sha256, table_bytes_csv, table_bytes_parquet, write_bytes,
                        write_table)
from sim.core.streams import replicate_seeds
from sim.app.runs import run_scenario


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_atomic_write_writes_the_whole_file(tmp_path):
    path = tmp_path / "sub" / "a.bin"
    write_bytes(path, b"hello")
    assert path.read_bytes() == b"hello"
    write_bytes(path, b"bye")
    assert path.read_bytes() == b"bye"
    assert _leftovers(path.parent) == []


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"old,whole\n")

    def broken(fh: io.BufferedWriter):
        fh.write(b"new,part")
        raise ValueError("writer failed")

    with pytest.raises(ValueError, match="writer failed"):
        atomic_write(path, broken)
    assert path.read_bytes() == b"old,whole\n"
    assert _leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_interrupted_write_of_a_new_file_leaves_nothing(tmp_path):
    def interrupted(fh):
        fh.write(b"x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_os_error_while_writing_is_an_output_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"old")

    def full(fh):
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError) as exc:
        atomic_write(path, full)
    assert str(path) in str(exc.value) and "No space left" in str(exc.value)
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_unwritable_folder_is_an_output_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError) as exc:
        write_bytes(tmp_path / "file" / "a.csv", b"x")
    assert str(tmp_path / "file") in str(exc.value)


def test_written_files_get_the_usual_permissions(tmp_path):
    """A results file is readable like any other file the user writes (mode 0666 less the
    umask), not private to its owner as a temporary file is."""
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "a.csv"
    write_bytes(path, b"x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_csv_bytes_are_deterministic_and_round_trip():
    df = pd.DataFrame({"year": [2015, 2016], "county": ["ALL", "Sha"], "x": [1 / 3, 2.5e9], "n": [1, 2]})
    a, b = table_bytes_csv(df), table_bytes_csv(df.copy())
    assert a == b
    assert b"\r" not in a and a.endswith(b"\n")
    assert a.splitlines()[0] == b"year,county,x,n"
    back = pd.read_csv(io.BytesIO(a))
    assert back.x.tolist() == pytest.approx(df.x.tolist(), rel=1e-9)


def test_write_table_writes_csv_and_parquet(tmp_path):
    df = pd.DataFrame({"year": [2015, 2016], "county": ["ALL", "Sha"], "x": [0.5, 1.5]})
    paths = write_table(tmp_path, "t", df)
    assert [p.name for p in paths] == ["t.csv", "t.parquet"]
    assert paths[0].read_bytes() == table_bytes_csv(df)
    pd.testing.assert_frame_equal(pd.read_parquet(paths[1]), df)
    assert table_bytes_parquet(df) == table_bytes_parquet(df)


@pytest.fixture(scope="module")
def results_folder(tmp_path_factory, tiny):
    out = tmp_path_factory.mktemp("run") / "out"
    ens, manifest = run_scenario(tiny, seed=3, replicates=2, workers=1, out=out, plots=True, progress=False)
    return ens, manifest, out


def test_manifest_checksums_match_the_files(results_folder):
    ens, manifest, out = results_folder
    assert manifest == out / MANIFEST
    info = json.loads(manifest.read_text())
    outputs = info["outputs"]
    for name in ("yearly", "pathways", "spending", "summary"):
        assert f"{name}.csv" in outputs and f"{name}.parquet" in outputs
    assert any(k.endswith(".png") for k in outputs)
    for rel, digest in outputs.items():
        assert sha256(out / rel) == digest, rel
    # Every table on disk is the ensemble's.
    for name in ("yearly", "pathways", "spending"):
        assert (out / f"{name}.csv").read_bytes() == table_bytes_csv(ens.tables[name])
    assert info["root_seed"] == 3 and info["replicate_seeds"] == replicate_seeds(3, 2)
    assert info["scenario_digest"] == ens.scenario.spec.digest()
    assert info["replicates"] == 2
    assert "numpy" in info["versions"] and "tuopin" in info["versions"]
    assert info["parameters"]["shocks.illness_rate"] == ens.scenario.params.value("shocks.illness_rate")
    assert _leftovers(out) == []


def test_same_run_again_gives_the_same_bytes(results_folder, tiny, tmp_path):
    _, manifest, _ = results_folder
    _, again = run_scenario(tiny, seed=3, replicates=2, workers=1, out=tmp_path / "again", plots=False,
                            progress=False)
    first = json.loads(manifest.read_text())["outputs"]
    second = json.loads(again.read_text())["outputs"]
    for rel in second:
        assert first[rel] == second[rel], rel


def test_an_ensemble_reads_its_tables_from_its_own_set_and_checks_them(tiny, tmp_path, counters):
    from sim.execution.ensemble import run_ensemble

    out = tmp_path / "out"
    ens = run_ensemble(tiny, seed=3, replicates=2, workers=1, out=out, progress=False)
    assert ens.out == out and ens.files.parent.name == ".sets"
    assert (out / "yearly.parquet").resolve() == (ens.files / "yearly.parquet").resolve()
    assert list(ens.pathways.replicate.unique()) == [0, 1]  # read and checked: as published
    with open(out / "yearly.parquet", "ab") as fh:  # through the folder's link: the set's own file
        fh.write(b"\0")
    counters["faults_injected"] += 1
    with pytest.raises(OutputError) as exc:
        ens.yearly
    assert str(exc.value) == (f"{ens.files / 'yearly.parquet'}: altered since the run "
                              "(its SHA-256 is not the one its manifest records)")
