"""Writing results: every file is written to a temporary name and renamed into place, so a file
with a final name is always whole; the manifest, written last, lists every output with its checksum.
What made a result is recorded here too: the versions that can change results (``RESULT_PACKAGES``)
and a digest of the package's own code (``code_digest``), committed or not.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable, Mapping

import pandas as pd

from .errors import OutputError

MANIFEST = "manifest.json"
# Versions that can change results: a difference in one of these fails `tuopin reproduce`.
RESULT_PACKAGES = ("python", "tuopin", "numpy", "scipy", "pandas", "pyarrow", "mesa", "pydantic")
PACKAGE = Path(__file__).resolve().parents[1]  # the sim package: its code and parameter files
CODE_SUFFIXES = (".py", ".toml")


def atomic_write(path: Path, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot write here: {exc.strerror or exc}") from None
    try:
        os.fchmod(fd, 0o666 & ~umask())  # mkstemp makes owner-only files; results are shared
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files left by a killed run (never results: results only exist under final names)."""
    for tmp in Path(folder).glob(".*.tmp"):
        _remove(str(tmp))


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def table_bytes_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode()


def table_bytes_parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
    return buf.getvalue()


def write_table(folder: Path, name: str, df: pd.DataFrame) -> list[Path]:
    """``name.csv`` and ``name.parquet`` in ``folder``."""
    paths = [Path(folder) / f"{name}.csv", Path(folder) / f"{name}.parquet"]
    write_bytes(paths[0], table_bytes_csv(df))
    write_bytes(paths[1], table_bytes_parquet(df))
    return paths


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compare_outputs(folder: Path, outputs: Mapping[str, str]) -> dict[str, str]:
    """Each file a manifest lists, against its checksum there: "match", "MISMATCH" or "missing"."""
    status = {}
    for name, digest in outputs.items():
        path = Path(folder) / name
        status[name] = "missing" if not path.is_file() else ("match" if sha256(path) == digest else "MISMATCH")
    return status


def versions() -> dict[str, str]:
    """Python and every installed distribution, by name (lower case)."""
    return dict(_installed())


@functools.lru_cache(maxsize=1)
def _installed() -> tuple[tuple[str, str], ...]:
    # Read once per process (a quarter of a second, and every run records them twice): the
    # packages a process runs are the ones it imported, whatever is installed after it started.
    out = {"python": sys.version.split()[0]}
    for dist in metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        if name:
            out[name] = dist.version
    return tuple(sorted(out.items()))


def result_versions() -> dict[str, str]:
    """The versions that can change results, by name ("?" for one not installed)."""
    installed = versions()
    return {name: installed.get(name, "?") for name in RESULT_PACKAGES}


@functools.lru_cache(maxsize=None)
def code_digest(package: Path = PACKAGE) -> str:
    """SHA-256 over the package's code and parameter files (names and contents): any edit to
    them changes it, committed or not, where the version number and a dirty commit do not."""
    h = hashlib.sha256()
    files = sorted(p for p in Path(package).rglob("*") if p.suffix in CODE_SUFFIXES and p.is_file())
    for path in files:
        data = path.read_bytes()
        h.update(f"{path.relative_to(package).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if rev.returncode != 0:
        return None
    return rev.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def write_manifest(folder: Path, info: dict, outputs: list[Path]) -> Path:
    folder = Path(folder)
    manifest = {
        **info,
        "versions": versions(),
        "git_commit": git_commit(),
        "code_digest": code_digest(),
        "platform": {"system": platform.system(), "machine": platform.machine(),
                     "python_implementation": platform.python_implementation()},
        "outputs": {str(p.relative_to(folder)): sha256(p) for p in sorted(outputs)},
    }
    path = folder / MANIFEST
    write_bytes(path, (json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode())
    return path
