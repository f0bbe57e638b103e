"""Faults: a worker process or the main process killed mid-ensemble, an output folder that cannot
be written, a full disk, interrupted writes and a run too large for memory.

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
    """Replicates with all their tables on disk."""
    if not rep_dir.is_dir():
        return set()
    ks = {int(p.stem.split("-")[1]) for p in rep_dir.glob("yearly-*.parquet")}
    return {k for k in ks if all((rep_dir / f"{t}-{k:05d}.parquet").exists() for t in TABLES)}


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
            if rep.is_dir() and len(list(rep.glob("spending-*.parquet"))) >= 2:
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
        run_scenario(tiny, seed=4, replicates=2, workers=1, out=out, plots=False, progress=False)
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
    ens, _ = run_scenario(tiny, seed=4, replicates=2, workers=1, out=out, plots=False, progress=False)
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
