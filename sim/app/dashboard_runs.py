"""The dashboard's runs: an option and the unchanged scenario as two ensembles with the same
seeds (common random numbers), compared as ``sim.analysis.compare`` compares options.

One ``Engine`` serves every browser session of a dashboard. It keeps one pool of worker processes
for its whole life (starting workers costs more than a Sanming replicate at a 20 % sample), keeps
the unchanged scenario's ensembles (a slider change reruns only the option) and the last options'
ensembles, and runs each change as a ``Job`` that can be cancelled: its replicates not yet started
are dropped, those running finish and are discarded. Replicates run through ``run_ensemble``, each
a pure function of (scenario, seed), so the dashboard's numbers are those of ``tuopin run``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import CancelledError, Executor, Future
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable

from ..analysis.compare import Comparison
from ..execution.ensemble import Ensemble, run_ensemble
from ..execution.errors import EnsembleError
from ..execution.executors import executor_for, local_workers
from ..inputs.scenario import LoadedScenario
from .dashboard_charts import Views, views
from .dashboard_options import BASELINE, OPTION, Checked

KEPT = 8  # ensembles kept per kind: going back to a recent option costs nothing


class Cancelled(Exception):
    """The job was cancelled (a newer change, or the Cancel button)."""


class Job:
    """One change of the controls being run: its replicates, how many are done, and a cancel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: list[Future] = []
        self._cancelled = threading.Event()
        self.total = 0
        self.done = 0

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Drop the replicates not started; those running finish in their workers, unused."""
        self._cancelled.set()
        with self._lock:
            futures = list(self._futures)
        for fut in futures:
            fut.cancel()

    def _track(self, fut: Future) -> None:
        with self._lock:
            self._futures.append(fut)
        fut.add_done_callback(self._finished)
        if self.cancelled:
            fut.cancel()

    def _finished(self, fut: Future) -> None:
        if not fut.cancelled():
            with self._lock:
                self.done += 1


class _JobExecutor(Executor):
    """The engine's pool seen through one job: what the job submits is tracked, so that cancelling
    the job cancels it, and refused once the job is cancelled."""

    def __init__(self, pool: Executor, job: Job):
        self._pool, self._job = pool, job

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self._job.cancelled:
            raise Cancelled()
        fut = self._pool.submit(fn, *args, **kwargs)
        self._job._track(fut)
        return fut


@dataclass
class Result:
    """The comparison for one set of controls, what the page shows of it, and how long it took
    from the change to the charts."""

    checked: Checked
    comparison: Comparison
    views: Views
    seconds: float
    replicates_run: int  # replicates run for this change (0: all were kept from before)


class Engine:
    """Runs options against the unchanged scenario in a pool of ``workers`` processes (default:
    one per core) kept for the engine's life; ``close()`` ends them. With ``pool``, runs on that
    executor instead (the caller's to shut down)."""

    def __init__(self, workers: int | None = None, pool: Executor | None = None):
        self.workers = local_workers(workers, 1 << 16)
        self._stack: ExitStack | None = None
        self._pool: Executor | None = pool
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, Ensemble] = OrderedDict()

    # ---- the pool ------------------------------------------------------------------------------
    def pool(self) -> Executor:
        with self._lock:
            if self._pool is None:
                self._stack = ExitStack()
                self._pool = self._stack.enter_context(executor_for(self.workers))
            return self._pool

    def warm(self) -> None:
        """Start the workers now (each imports the model and Matplotlib), so that the first change
        is quick; and import here what the first comparison needs."""
        from scipy import stats  # noqa: F401  (intervals of paired differences)

        pool = self.pool()
        for fut in [pool.submit(_ready) for _ in range(self.workers)]:
            fut.result()

    def close(self) -> None:
        with self._lock:
            stack, self._stack, self._pool = self._stack, None, None
        if stack is not None:
            stack.close()

    def _discard_pool(self) -> None:
        """After a worker died: the next job starts a new pool."""
        with self._lock:
            stack, self._stack, self._pool = self._stack, None, None
        if stack is not None:
            try:
                stack.close()
            except Exception:  # a broken pool may fail to shut down cleanly; it is gone either way
                pass

    # ---- runs ----------------------------------------------------------------------------------
    def run(self, checked: Checked, job: Job | None = None,
            on_progress: Callable[[int, int], None] | None = None, poll: float = 0.1) -> Result:
        """Compare ``checked.option`` with ``checked.baseline`` (same seeds) and draw the views.
        Raises Cancelled if ``job`` is cancelled first; ``on_progress(done, total)`` is called from
        this thread while the replicates run."""
        job = job or Job()
        t0 = time.perf_counter()
        c = checked.controls
        todo = [s for s in ([checked.baseline] + ([checked.option] if checked.changed else []))
                if self._get(s, c.seed, c.replicates) is None]
        job.total = c.replicates * len(todo)
        if todo:
            outcome: dict[str, object] = {}
            runner = threading.Thread(target=self._run_all, args=(todo, c.seed, c.replicates, job, outcome),
                                      name="tuopin-dashboard-job", daemon=True)
            runner.start()
            while runner.is_alive():
                runner.join(poll)
                if on_progress is not None:
                    on_progress(job.done, job.total)
            if "error" in outcome:
                raise outcome["error"]  # type: ignore[misc]
        if job.cancelled:
            raise Cancelled()
        base = self._get(checked.baseline, c.seed, c.replicates)
        option = self._get(checked.option, c.seed, c.replicates) if checked.changed else base
        cmp = Comparison([BASELINE, OPTION], [checked.baseline, checked.option], [base, option], c.seed)
        try:
            shown = views(cmp, self.pool())
        except BrokenProcessPool:
            self._discard_pool()
            shown = views(cmp)
        if job.cancelled:
            raise Cancelled()
        return Result(checked, cmp, shown, time.perf_counter() - t0, job.total)

    def _run_all(self, scenarios: list[LoadedScenario], seed: int, replicates: int, job: Job, outcome: dict) -> None:
        try:
            executor = _JobExecutor(self.pool(), job)
            for scenario in scenarios:
                ens = run_ensemble(scenario, seed=seed, replicates=replicates, executor=executor, progress=False)
                self._put(scenario, seed, replicates, ens)
        except (Cancelled, CancelledError):
            job.cancel()
        except BrokenProcessPool:
            self._discard_pool()
            outcome["error"] = EnsembleError("a worker process died: change a control to run again")
        except BaseException as exc:  # shown in the page; the engine stays up
            outcome["error"] = exc

    def _key(self, scenario: LoadedScenario, seed: int, replicates: int) -> tuple:
        return (scenario.spec.digest(), seed, replicates)

    def _get(self, scenario: LoadedScenario, seed: int, replicates: int) -> Ensemble | None:
        key = self._key(scenario, seed, replicates)
        with self._lock:
            ens = self._kept.get(key)
            if ens is not None:
                self._kept.move_to_end(key)
            return ens

    def _put(self, scenario: LoadedScenario, seed: int, replicates: int, ens: Ensemble) -> None:
        with self._lock:
            self._kept[self._key(scenario, seed, replicates)] = ens
            while len(self._kept) > 2 * KEPT:
                self._kept.popitem(last=False)


def _ready() -> bool:
    """Run in a worker to start it: imports, and a first chart (Matplotlib reads its fonts then)."""
    from .. import model  # noqa: F401
    from .dashboard_charts import _figure, png

    fig = _figure(1, 1)
    fig.add_subplot().set_title("warm")
    png(fig)
    return True
