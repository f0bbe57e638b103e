"""A results folder: written by one run at a time, and its final files change as a whole.

Layout of a results folder ``out/``::

    .lock                    held by the run writing the folder (flock); names it: pid, host, command, start
    replicates/              finished replicates and their records: the working state a rerun resumes
    .sets/<id>/              one whole set of final files each: tables, summary, seeds, plots, manifest
    .current -> .sets/<id>   the published set
    yearly.csv -> .current/yearly.csv, ..., manifest.json -> .current/manifest.json

**One run at a time.** ``locked(out)`` holds an exclusive ``flock`` on ``out/.lock`` for the whole
run; a second run is refused at once with an OutputError naming the holder. The kernel releases
the lock when its process dies, however it dies, so a killed run never blocks the next one (its
``.lock`` file stays, with the dead holder's details, until the next run takes it over). The lock's
descriptor is close-on-exec and worker processes come from the forkserver, so no process a run
starts can keep holding it.

**A whole set or none.** A run builds its final files in a new folder of ``.sets/`` beside the
published set (``new_set``), writes the manifest last (it lists every file with its SHA-256), and
publishes by replacing the single ``.current`` link: a rename, which is atomic. Until then the
folder shows the previous run's set, whole, whatever happens (a full disk, SIGKILL); after it, the
new one. The names in ``out/`` lead through ``.current``; a reader that wants several files of one
set resolves ``.current`` once (or the manifest's real path) and reads that folder, whose manifest
it can check every file against (``read_checked``). The previous set is kept until the next run
publishes, so that a reader that resolved it can finish.

Both rest on POSIX: ``flock`` and symbolic links (Linux, macOS).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import fcntl

from .errors import OutputError
from .output import MANIFEST, remove_stale_temporaries, sha256, sha256_bytes, umask, write_manifest

LOCK = ".lock"
SETS = ".sets"
CURRENT = ".current"
HOLDER_BYTES = 4096  # the holder's details are a short JSON object: read no more than this


# --- one run at a time ------------------------------------------------------------------------------

@dataclass
class _Held:
    fd: int
    count: int


_HELD: dict[str, _Held] = {}  # folders this process holds, by real path: holding one again is allowed
_HELD_GUARD = threading.Lock()


@contextmanager
def locked(out: Path, command: str | None = None) -> Iterator[Path]:
    """Hold ``out`` (created if need be) for the block; another process holding it is an OutputError
    naming that process. ``command`` describes this run to whoever is refused (default: argv)."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here: {exc.strerror or exc}") from None
    key = os.path.realpath(out)
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held.count += 1
        else:
            _HELD[key] = _Held(_acquire(out, command), 1)
    try:
        yield out
    finally:
        with _HELD_GUARD:
            held = _HELD[key]
            held.count -= 1
            if held.count == 0:
                del _HELD[key]
                _release(out, held.fd)


def _acquire(out: Path, command: str | None) -> int:
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            raise OutputError(f"{out}: cannot write here: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputError(f"{out} is in use by another run ({holder}); wait for it to finish, "
                              "or write to another folder") from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"{path}: cannot lock: {exc.strerror or exc}") from None
        if _is_still(fd, path):
            break
        # The run that held it removed the file as it finished: this lock is on a file no longer
        # in the folder. Take the one that is (a new run may have created it).
        os.close(fd)
    _write_holder(fd, command)
    return fd


def _is_still(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _write_holder(fd: int, command: str | None) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(),
              "command": command or shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def _holder(fd: int) -> str:
    """The holder's details as a phrase, as far as they can be read."""
    try:
        h = json.loads(os.pread(fd, HOLDER_BYTES, 0))
        return f"pid {h['pid']} on {h['host']}, started {h['started']}: {h['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its details are not written yet"


def _release(out: Path, fd: int) -> None:
    # Removed while still held, so that no run can take a lock on a file about to disappear.
    try:
        os.unlink(out / LOCK)
    except OSError:
        pass
    os.close(fd)


# --- a whole set or none ------------------------------------------------------------------------------

def published(out: Path) -> Path | None:
    """The folder of the set published in ``out`` (resolved now), or None."""
    try:
        target = os.readlink(Path(out) / CURRENT)
    except OSError:
        return None
    return Path(out) / target


def free_folder(default: Path, out: Path | None, replace: bool, same: Callable[[Path], bool],
                refusal: Callable[[Path], str]) -> Path:
    """The folder a run writes: never another run's silently. ``same(folder)`` says whether the
    folder is free or holds this very run (then it is written again, or resumed). A folder asked
    for (``out``) that holds another run is refused with ``refusal(folder)``, unless ``replace``;
    the ``default`` is passed over for ``<default>-2``, ``-3``, … beside it."""
    candidates = [Path(out)] if out is not None else [default] + [default.with_name(f"{default.name}-{n}")
                                                                   for n in range(2, 1000)]
    for folder in candidates:
        if replace or same(folder):
            return folder
        if out is not None:
            raise OutputError(refusal(folder))
    raise OutputError(f"{candidates[0]}: no free results folder beside it")


class NewSet:
    """The final files of a run, built in a folder of their own; ``publish`` makes them the
    folder's. Write them into ``folder``."""

    def __init__(self, out: Path):
        self.out = Path(out)
        sets = self.out / SETS
        try:
            sets.mkdir(exist_ok=True)
            _remove_unfinished(self.out)
            self.folder = _set_folder(self.out, datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-"))
        except OSError as exc:
            raise OutputError(f"{sets}: cannot write here: {exc.strerror or exc}") from None
        self.done = False

    def publish(self, info: dict) -> Path:
        """Write the manifest (``info`` and every file of the set with its checksum), last; then
        make the set the folder's in one step. Returns the manifest's path in the folder."""
        write_manifest(self.folder, info, sorted(p for p in self.folder.iterdir() if p.is_file()))
        names = sorted(p.name for p in self.folder.iterdir() if p.is_file())
        try:
            _sync(self.folder)
            previous = published(self.out) or _adopt_unlinked(self.out)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot write here: {exc.strerror or exc}") from None
        for name in names:  # until .current moves, these lead to the previous set's files (or none)
            _link(self.out, name)
        _replace_with_link(self.out / CURRENT, f"{SETS}/{self.folder.name}")
        self.done = True
        # Published. What follows only tidies up: it cannot undo the publication, nor fail it.
        _tidy(self.out, names, keep={self.folder.name} | ({previous.name} if previous else set()))
        return self.out / MANIFEST

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def as_published(self, exc: OutputError) -> OutputError:
        """An error about a file of this set, naming it as the user knows it (``out/name``)."""
        return OutputError(str(exc).replace(str(self.folder), str(self.out))
                           + " (nothing was published: the results already there are unchanged)")


@contextmanager
def new_set(out: Path) -> Iterator[NewSet]:
    """A new set of final files for ``out`` (which the caller holds, see ``locked``); discarded
    unless it was published by the end of the block."""
    staged = NewSet(out)
    try:
        yield staged
    except OutputError as exc:
        if staged.done:
            raise
        staged.discard()
        raise staged.as_published(exc) from None
    finally:
        if not staged.done:
            staged.discard()


def read_checked(folder: Path, name: str) -> bytes:
    """The bytes of ``folder/name``, checked against the set's manifest when it has one (a set
    still being built has none yet): a file altered since its run is an OutputError."""
    path = Path(folder) / name
    manifest = Path(folder) / MANIFEST
    try:
        data = path.read_bytes()
        checked = manifest.exists()
        recorded = json.loads(manifest.read_bytes())["outputs"].get(name) if checked else None
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise OutputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    if checked and recorded != sha256_bytes(data):
        raise OutputError(f"{path}: altered since the run (its SHA-256 is not the one its manifest records)")
    return data


def _set_folder(out: Path, prefix: str) -> Path:
    """A new, empty folder in ``out/.sets``, named ``prefix`` and a unique tail."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=out / SETS))
    os.chmod(folder, 0o777 & ~umask())  # mkdtemp makes owner-only folders; results are shared
    return folder


def _link(out: Path, name: str) -> None:
    """``out/name`` leads through ``.current`` (unless it already does)."""
    path = out / name
    target = f"{CURRENT}/{name}"
    if path.is_symlink() and os.readlink(path) == target:
        return
    _replace_with_link(path, target)


def _replace_with_link(path: Path, target: str) -> None:
    """Put a link to ``target`` at ``path`` in one step (whatever file or link was there)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        os.symlink(target, tmp)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _sync(folder: Path) -> None:
    """Make the folder's entries durable (against a crash of the machine, not only of the run)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_unfinished(out: Path) -> None:
    """What a run that died left: temporaries, and sets never published (no manifest yet)."""
    remove_stale_temporaries(out)
    current = published(out)
    for folder in (out / SETS).iterdir():
        if folder.name != (current.name if current else None) and not (folder / MANIFEST).exists():
            shutil.rmtree(folder, ignore_errors=True)


def _tidy(out: Path, names: list[str], keep: set[str]) -> None:
    """After publishing: links to files the new set does not have, and sets older than the
    previous one. Best effort: the new set is published whatever happens here."""
    try:
        for path in out.iterdir():
            if path.is_symlink() and path.name not in names and os.readlink(path).startswith(f"{CURRENT}/"):
                path.unlink()
        for folder in (out / SETS).iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder, ignore_errors=True)
    except OSError:
        pass


def _adopt_unlinked(out: Path) -> Path | None:
    """A folder written before sets existed has its final files under their own names. If they
    are a whole set (a manifest whose every file is there, unaltered), make them the published
    set first (hard links: the same files), so that they too are replaced as a whole."""
    manifest = out / MANIFEST
    if manifest.is_symlink() or not manifest.is_file():
        return None
    try:
        outputs = json.loads(manifest.read_bytes())["outputs"]
        names = list(outputs)
        whole = all(_plain_name(n) and (out / n).is_file() and not (out / n).is_symlink()
                    and sha256(out / n) == outputs[n] for n in names)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not whole:
        return None
    legacy = _set_folder(out, "unlinked-")
    for name in [*names, MANIFEST]:
        try:
            os.link(out / name, legacy / name)
        except OSError:  # a file system without hard links
            shutil.copy2(out / name, legacy / name)
    _sync(legacy)
    _replace_with_link(out / CURRENT, f"{SETS}/{legacy.name}")
    for name in [*names, MANIFEST]:
        _link(out, name)
    return legacy


def _plain_name(name: str) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
