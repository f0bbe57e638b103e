"""Where replicate runs execute: one concurrent.futures interface for every backend.

- a local process pool (default), with workers started by forkserver;
- a Dask distributed cluster (``--dask ADDRESS``, the ``TUOPIN_DASK`` environment variable, or
  ``[execution] dask = "ADDRESS"`` in a config file, see ``config_files``),
  through ``distributed.Client.get_executor()``, which speaks the same interface.

Every replicate is a pure function of (scenario, seed), so results are identical whichever runs it.
A scheduler address is checked for its form (``tcp://HOST:PORT``) before any connection is tried.

Local workers end with the main process. Their parent is the forkserver, which lives as long as
any worker does, so neither would notice the main process dying (SIGKILL, a crash): each worker
watches the main process itself (``_start_worker``) and exits when it ends. Ctrl-C is the main
process's to handle: workers ignore it, and a pool left by an exception (Ctrl-C included) ends
its workers at once rather than waiting for replicates nobody will collect.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import select
import signal
import threading
import time
import tomllib
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ..inputs.errors import InputError
from .errors import EnsembleError

from ..inputs.arguments import COMMAND_LINE

DASK_ENV = "TUOPIN_DASK"
CONNECT_TIMEOUT = "20s"  # how long to wait for a Dask scheduler before giving up
CONFIG_ENV = "TUOPIN_CONFIG"
EXECUTION_KEYS = {"dask": str}
ENVIRONMENT = "environment"  # the origin named in errors about an environment variable
# A scheduler address is SCHEME://HOST:PORT with one of the schemes distributed speaks between
# machines; anything else is refused before a connection is tried (a malformed one used to fail
# with a traceback, an unreachable one only after the connection timeout).
DASK_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
DASK_ADDRESS = re.compile(r"(?P<scheme>[a-z]+)://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>[0-9]{1,5})")
MAX_PORT = 65535
# Where a process cannot wait on another's end (no pidfd: not Linux), a worker looks whether the
# main process is still there this often; an orphaned worker then lives at most this long.
MAIN_POLL_SECONDS = 1.0
ORPHANED = 70  # a worker's exit status when it ends because the main process has gone (EX_SOFTWARE)


def config_files() -> list[Path]:
    """Where execution settings are read from, first found wins: $TUOPIN_CONFIG, ./tuopin.toml,
    ~/.config/tuopin/config.toml."""
    files = [Path(os.environ[CONFIG_ENV])] if os.environ.get(CONFIG_ENV) else []
    return files + [Path("tuopin.toml"), Path.home() / ".config" / "tuopin" / "config.toml"]


def execution_settings() -> dict:
    """The ``[execution]`` table of the first config file that exists, checked."""
    named = os.environ.get(CONFIG_ENV)
    if named and not Path(named).is_file():
        raise InputError(named, CONFIG_ENV, named, "the config file named by the environment does not exist")
    for path in config_files():
        if not path.is_file():
            continue
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise InputError(path, "", None, f"cannot read the config file: {exc}") from None
        unknown = set(raw) - {"execution"}
        if unknown:
            key = sorted(unknown)[0]
            raise InputError(path, key, raw[key], "unknown key (a typo?)", "execution")
        table = raw.get("execution", {})
        if not isinstance(table, dict):
            raise InputError(path, "execution", table, "must be a table", '[execution] with dask = "ADDRESS"')
        for key, value in table.items():
            if key not in EXECUTION_KEYS:
                raise InputError(path, f"execution.{key}", value, "unknown key (a typo?)", ", ".join(EXECUTION_KEYS))
            if not isinstance(value, EXECUTION_KEYS[key]):
                raise InputError(path, f"execution.{key}", value, f"must be a {EXECUTION_KEYS[key].__name__}")
        return table
    return {}


LOCAL = "local"  # --dask local: run on local processes whatever the environment or config say


def dask_address(explicit: str | None = None) -> str | None:
    """The Dask scheduler to use: the explicit address (``local`` for local processes), else
    ``$TUOPIN_DASK``, else the config file's ``execution.dask``, else none (local processes).
    An address of the wrong form is an InputError naming where it was set."""
    if explicit:
        origin, key, address = COMMAND_LINE, "--dask", explicit
    elif os.environ.get(DASK_ENV):
        origin, key, address = ENVIRONMENT, DASK_ENV, os.environ[DASK_ENV]
    else:
        origin, key, address = _config_origin(), "execution.dask", execution_settings().get("dask")
    if not address or address == LOCAL:
        return None
    return check_dask_address(address, origin, key)


def _config_origin() -> str:
    return next((str(p) for p in config_files() if p.is_file()), "config")


def check_dask_address(address: str, origin: str, key: str) -> str:
    """``address`` if it has the form SCHEME://HOST:PORT, else an InputError."""
    match = DASK_ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None or match["scheme"] not in DASK_SCHEMES or not 1 <= int(match["port"]) <= MAX_PORT:
        raise InputError(origin, key, address, "not a Dask scheduler address",
                         f"SCHEME://HOST:PORT with SCHEME one of {', '.join(DASK_SCHEMES)} "
                         f"(e.g. tcp://scheduler:8786), or '{LOCAL}'")
    return address


def local_workers(workers: int | None, tasks: int) -> int:
    """Worker processes a local run uses: as asked, else one per available core, never more
    than there are tasks."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(workers, tasks))


@contextmanager
def executor_for(workers: int, dask: str | None = None) -> Iterator[Executor]:
    """An executor for ``workers`` local processes, or for the Dask cluster at ``dask``."""
    if dask:
        from distributed import Client

        try:
            client = Client(dask, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise EnsembleError(f"cannot reach the Dask scheduler at {dask}: {exc} "
                                f"(use --dask {LOCAL} to run on this machine)") from None
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
    else:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                                   initializer=_start_worker, initargs=(os.getpid(),))
        try:
            yield pool
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the pool now: cancel what has not started and end the workers."""
    # The executor has no public way to end its workers; what they run is not wanted any more.
    workers = list((getattr(pool, "_processes", None) or {}).values())
    calls = getattr(pool, "_call_queue", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in workers:
        process.terminate()
    # A task (a scenario pickles to some 80 kB) is larger than a pipe holds, so the queue's feeder
    # thread can be part-way through writing one when the workers end, and no one will read the
    # rest: waiting for it to finish (at shutdown, or when the interpreter exits) would wait for
    # ever. What it still holds is not wanted.
    if calls is not None:
        calls.cancel_join_thread()
    pool.shutdown(wait=True)


def _start_worker(main: int) -> None:
    """Set up a local worker process: leave Ctrl-C to the main process, and end with it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        fd = os.pidfd_open(main)
    except ProcessLookupError:  # gone already
        os._exit(ORPHANED)
    except (AttributeError, OSError):  # no pidfd here: look now and then
        threading.Thread(target=_poll_main, args=(main,), daemon=True, name="tuopin-main-watch").start()
        return
    threading.Thread(target=_wait_for_main, args=(fd,), daemon=True, name="tuopin-main-watch").start()


def _wait_for_main(fd: int) -> None:
    """Sleep until the process behind the pidfd ends, then end this one."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while not poller.poll():
        pass
    os._exit(ORPHANED)


def _poll_main(main: int) -> None:
    while True:
        time.sleep(MAIN_POLL_SECONDS)
        try:
            os.kill(main, 0)
        except ProcessLookupError:
            os._exit(ORPHANED)
        except PermissionError:  # there, under another user: a reused pid, so ours has gone
            os._exit(ORPHANED)
