"""A results folder: one run at a time (an exclusive lock naming its holder, released when the
holder dies), and final files that change as a whole (a new set built beside the published one,
published by moving one link), which readers check against the set's manifest.

The model is not run here: sets of small files stand for a run's final files. Whole runs into a
folder, killed or failing mid-way, are in test_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import sim.execution.folder as folder
from sim.execution.errors import OutputError
from sim.execution.folder import CURRENT, LOCK, SETS, locked, new_set, published, read_checked
from sim.execution.output import MANIFEST, sha256, write_bytes, write_manifest

HOLD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from sim.execution.folder import locked

    with locked(Path(sys.argv[1]), "holder-command --out x"):
        print("held", flush=True)
        sys.stdin.read()  # until the test closes our stdin (or kills us)
""")


def _holder(out: Path) -> subprocess.Popen:
    """A process holding ``out`` until its stdin is closed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _publish(out: Path, files: dict[str, bytes], info: dict | None = None) -> Path:
    with locked(out), new_set(out) as staged:
        for name, data in files.items():
            write_bytes(staged.folder / name, data)
        return staged.publish(info or {"run": len(files)})


def _visible(out: Path) -> dict[str, bytes]:
    """The files ``out`` shows under their own names (through the links), manifest aside."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name not in (MANIFEST, LOCK)}


def _whole(out: Path) -> dict[str, str]:
    """The manifest's outputs, after checking that ``out`` shows exactly those files, unaltered."""
    outputs = json.loads((out / MANIFEST).read_text())["outputs"]
    assert set(_visible(out)) == set(outputs)
    for name, digest in outputs.items():
        assert sha256(out / name) == digest, name
    return outputs


# --- one run at a time ------------------------------------------------------------------------------

def test_a_held_folder_is_refused_at_once_naming_the_holder(tmp_path, counters):
    out = tmp_path / "out"
    proc = _holder(out)
    try:
        counters["faults_injected"] += 1
        start = time.monotonic()
        with pytest.raises(OutputError) as exc:
            with locked(out):
                pytest.fail("two runs held the folder at once")
        assert time.monotonic() - start < 1  # refused, not waited for
        msg = str(exc.value)
        assert msg.startswith(f"{out} is in use by another run (pid {proc.pid} on {socket.gethostname()}, started ")
        assert "holder-command --out x" in msg and "\n" not in msg
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    with locked(out):  # released: this process may take it now
        holder = json.loads((out / LOCK).read_text())
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    assert not (out / LOCK).exists()  # a folder nobody holds has no lock file


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path, counters):
    out = tmp_path / "out"
    proc = _holder(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    counters["faults_injected"] += 1
    assert json.loads((out / LOCK).read_text())["pid"] == proc.pid  # the dead run's details stay...
    with locked(out):  # ...but the kernel released its lock
        assert json.loads((out / LOCK).read_text())["pid"] == os.getpid()


def test_one_process_may_hold_a_folder_again_inside_its_own_hold(tmp_path):
    out = tmp_path / "out"
    with locked(out):
        with locked(out):
            assert (out / LOCK).exists()
        assert (out / LOCK).exists()  # still held by the outer block
    assert not (out / LOCK).exists()


CONTEND = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sim.execution.errors import OutputError
    from sim.execution.folder import locked

    out, rounds = Path(sys.argv[1]), int(sys.argv[2])
    counter = out / "counter"
    done = 0
    while done < rounds:
        try:
            with locked(out):
                n = int(counter.read_text())
                time.sleep(0.001)  # a lost update, if two held the lock at once
                counter.write_text(str(n + 1))
            done += 1
        except OutputError:
            time.sleep(0.0005)
""")


def test_the_lock_stays_exclusive_while_runs_take_it_and_let_it_go(tmp_path, counters):
    """Processes racing for the folder, each taking and releasing it (and so removing and
    re-creating the lock file) many times: increments under the lock are never lost."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "counter").write_text("0")
    processes, rounds = 3, 25
    procs = [subprocess.Popen([sys.executable, "-c", CONTEND, str(out), str(rounds)]) for _ in range(processes)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    counters["faults_injected"] += processes * rounds
    assert int((out / "counter").read_text()) == processes * rounds


def test_an_unwritable_folder_is_an_output_error_naming_it(tmp_path):
    (tmp_path / "afile").write_text("a file, not a folder")
    with pytest.raises(OutputError) as exc:
        with locked(tmp_path / "afile" / "out"):
            pass
    assert str(tmp_path / "afile" / "out") in str(exc.value)


# --- a whole set or none ------------------------------------------------------------------------------

def test_a_set_replaces_the_published_one_whole(tmp_path):
    out = tmp_path / "out"
    first = _publish(out, {"a.csv": b"a1", "b.csv": b"b1"})
    assert first == out / MANIFEST and _visible(out) == {"a.csv": b"a1", "b.csv": b"b1"}
    assert set(_whole(out)) == {"a.csv", "b.csv"}
    one = published(out)
    _publish(out, {"b.csv": b"b2", "c.png": b"c2"})
    assert _visible(out) == {"b.csv": b"b2", "c.png": b"c2"}  # a.csv went with its set
    assert set(_whole(out)) == {"b.csv", "c.png"}
    assert not (out / "a.csv").is_symlink()
    two = published(out)
    assert one.is_dir() and (one / "a.csv").read_bytes() == b"a1"  # kept for readers that resolved it
    _publish(out, {"b.csv": b"b3"})
    assert not one.exists() and two.is_dir()  # only the previous set is kept
    assert sorted(p.name for p in (out / SETS).iterdir()) == sorted([two.name, published(out).name])
    assert os.readlink(out / CURRENT) == f"{SETS}/{published(out).name}"


def test_a_failure_before_publishing_leaves_the_published_set_and_no_trace(tmp_path, counters):
    out = tmp_path / "out"
    _publish(out, {"a.csv": b"a1", "b.csv": b"b1"})
    before = _visible(out), (out / MANIFEST).read_bytes()
    sets = sorted((out / SETS).iterdir())
    for failure in (OSError(28, "No space left on device"), KeyboardInterrupt()):
        counters["faults_injected"] += 1
        with pytest.raises((OutputError, KeyboardInterrupt)):
            with locked(out), new_set(out) as staged:
                write_bytes(staged.folder / "a.csv", b"a2")
                if isinstance(failure, OSError):
                    write_bytes(staged.folder / "b.csv", b"b2")
                    try:
                        raise failure
                    except OSError as exc:
                        raise OutputError(f"{staged.folder / 'b.csv'}: cannot write: {exc.strerror}") from None
                raise failure
        assert (_visible(out), (out / MANIFEST).read_bytes()) == before
        assert sorted((out / SETS).iterdir()) == sets  # the unpublished set is gone


def test_an_error_names_the_file_as_it_would_be_published(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(OutputError) as exc:
        with locked(out), new_set(out) as staged:
            raise OutputError(f"{staged.folder / 'spending.csv'}: cannot write: No space left on device")
    msg = str(exc.value)
    assert msg.startswith(f"{out / 'spending.csv'}: cannot write: No space left on device")
    assert "results already there are unchanged" in msg and SETS not in msg


def test_a_run_killed_while_building_its_set_leaves_it_to_the_next_run(tmp_path, counters):
    out = tmp_path / "out"
    _publish(out, {"a.csv": b"a1"})
    code = textwrap.dedent("""
        import os, signal, sys
        from pathlib import Path
        from sim.execution.folder import locked, new_set
        from sim.execution.output import write_bytes

        out = Path(sys.argv[1])
        with locked(out), new_set(out) as staged:
            write_bytes(staged.folder / "a.csv", b"a2")
            os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", code, str(out)]).returncode == -signal.SIGKILL
    counters["faults_injected"] += 1
    assert _visible(out) == {"a.csv": b"a1"} and set(_whole(out)) == {"a.csv"}
    assert len(list((out / SETS).iterdir())) == 2  # the published set and the unfinished one
    _publish(out, {"a.csv": b"a3"})
    assert _visible(out) == {"a.csv": b"a3"}
    assert len(list((out / SETS).iterdir())) == 2  # the unfinished one removed; the previous kept


def _outputs_only(folder_, info, outputs):
    """A manifest of checksums alone: the versions and the commit are beside the point here."""
    outputs = {p.name: sha256(p) for p in outputs}
    write_bytes(Path(folder_) / MANIFEST, json.dumps({**info, "outputs": outputs}).encode())


def test_readers_that_resolve_the_set_once_always_see_one_whole_set(tmp_path, monkeypatch):
    monkeypatch.setattr(folder, "write_manifest", _outputs_only)
    out = tmp_path / "out"
    names = [f"t{i}.csv" for i in range(5)]
    _publish(out, {n: b"0" * 1000 for n in names})
    stop = threading.Event()
    seen: list[str] = []
    checked = [0]

    def reader():
        while not stop.is_set():
            real = Path(os.path.realpath(out / MANIFEST)).parent  # one set, resolved once
            try:
                outputs = json.loads((real / MANIFEST).read_text())["outputs"]
                bad = [n for n, d in outputs.items() if sha256(real / n) != d]
            except FileNotFoundError:  # a set two publications old is removed: resolve again
                continue
            if bad:
                seen.append(f"{real.name}: {bad}")
            checked[0] += 1

    t = threading.Thread(target=reader)
    t.start()
    try:
        for run in range(1, 30):
            _publish(out, {n: str(run).encode() * 1000 for n in names}, {"run": run})
    finally:
        stop.set()
        t.join()
    assert not seen, f"a reader saw files of two runs: {seen[:3]}"
    assert checked[0] > 10
    assert set(_whole(out)) == set(names)


def test_a_file_altered_since_its_run_is_refused_on_read(tmp_path, counters):
    out = tmp_path / "out"
    _publish(out, {"yearly.parquet": b"tables", "yearly.csv": b"year\n2015\n"})
    real = published(out)
    assert read_checked(real, "yearly.csv") == b"year\n2015\n"
    with open(out / "yearly.csv", "ab") as fh:  # through the link: the published file itself
        fh.write(b"2099\n")
    counters["faults_injected"] += 1
    with pytest.raises(OutputError) as exc:
        read_checked(real, "yearly.csv")
    assert str(exc.value) == f"{real / 'yearly.csv'}: altered since the run (its SHA-256 is not the one its manifest records)"
    assert read_checked(real, "yearly.parquet") == b"tables"


def _unlinked(out: Path, files: dict[str, bytes]) -> None:
    """A folder as runs wrote it before sets: the final files under their own names."""
    out.mkdir(parents=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    write_manifest(out, {"run": "before sets"}, [out / n for n in files])


def test_a_folder_written_before_sets_is_replaced_whole_too(tmp_path, monkeypatch, counters):
    out = tmp_path / "out"
    _unlinked(out, {"a.csv": b"a0", "b.csv": b"b0"})
    manifest = (out / MANIFEST).read_bytes()
    # The swap to the new set fails: the old files must still be there, whole.
    real = folder._replace_with_link

    def failing(path, target):
        if path.name == CURRENT and not target.startswith(f"{SETS}/unlinked-"):
            raise OutputError(f"{path}: cannot write: Input/output error")
        real(path, target)

    monkeypatch.setattr(folder, "_replace_with_link", failing)
    counters["faults_injected"] += 1
    with pytest.raises(OutputError):
        _publish(out, {"a.csv": b"a1", "c.csv": b"c1"})
    assert _visible(out) == {"a.csv": b"a0", "b.csv": b"b0"} and (out / MANIFEST).read_bytes() == manifest
    assert set(_whole(out)) == {"a.csv", "b.csv"}
    monkeypatch.undo()
    _publish(out, {"a.csv": b"a1", "c.csv": b"c1"})
    assert _visible(out) == {"a.csv": b"a1", "c.csv": b"c1"} and set(_whole(out)) == {"a.csv", "c.csv"}


def test_a_folder_written_before_sets_that_is_not_whole_is_not_adopted(tmp_path):
    out = tmp_path / "out"
    _unlinked(out, {"a.csv": b"a0", "b.csv": b"b0"})
    (out / "b.csv").write_bytes(b"altered")
    _publish(out, {"a.csv": b"a1"})
    assert [p.name for p in (out / SETS).iterdir()] == [published(out).name]
    assert set(json.loads((out / MANIFEST).read_text())["outputs"]) == {"a.csv"}
    assert (out / "a.csv").read_bytes() == b"a1"
    assert (out / "b.csv").read_bytes() == b"altered"  # not the run's: left as it is, not listed
