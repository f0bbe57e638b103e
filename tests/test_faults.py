"""Faults: a worker process or the main process killed mid-ensemble, an output folder that cannot
be written, a full disk, interrupted writes, a run too large for memory, a failure or a kill while
the final files are written, damaged or foreign replicates on resume, and two runs writing one
folder at once.

Each fault is injected for real (SIGKILL, ENOSPC from the file object, a path under a regular
file, which refuses even root) and counted in the session's ``faults_injected``.

Replicates run in worker processes started by forkserver, which do not see a monkeypatch made
here; ``run_replicate`` is replaced instead by a ``functools.partial`` of a module-level function
of this file, which pickles by reference and is imported by the workers (they get this process's
``sys.path``). The partial carries the folder where the workers leave their marks, so a worker can
die only once, or every time, and the test can count the deaths.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import signal
import subprocess
import sys
import shutil
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import sim.execution.ensemble
import sim.execution.output
from helpers import copy_sanming, kill_self_once, write
from sim.app.cli import app
from sim.execution.ensemble import RETRIES, TABLES, EnsembleError, run_ensemble
from sim.execution.ensemble import run_replicate as _run_replicate
from sim.inputs.errors import InputError
from sim.execution.errors import OutputError
from sim.execution.output import MANIFEST, atomic_write, sha256, table_bytes_csv, write_bytes, write_table
from sim.app.runs import (BYTES_PER_HOUSEHOLD, estimated_bytes, estimated_households, estimated_villages,
                          run_scenario)

runner = CliRunner()
SEED = 17
REPLICATES = 4
VICTIM = 1  # the replicate whose worker is killed once
# The replicate whose worker dies every time: the last one, so that whichever worker takes it has
# finished another replicate first, and every attempt saves something.
ALWAYS = REPLICATES - 1


# --- run in worker processes ------------------------------------------------------------------

def die_once(marks: str, scenario, seed, replicate):
    """``run_replicate``, except that the first attempt at the victim kills its own process."""
    if replicate == VICTIM:
        kill_self_once(marks, f"died-{replicate}")
    return _run_replicate(scenario, seed, replicate)


def die_always(marks: str, scenario, seed, replicate):
    """``run_replicate``, except that every attempt at ``ALWAYS`` kills its own process."""
    if replicate == ALWAYS:
        Path(marks, f"death-{os.getpid()}-{time.monotonic_ns()}").touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return _run_replicate(scenario, seed, replicate)


# --- helpers ----------------------------------------------------------------------------------

def _command() -> list[str]:
    exe = Path(sys.executable).parent / "tuopin"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "sim.cli"]


def _scaled_file(folder: Path, scale: float = 0.05) -> Path:
    """A copy of the shipped scenario (one file) at ``scale``."""
    path = copy_sanming(folder)
    text = path.read_text(encoding="utf-8")
    assert "population_scale = 1.0\n" in text
    path.write_text(text.replace("population_scale = 1.0\n", f"population_scale = {scale}\n"), encoding="utf-8")
    return path


def _checksums(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _temporaries(folder: Path) -> list[str]:
    return [str(p) for p in folder.rglob("*.tmp")]


def _complete(rep_dir: Path) -> set[int]:
    """Replicates with all their tables on disk, and the record written after them."""
    if not rep_dir.is_dir():
        return set()
    ks = {int(p.stem.split("-")[1]) for p in rep_dir.glob("yearly-*.parquet")}
    return {k for k in ks if all((rep_dir / f"{t}-{k:05d}.parquet").exists() for t in TABLES)
            and (rep_dir / f"replicate-{k:05d}.json").exists()}


def _published(out: Path) -> dict[str, str]:
    """The outputs of the set ``out`` shows, after checking that it is one run's whole set:
    exactly the files its manifest lists, each with the checksum listed there."""
    outputs = json.loads((out / MANIFEST).read_text())["outputs"]
    shown = {p.name for p in out.iterdir() if p.is_file() and p.name not in (MANIFEST, ".lock")}
    assert shown == set(outputs), f"files not of the manifest's run: {sorted(shown ^ set(outputs))}"
    for name, digest in outputs.items():
        assert sha256(out / name) == digest, f"{name} is not the manifest's"
    return outputs


def _same_files(a: Path, b: Path, names=TABLES) -> None:
    for name in names:
        for ext in ("csv", "parquet"):
            assert (a / f"{name}.{ext}").read_bytes() == (b / f"{name}.{ext}").read_bytes(), f"{name}.{ext}"


@pytest.fixture
def marks(tmp_path) -> Path:
    """Where a killed worker leaves its mark, so that it dies only as often as the test wants."""
    folder = tmp_path / "marks"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """The uninterrupted ensemble, streamed to a folder with one process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    ens = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    return ens, out


def _counting(monkeypatch) -> list[int]:
    """Replace run_replicate (in this process: workers=1) by one that records what runs."""
    ran: list[int] = []

    def counting(scenario, seed, replicate):
        ran.append(replicate)
        return _run_replicate(scenario, seed, replicate)

    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", counting)
    return ran


# --- 1. a worker process killed mid-ensemble ---------------------------------------------------

def test_worker_killed_once_is_replaced_and_tables_are_unchanged(marks, tiny, reference, tmp_path, monkeypatch, counters):
    _, ref_out = reference
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", functools.partial(die_once, str(marks)))
    out = tmp_path / "out"
    ens = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=2, out=out, progress=False)
    assert (marks / f"died-{VICTIM}").exists(), "the worker was not killed"
    counters["faults_injected"] += 1
    _same_files(out, ref_out)
    for k in range(REPLICATES):
        for name in TABLES:
            f = f"{name}-{k:05d}.parquet"
            assert (out / "replicates" / f).read_bytes() == (ref_out / "replicates" / f).read_bytes(), f
    for name in TABLES:
        pd.testing.assert_frame_equal(ens.tables[name], reference[0].tables[name])


def test_worker_that_always_dies_gives_an_ensemble_error_keeps_finished_replicates_and_resumes(marks, 
        tiny, reference, tmp_path, monkeypatch, counters):
    ref, ref_out = reference
    out = tmp_path / "out"
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", functools.partial(die_always, str(marks)))
    with pytest.raises(EnsembleError) as exc:
        run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=2, out=out, progress=False)
    deaths = list(marks.iterdir())
    counters["faults_injected"] += len(deaths)
    # Bounded: the first attempt and RETRIES replacements of the pool, then a clear error.
    assert len(deaths) == RETRIES + 1
    msg = str(exc.value)
    assert f"died {RETRIES + 1} time(s)" in msg and "run the same command again to resume" in msg
    assert "BrokenProcessPool" not in msg
    # What finished is on disk, whole and right; the victim is not; no final tables yet.
    rep = out / "replicates"
    done = _complete(rep)
    assert ALWAYS not in done
    assert done, "no replicate finished before the pool broke"
    assert not (out / "yearly.csv").exists()
    assert _temporaries(out) == []
    for k in done:
        for name in TABLES:
            got = pd.read_parquet(rep / f"{name}-{k:05d}.parquet")
            want = ref.tables[name][ref.tables[name].replicate == k].reset_index(drop=True)
            pd.testing.assert_frame_equal(got, want)
    # The same command again (the fault gone) runs only what is missing.
    monkeypatch.undo()
    ran = _counting(monkeypatch)
    run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    assert sorted(ran) == sorted(set(range(REPLICATES)) - done)
    _same_files(out, ref_out)


def test_cli_reports_a_worker_that_keeps_dying_in_one_line_with_exit_4(marks, small_file, tmp_path, monkeypatch, counters):
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", functools.partial(die_always, str(marks)))
    monkeypatch.setattr(sim.execution.ensemble, "RETRIES", 0)  # one pool, no replacement: quicker, same path
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(small_file), "--out", str(out), "--no-plots", "--workers", "2",
                                 "--replicates", str(REPLICATES)])
    counters["faults_injected"] += len(list(marks.iterdir()))
    assert len(list(marks.iterdir())) == 1
    assert result.exit_code == 4, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: a worker process died 1 time(s)") and "resume" in lines[0], lines[0]
    assert _complete(out / "replicates") and not (out / MANIFEST).exists()


def test_worker_death_on_a_supplied_executor_is_an_ensemble_error_and_a_rerun_resumes(marks, 
        tiny, reference, tmp_path, monkeypatch, counters):
    """A pool passed in by the caller cannot be replaced: its broken state is reported at once."""
    _, ref_out = reference
    out = tmp_path / "out"
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", functools.partial(die_once, str(marks)))
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("forkserver")) as pool:
        with pytest.raises(EnsembleError) as exc:
            run_ensemble(tiny, seed=SEED, replicates=REPLICATES, out=out, progress=False, executor=pool)
    assert (marks / f"died-{VICTIM}").exists()
    counters["faults_injected"] += 1
    assert "died 1 time(s)" in str(exc.value)
    assert VICTIM not in _complete(out / "replicates")
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("forkserver")) as pool:
        run_ensemble(tiny, seed=SEED, replicates=REPLICATES, out=out, progress=False, executor=pool)
    _same_files(out, ref_out)


# --- 2. the main process killed mid-ensemble ---------------------------------------------------

def test_main_process_killed_mid_ensemble_resumes_to_identical_files(tmp_path, counters):
    scenario = _scaled_file(tmp_path / "scenario")

    def command(out: Path) -> list[str]:
        return _command() + ["run", str(scenario), "--replicates", "8", "--workers", "1", "--out", str(out),
                             "--no-plots"]

    # Kill it as soon as two replicates are on disk; should it finish first, try again elsewhere.
    for attempt in range(4):
        out = tmp_path / f"killed-{attempt}"
        rep = out / "replicates"
        proc = subprocess.Popen(command(out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if rep.is_dir() and len(list(rep.glob("replicate-*.json"))) >= 2:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.returncode == -signal.SIGKILL and not (out / MANIFEST).exists():
            break
    else:
        pytest.fail("the run always finished before it could be killed")
    counters["faults_injected"] += 1
    done = _complete(rep)
    assert 2 <= len(done) < 8, done
    kept = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for k in done for p in rep.glob(f"*-{k:05d}.parquet")}

    # The same command again, and an uninterrupted run elsewhere (side by side: two cores).
    ref = tmp_path / "uninterrupted"
    again = subprocess.Popen(command(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    clean = subprocess.Popen(command(ref), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    for p in (again, clean):
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()[-2000:]
    _same_files(out, ref)
    # Resumed, not redone: the replicates finished before the kill were not written again.
    for name, ident in kept.items():
        p = rep / name
        assert (p.stat().st_ino, p.stat().st_mtime_ns) == ident, name


# --- 3. an output folder that cannot be written -------------------------------------------------

@pytest.fixture(scope="module")
def earlier(tiny, tmp_path_factory):
    """Results of an earlier run, in their own folder."""
    out = tmp_path_factory.mktemp("earlier") / "results"
    run_scenario(tiny, seed=3, replicates=2, workers=1, out=out, plots=False, progress=False)
    return out, _checksums(out)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    return _scaled_file(tmp_path_factory.mktemp("scenario"))


def _under_a_file(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "afile").write_text("a regular file, not a folder")
    out = tmp_path / "afile" / "sub"
    return out, out


def _replicates_is_a_file(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    out.mkdir()
    (out / "replicates").write_text("in the way")
    return out, out / "replicates"


def _table_name_is_a_folder(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "out"
    (out / "yearly.csv").mkdir(parents=True)
    return out, out / "yearly.csv"


UNWRITABLE = {"under a regular file": _under_a_file, "replicates is a file": _replicates_is_a_file,
              "yearly.csv is a folder": _table_name_is_a_folder}


@pytest.mark.parametrize("case", list(UNWRITABLE))
def test_unwritable_output_exits_3_with_one_line_and_earlier_results_intact(case, small_file, earlier, tmp_path,
                                                                            counters):
    earlier_out, before = earlier
    out, named = UNWRITABLE[case](tmp_path)
    counters["faults_injected"] += 1
    result = runner.invoke(app, ["run", str(small_file), "--out", str(out), "--no-plots", "--workers", "1"])
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(named) in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert _checksums(earlier_out) == before
    if out.is_dir():
        assert _temporaries(out) == []


def test_unwritable_output_folder_from_the_shell_has_no_traceback(small_file, earlier, tmp_path, counters):
    earlier_out, before = earlier
    out, _ = _under_a_file(tmp_path)
    counters["faults_injected"] += 1
    proc = subprocess.run(_command() + ["run", str(small_file), "--out", str(out), "--no-plots"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(out) in lines[0], proc.stderr
    assert (tmp_path / "afile").read_text().startswith("a regular file")
    assert _checksums(earlier_out) == before


# --- 4. a full disk ---------------------------------------------------------------------------

class _Proxy:
    """A module stand-in: every attribute is the module's, except those set on the proxy."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)


class _FullFile:
    """A binary file object on a disk with ``room`` bytes left: a write beyond them writes what fits
    and raises ENOSPC, as a real full disk does."""

    def __init__(self, fh, disk: "_FullDisk"):
        self._fh = fh
        self._disk = disk

    def write(self, data) -> int:
        data = bytes(data)
        left = self._disk.room - self._disk.used
        if len(data) > left:
            self._fh.write(data[:max(left, 0)])
            self._disk.used += max(left, 0)
            self._disk.hits += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk.used += len(data)
        return self._fh.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()
        return False

    def __getattr__(self, name):
        return getattr(self._fh, name)


class _FullDisk:
    """Makes ``sim.output``'s writes of files whose name is in ``victims`` fail with ENOSPC after
    ``room`` bytes (all other files are written normally)."""

    def __init__(self, monkeypatch, victims: set[str], room: int):
        self.victims, self.room, self.used, self.hits = victims, room, 0, 0
        self._names: dict[int, str] = {}
        fake_tempfile, fake_os = _Proxy(tempfile), _Proxy(os)
        fake_tempfile.mkstemp = self._mkstemp
        fake_os.fdopen = self._fdopen
        monkeypatch.setattr(sim.execution.output, "tempfile", fake_tempfile)
        monkeypatch.setattr(sim.execution.output, "os", fake_os)

    def _mkstemp(self, *args, **kwargs):
        fd, name = tempfile.mkstemp(*args, **kwargs)
        self._names[fd] = os.path.basename(name)
        return fd, name

    def _fdopen(self, fd, *args, **kwargs):
        fh = os.fdopen(fd, *args, **kwargs)
        name = self._names.pop(fd, "")
        if any(name.startswith(f".{v}.") for v in self.victims):
            return _FullFile(fh, self)
        return fh


def test_full_disk_while_writing_a_table_keeps_the_old_file(tmp_path, monkeypatch, counters):
    old = pd.DataFrame({"year": range(2015, 2021), "x": [0.5] * 6})
    write_table(tmp_path, "t", old)
    before = _checksums(tmp_path)
    disk = _FullDisk(monkeypatch, {"t.csv"}, room=20)
    new = pd.DataFrame({"year": range(2000, 2100), "x": [1.5] * 100})
    with pytest.raises(OutputError) as exc:
        write_table(tmp_path, "t", new)
    assert disk.hits == 1
    counters["faults_injected"] += 1
    msg = str(exc.value)
    assert str(tmp_path / "t.csv") in msg and os.strerror(errno.ENOSPC) in msg
    assert _checksums(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parquet"]


def test_full_disk_during_a_run_keeps_earlier_results_and_a_rerun_finishes(tiny, tmp_path, monkeypatch, counters):
    out = tmp_path / "out"
    run_scenario(tiny, seed=3, replicates=2, workers=1, out=out, plots=False, progress=False)
    manifest_before = (out / MANIFEST).read_bytes()
    recorded = json.loads(manifest_before)["outputs"]
    # Another run into the same folder; the disk fills while the yearly table is assembled.
    disk = _FullDisk(monkeypatch, {"yearly.csv"}, room=4096)
    with pytest.raises(OutputError) as exc:
        run_scenario(tiny, seed=4, replicates=2, workers=1, out=out, plots=False, progress=False, replace=True)
    assert disk.hits == 1
    counters["faults_injected"] += 1
    assert str(out / "yearly.csv") in str(exc.value)
    assert _temporaries(out) == []
    # The earlier results are as they were (the manifest and every file it lists).
    assert (out / MANIFEST).read_bytes() == manifest_before
    for rel, digest in recorded.items():
        assert sha256(out / rel) == digest, rel
    # Space freed: the same run again reuses its replicates and finishes.
    monkeypatch.undo()
    ran = _counting(monkeypatch)
    ens, _ = run_scenario(tiny, seed=4, replicates=2, workers=1, out=out, plots=False, progress=False, replace=True)
    assert ran == []
    direct = run_ensemble(tiny, seed=4, replicates=2, workers=1, progress=False)
    for name in TABLES:
        assert (out / f"{name}.csv").read_bytes() == table_bytes_csv(direct.tables[name]), name


def test_full_disk_while_streaming_replicates_keeps_the_finished_ones(tiny, reference, tmp_path, monkeypatch,
                                                                     counters):
    _, ref_out = reference
    out = tmp_path / "out"
    disk = _FullDisk(monkeypatch, {f"pathways-{2:05d}.parquet"}, room=100)
    with pytest.raises(OutputError) as exc:
        run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    assert disk.hits == 1
    counters["faults_injected"] += 1
    assert "pathways-00002.parquet" in str(exc.value)
    assert _complete(out / "replicates") == {0, 1}
    assert _temporaries(out) == []
    monkeypatch.undo()
    ran = _counting(monkeypatch)
    run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    assert ran == [2, 3]
    _same_files(out, ref_out)


# --- 5. atomic writes -------------------------------------------------------------------------

@settings(max_examples=25)
@given(old=st.binary(max_size=2000), new=st.binary(min_size=1, max_size=5000), cut=st.floats(0, 1),
       error=st.sampled_from([OSError(errno.EIO, "I/O error"), OSError(errno.ENOSPC, "No space left on device"),
                              ValueError("bad value"), KeyboardInterrupt()]))
def test_a_writer_failing_midway_leaves_the_previous_content(tmp_path_factory, counters, old, new, cut, error):
    folder = tmp_path_factory.mktemp("atomic")
    path = folder / "result.csv"
    path.write_bytes(old)

    def failing(fh):
        at = int(len(new) * cut)
        fh.write(new[:at])
        fh.flush()
        raise error

    counters["faults_injected"] += 1
    expected = OutputError if isinstance(error, OSError) else type(error)
    with pytest.raises(expected):
        atomic_write(path, failing)
    assert path.read_bytes() == old
    assert [p.name for p in folder.iterdir()] == ["result.csv"]


def test_readers_only_ever_see_whole_files(tmp_path):
    path = tmp_path / "yearly.csv"
    contents = [bytes([ord("a") + i]) * (1 << 20) for i in range(3)]
    write_bytes(path, contents[0])
    stop = threading.Event()
    seen: list[bytes] = []

    def reader():
        while not stop.is_set():
            data = path.read_bytes()
            if data not in contents:
                seen.append(data[:20] + b"..." + str(len(data)).encode())

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(30):
            write_bytes(path, contents[i % 3])
    finally:
        stop.set()
        t.join()
    assert not seen, f"a reader saw a partial file: {seen[:3]}"


def test_writer_process_killed_midway_leaves_the_previous_file(tmp_path, counters):
    path = tmp_path / "yearly.csv"
    old = b"year,county,poor\n2015,ALL,1\n"
    path.write_bytes(old)
    code = textwrap.dedent("""
        import sys, time
        from sim.execution.output import atomic_write

        def slow(fh):
            for _ in range(100_000):
                fh.write(b"2016,ALL,2\\n" * 100)
                fh.flush()
                time.sleep(0.001)

        atomic_write(sys.argv[1], slow)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            tmp = [p for p in tmp_path.glob(".yearly.csv.*.tmp") if p.stat().st_size > 10_000]
            if tmp:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the writer ended before it could be killed"
    finally:
        proc.kill()
        proc.wait()
    counters["faults_injected"] += 1
    assert path.read_bytes() == old
    # The next write goes through whole.
    write_bytes(path, b"year\n2017\n")
    assert path.read_bytes() == b"year\n2017\n"


# --- 6. a run too large for memory --------------------------------------------------------------

def test_run_scenario_refuses_a_run_too_large_for_memory_up_front(tiny, tmp_path, monkeypatch, counters):
    households = estimated_households(tiny)
    one = estimated_bytes(tiny)
    assert one > households * BYTES_PER_HOUSEHOLD  # villages count too

    class Available:
        available = one + one // 2  # room for one worker's households, not for two

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Available())
    ran = _counting(monkeypatch)
    counters["faults_injected"] += 1
    out = tmp_path / "two-workers"
    with pytest.raises(InputError) as exc:
        run_scenario(tiny, seed=1, replicates=2, workers=2, out=out, plots=False, progress=False)
    err = exc.value
    assert err.file == str(tiny.path) and err.key == "population"
    msg = str(err)
    assert msg.startswith(f"{tiny.path}: population = ")
    assert f"{households:,} households" in msg and "GiB" in msg and "2 worker(s)" in msg
    assert ran == [] and not out.exists()  # refused before anything ran or was written
    # One worker fits.
    run_scenario(tiny, seed=1, replicates=2, workers=1, out=tmp_path / "one-worker", plots=False, progress=False)
    assert ran == [0, 1]


def test_memory_estimate_counts_the_villages(tiny):
    from sim.core.population import build_population

    _, villages, counties = build_population(tiny.spec, tiny.params, 1, 7)
    assert villages.n <= estimated_villages(tiny) <= villages.n + 2 * counties.n


def test_few_households_in_a_vast_number_of_villages_are_refused_up_front(tmp_path, monkeypatch, counters):
    """The villages of a county are whole at any sample size: a county of 1.5 bn rural persons in
    villages of 50 is 30 M villages (about 3.6 GiB), however few its poor households."""
    class Available:
        available = 2**30

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Available())
    copy_sanming(tmp_path)
    path = write(tmp_path, "villages.toml", '[scenario]\nextends = "sanming.toml"\nname = "villages"\n'
                 'population_scale = 0.05\n[[population.counties]]\nname = "Vast"\npoor_persons = 1000\n'
                 'rural_population = 1_500_000_000\n[parameters]\n"population.village_population" = 50\n')
    counters["faults_injected"] += 1
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: population = "), result.stderr
    assert "30,000,001 villages" in lines[0] and "GiB" in lines[0], lines[0]
    assert not out.exists()


def test_cli_refuses_a_huge_population_with_exit_2_naming_file_and_estimate(tmp_path, monkeypatch, counters):
    class Available:
        available = 64 * 2**30  # a large machine: a billion poor persons still do not fit

    monkeypatch.setattr(psutil, "virtual_memory", lambda: Available())
    copy_sanming(tmp_path)
    path = write(tmp_path, "huge.toml", '[scenario]\nextends = "sanming.toml"\nname = "huge"\n'
                 '[[population.counties]]\nname = "Everyone"\npoor_persons = 1_000_000_000\nincidence = 0.9\n')
    counters["faults_injected"] += 1
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-plots", "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: population = "), result.stderr
    assert "households" in lines[0] and "GiB" in lines[0] and "population_scale" in lines[0]
    assert not out.exists()


# --- 7. a failure or a kill while the final files are written ------------------------------------

@pytest.fixture(scope="module")
def two_runs(tiny, tmp_path_factory):
    """Run A's results folder; run B's (another seed, more replicates) made in a folder of its own."""
    base = tmp_path_factory.mktemp("two-runs")
    a, b = base / "a", base / "b"
    run_scenario(tiny, seed=3, replicates=2, workers=1, out=a, plots=True, progress=False)
    run_scenario(tiny, seed=4, replicates=3, workers=1, out=b, plots=False, progress=False)
    return a, _published(a), b, _published(b)


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to, symlinks=True)
    return to


def test_full_disk_while_writing_spending_keeps_every_final_file_of_the_previous_run(tiny, two_runs, tmp_path,
                                                                                    monkeypatch, counters):
    a, outputs_a, _, outputs_b = two_runs
    out = _copy(a, tmp_path / "out")
    manifest = (out / MANIFEST).read_bytes()
    disk = _FullDisk(monkeypatch, {"spending.csv"}, room=4096)
    with pytest.raises(OutputError) as exc:
        run_scenario(tiny, seed=4, replicates=3, workers=1, out=out, plots=False, progress=False, replace=True)
    assert disk.hits == 1
    counters["faults_injected"] += 1
    msg = str(exc.value)
    assert msg.startswith(f"{out / 'spending.csv'}: cannot write: {os.strerror(errno.ENOSPC)}"), msg
    assert "unchanged" in msg
    # Every final file is run A's (yearly and pathways were written before spending, in B's set).
    assert _published(out) == outputs_a and (out / MANIFEST).read_bytes() == manifest
    assert _temporaries(out) == []
    monkeypatch.undo()
    ran = _counting(monkeypatch)
    run_scenario(tiny, seed=4, replicates=3, workers=1, out=out, plots=False, progress=False, replace=True)
    assert ran == []  # B's replicates were finished before the disk filled
    assert _published(out) == outputs_b


def test_a_failure_at_any_step_of_the_final_writes_leaves_one_whole_set(tiny, two_runs, tmp_path, monkeypatch,
                                                                        counters):
    """Run B's replicates are on disk; its final files are written and published into run A's
    folder, with a failure at the first, the second, ... file write or link replaced (every
    step of the final stage in turn). Each time the folder shows run A's whole set."""
    a, outputs_a, b, outputs_b = two_runs
    replace = os.replace
    calls = [0]
    fail_at = [0]

    def failing(src, dst):
        calls[0] += 1
        if calls[0] == fail_at[0]:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    steps = None
    n = 0
    while steps is None or n < steps:
        n += 1
        out = _copy(a, tmp_path / f"out-{n}")
        shutil.rmtree(out / "replicates")
        shutil.copytree(b / "replicates", out / "replicates")
        calls[0], fail_at[0] = 0, n
        try:
            run_scenario(tiny, seed=4, replicates=3, workers=1, out=out, plots=False, progress=False, replace=True)
        except OutputError as exc:
            counters["faults_injected"] += 1
            assert str(exc).startswith(f"{out}/") and "Input/output error" in str(exc), str(exc)
            assert _published(out) == outputs_a, f"failure at step {n}"
            assert _temporaries(out) == []
        else:  # no step n: the run went through, with every step counted
            steps = calls[0]
            assert n == steps + 1 and _published(out) == outputs_b
        shutil.rmtree(out)
    assert steps >= 11  # six tables, two of the summary, seeds, the manifest, the swap (the links exist)


KILL_WHILE_PUBLISHING = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    import sim.execution.ensemble as ensemble
    import sim.execution.folder as folder
    import sim.execution.output as output
    from sim.app.runs import run_scenario
    from sim.inputs.scenario import load_scenario

    scenario, out, victim = load_scenario(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if victim == "link":  # mid-publication: after the first new link, before the swap
        link = folder._link
        folder._link = lambda out, name: (link(out, name), die())
    else:  # mid-write: the file half written
        write = output.atomic_write

        def dying(path, writer):
            if Path(path).name == victim:
                write(path, lambda fh: (fh.write(b"half a file"), fh.flush(), die()))
            write(path, writer)

        output.atomic_write = ensemble.atomic_write = dying
    run_scenario(scenario, seed=4, replicates=3, workers=1, out=out, plots=False, progress=False, replace=True)
""")


@pytest.mark.parametrize("victim", ["spending.csv", "link"])
def test_a_run_killed_while_writing_its_final_files_leaves_the_previous_set(victim, two_runs, small_file, tiny,
                                                                           tmp_path, counters):
    a, outputs_a, _, outputs_b = two_runs
    out = _copy(a, tmp_path / "out")
    proc = subprocess.run([sys.executable, "-c", KILL_WHILE_PUBLISHING, str(small_file), str(out), victim],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    counters["faults_injected"] += 1
    assert _published(out) == outputs_a
    # The same run again, unharmed: it finishes, and the folder is its whole set.
    run_scenario(tiny, seed=4, replicates=3, workers=1, out=out, plots=False, progress=False, replace=True)
    assert _published(out) == outputs_b
    assert len(list((out / ".sets").iterdir())) == 2  # this run's set and the previous; the killed one's gone


# --- 8. damaged, foreign and stale replicates on resume ---------------------------------------------

@pytest.fixture(scope="module")
def foreign(tiny, tmp_path_factory):
    """Replicates of another scenario (another budget), same seed."""
    out = tmp_path_factory.mktemp("foreign") / "out"
    other = tiny.with_changes({"budgets": {"industry": 1.0}})
    run_ensemble(other, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    return out / "replicates"


def _truncate(rep: Path, _) -> None:
    path = rep / "yearly-00001.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(rep: Path, _) -> None:
    (rep / "pathways-00002.parquet").write_bytes(b"")


def _foreign_replicate(rep: Path, foreign: Path) -> None:
    for name in [f"{t}-00001.parquet" for t in TABLES] + ["replicate-00001.json"]:
        shutil.copyfile(foreign / name, rep / name)


def _foreign_table(rep: Path, foreign: Path) -> None:
    shutil.copyfile(foreign / "spending-00003.parquet", rep / "spending-00003.parquet")


def _no_state_foreign(rep: Path, foreign: Path) -> None:
    """Another scenario's replicates in place of all of ours, as an older run left them."""
    for path in foreign.iterdir():
        shutil.copyfile(path, rep / path.name)
    (rep / "state.json").write_text("{}")


def _record_removed(rep: Path, _) -> None:
    (rep / "replicate-00000.json").unlink()


def _record_damaged(rep: Path, _) -> None:
    (rep / "replicate-00002.json").write_text('{"fingerprint": [], "files": 3}')


def _stale_code(rep: Path, _) -> None:
    """Replicates recorded by another version of the code."""
    for path in rep.glob("replicate-*.json"):
        record = json.loads(path.read_text())
        record["fingerprint"]["code_digest"] = "0" * 64
        path.write_text(json.dumps(record))


def _swapped(rep: Path, _) -> None:
    """Replicates 1 and 2 under each other's names, records and all."""
    for name in [f"{t}-0000{{}}.parquet" for t in TABLES] + ["replicate-0000{}.json"]:
        one, two = rep / name.format(1), rep / name.format(2)
        one.rename(rep / "x")
        two.rename(one)
        (rep / "x").rename(two)


def _strays(rep: Path, _) -> None:
    shutil.copyfile(rep / "yearly-00001.parquet", rep / "yearly-backup.parquet")
    shutil.copyfile(rep / "yearly-00001.parquet", rep / "yearly-00001.parquet.bak")
    (rep / "yearly-99999.parquet").write_bytes(b"junk")
    (rep / "replicate-notes.json").write_text("[1, 2")
    (rep / "spending-1.parquet").write_bytes(b"")


# damage -> replicates that must run again (the others are reused)
DAMAGE = {
    "truncated table": (_truncate, [1]),
    "empty table": (_empty, [2]),
    "another scenario's replicate": (_foreign_replicate, [1]),
    "another scenario's table under our record": (_foreign_table, [3]),
    "another scenario's replicates, state file and all": (_no_state_foreign, [0, 1, 2, 3]),
    "record removed": (_record_removed, [0]),
    "record not ours": (_record_damaged, [2]),
    "made by other code": (_stale_code, [0, 1, 2, 3]),
    "two replicates swapped": (_swapped, [1, 2]),
    "stray files": (_strays, []),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_resume_reuses_only_whole_replicates_of_this_run(case, tiny, reference, foreign, tmp_path, monkeypatch,
                                                          counters):
    _, ref_out = reference
    out = _copy(ref_out, tmp_path / "out")
    damage, rerun = DAMAGE[case]
    damage(out / "replicates", foreign)
    counters["faults_injected"] += 1
    ran = _counting(monkeypatch)
    ens = run_ensemble(tiny, seed=SEED, replicates=REPLICATES, workers=1, out=out, progress=False)
    assert sorted(ran) == rerun
    assert ens.reused == REPLICATES - len(rerun) and ens.replaced == len(rerun)
    _same_files(out, ref_out)
    _published(out)


def test_the_cli_says_how_many_replicates_it_reused(small_file, tmp_path, counters):
    out = tmp_path / "out"
    args = ["run", str(small_file), "--out", str(out), "--no-plots", "--workers", "1", "--replicates", "3"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and "reused" not in first.stderr, first.output
    _truncate(out / "replicates", None)
    counters["faults_injected"] += 1
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert again.stderr.strip().splitlines() == [
        f"resumed: reused 2 of 3 replicates in {out / 'replicates'}; ran 1 again "
        "(it was another run's, or damaged)"]


# --- 9. two runs writing one folder at once ---------------------------------------------------------

GATED_RUN = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import sim.execution.ensemble as ensemble
    from sim.app.runs import run_scenario

    scenario, out, gate = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    run = ensemble.run_replicate

    def gated(*args):
        while not gate.exists():  # hold the folder until the test has tried a second run
            time.sleep(0.01)
        return run(*args)

    ensemble.run_replicate = gated
    run_scenario(scenario, seed=8, replicates=2, workers=1, out=out, plots=False, progress=False)
""")


def test_a_second_run_into_a_folder_in_use_is_refused_and_the_folder_holds_one_whole_run(small_file, tiny, tmp_path,
                                                                                         counters):
    other = write(small_file.parent, "other.toml", '[scenario]\nextends = "sanming.toml"\nname = "other"\n'
                  'population_scale = 0.05\n[budgets]\nindustry = 1.0\n')
    out, gate = tmp_path / "out", tmp_path / "gate"
    first = subprocess.Popen([sys.executable, "-c", GATED_RUN, str(small_file), str(out), str(gate)],
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / ".lock").exists() or str(first.pid) not in (out / ".lock").read_text():
            assert first.poll() is None and time.monotonic() < deadline, "the first run did not take the folder"
            time.sleep(0.01)
        # The second run, in this process: another scenario, another seed, the same folder.
        second = runner.invoke(app, ["run", str(other), "--out", str(out), "--no-plots", "--seed", "9"])
        counters["faults_injected"] += 1
        assert second.exit_code == 3, second.output
        assert second.exception is None or isinstance(second.exception, SystemExit), second.exception
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {out} is in use by another run (pid {first.pid} "), lines
        assert "started " in lines[0] and "-c" in lines[0]
        assert first.poll() is None  # the refusal came while the first run held the folder
    finally:
        gate.touch()
        _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err[-2000:]
    _published(out)
    info = json.loads((out / MANIFEST).read_text())
    assert info["scenario_name"] == tiny.name and info["root_seed"] == 8
    direct = run_ensemble(tiny, seed=8, replicates=2, workers=1, progress=False)
    for name in TABLES:
        assert (out / f"{name}.csv").read_bytes() == table_bytes_csv(direct.tables[name]), name
    assert not (out / ".lock").exists()


# --- 10. the main process killed or interrupted: its workers end with it --------------------------

def _long_run(small_file: Path, out: Path) -> list[str]:
    """A run on two workers that lasts long enough to be stopped mid-way."""
    return _command() + ["run", str(small_file), "--replicates", "200", "--workers", "2", "--out", str(out),
                         "--no-plots"]


def _wait_for_workers(main: psutil.Process, deadline: float) -> list[psutil.Process]:
    """The main process's descendants, once its two workers run (forkserver children)."""
    while time.monotonic() < deadline:
        family = main.children(recursive=True)
        forked = [p for p in family if any("forkserver" in part for part in _cmdline(p))]
        if len(forked) >= 3:  # the forkserver and two workers
            return family
        time.sleep(0.05)
    pytest.fail("the workers did not start")


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def test_workers_end_when_the_main_process_is_killed(small_file, tmp_path, counters):
    from sim.execution.folder import locked

    out = tmp_path / "out"
    proc = subprocess.Popen(_long_run(small_file, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=tmp_path)
    family = _wait_for_workers(psutil.Process(proc.pid), time.monotonic() + 120)
    proc.kill()
    proc.wait(timeout=30)
    counters["faults_injected"] += 1
    with locked(out):  # at once: no process it started holds the folder's lock
        pass
    _, alive = psutil.wait_procs(family, timeout=10)
    for p in alive:  # do not leave them behind, whatever the test finds
        p.kill()
    assert not alive, f"left running after the main process was killed: {[_cmdline(p)[:3] for p in alive]}"


def _as_in_a_terminal() -> None:
    """The command as a terminal starts it: Ctrl-C not ignored. (A test run started in the
    background, e.g. `make test &`, ignores SIGINT, and ignored signals pass to child processes.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_the_run_at_once_and_says_how_to_resume(small_file, tmp_path, counters):
    out = tmp_path / "out"
    # A session of its own: Ctrl-C in a terminal reaches every process of the foreground group.
    proc = subprocess.Popen(_long_run(small_file, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, start_new_session=True, preexec_fn=_as_in_a_terminal)
    main = psutil.Process(proc.pid)
    deadline = time.monotonic() + 120
    family = _wait_for_workers(main, deadline)
    while len(list((out / "replicates").glob("spending-*.parquet"))) < 2:  # the first replicate's record is written
        assert time.monotonic() < deadline and proc.poll() is None, "no replicate finished"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    counters["faults_injected"] += 1
    _, err = proc.communicate(timeout=30)
    _, alive = psutil.wait_procs(family, timeout=10)
    for p in alive:
        p.kill()
    assert proc.returncode == 130, err[-2000:]
    assert err.strip().splitlines() == [
        "interrupted: the replicates finished so far are kept: run the same command again to resume"], err[-2000:]
    assert not alive, f"left running after Ctrl-C: {[_cmdline(p)[:3] for p in alive]}"
    assert _complete(out / "replicates") and not (out / MANIFEST).exists()
    assert not (out / ".lock").exists() and not list((out / ".sets").iterdir())


def _interrupt_at_replicate_1(scenario, seed, replicate):
    if replicate == 1:
        raise KeyboardInterrupt
    return _run_replicate(scenario, seed, replicate)


def test_ctrl_c_in_process_is_one_line_and_keeps_the_finished_replicates(small_file, tmp_path, monkeypatch,
                                                                         counters):
    monkeypatch.setattr(sim.execution.ensemble, "run_replicate", _interrupt_at_replicate_1)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(small_file), "--out", str(out), "--no-plots", "--workers", "1",
                                 "--replicates", "3"])
    counters["faults_injected"] += 1
    assert result.exit_code == 130, result.output
    assert result.stderr.strip().splitlines() == [
        "interrupted: the replicates finished so far are kept: run the same command again to resume"]
    assert _complete(out / "replicates") == {0} and not (out / MANIFEST).exists()
    monkeypatch.undo()
    ran = _counting(monkeypatch)
    again = runner.invoke(app, ["run", str(small_file), "--out", str(out), "--no-plots", "--workers", "1",
                                "--replicates", "3"])
    assert again.exit_code == 0 and ran == [1, 2], again.output
    assert again.stderr.startswith("resumed: reused 1 of 3 replicates")
