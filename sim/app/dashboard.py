"""``tuopin dashboard``: the interactive dashboard, served on this machine; and ``bench_update``,
the time from a change of a control to updated charts.

The page (``dashboard_page.py``) is Mesa's SolaraViz on solara, run by solara's server under
uvicorn in this process. Planners move a programme's budget, the targeting, the years support
continues after exit, monitoring in the transition period, the sample, the replicates or the
seed, and see the option against the unchanged scenario (``dashboard_options.py`` turns controls
into overrides and writes the option as a scenario file; ``dashboard_runs.py`` runs the two
ensembles; ``dashboard_charts.py`` draws them). Its browser files are served from the installed
environment, never fetched from a CDN (``dashboard_assets.py``).

This module is imported by the command line at every start, so solara, Mesa's visualization and
uvicorn are imported only when the dashboard starts.
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from ..inputs.arguments import COMMAND_LINE, check_replicates, check_seed, check_workers

ROOT = Path(__file__).resolve().parents[2]
SANMING = ROOT / "scenarios" / "sanming.toml"
DEFAULT_PORT = 8521          # the port Mesa's visualizations have used
DEFAULT_SAMPLE = 0.2         # a 20 % sample: Sanming's four replicates in about a second
DEFAULT_REPLICATES = 4
TARGET_UPDATE_SECONDS = 2.0  # from a slider change to updated charts at the defaults, on 2 cores (`tuopin bench --parts dashboard`)
APP = "sim.app.dashboard_page"
# solara fetches a browser file missing from its assets folder from this address: nothing
# answers there, so a missing file fails at once instead of being fetched from a CDN at run time.
NO_CDN = "http://127.0.0.1:9/npm"


class DashboardError(Exception):
    """The dashboard cannot start (its browser files are missing, its port is taken)."""


def dashboard(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", show_default="scenarios/sanming.toml")] = SANMING,
    port: Annotated[int, typer.Option(help="Port to serve the page on.")] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(help="Address to serve on (127.0.0.1: this machine only).")] = "127.0.0.1",
    sample: Annotated[float, typer.Option(help="Share of households simulated at first (population_scale); changeable in the page.")] = DEFAULT_SAMPLE,
    replicates: Annotated[int, typer.Option(help="Replicates at first; changeable in the page.")] = DEFAULT_REPLICATES,
    seed: Annotated[Optional[int], typer.Option(help="Root seed at first (default: the scenario's).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: one per core).")] = None,
    save_to: Annotated[Optional[Path], typer.Option(help="Folder the 'Save as scenario file' button writes to (default: beside the scenario; it must hold the scenario file or a folder above it).")] = None,
    install_assets: Annotated[bool, typer.Option("--install-assets", help="Install the page's browser files (npm packages, fetched with npm from the npm registry) and exit.")] = False,
) -> None:
    """Start the interactive dashboard on this machine and print its address; Ctrl-C stops it.

    Move budgets, targeting, support after exit, monitoring, sample, replicates and seed; see the option against the unchanged scenario with the same seeds; save it as a scenario file."""
    from . import dashboard_assets
    from .refusals import refusals

    if install_assets:
        done = dashboard_assets.install()
        typer.echo("installed: " + ", ".join(done) if done else "the dashboard's browser files are installed")
        return
    with refusals(interrupted="the dashboard stopped"):
        check_replicates(replicates, COMMAND_LINE, "--replicates")
        check_workers(workers, COMMAND_LINE, "--workers")
        if seed is not None:
            check_seed(seed, COMMAND_LINE, "--seed")
        from .dashboard_options import check, start

        st = start(scenario, sample=sample, replicates=replicates, seed=seed)
        check(st, st.controls)  # a bad --sample is refused as the page would refuse it
        try:
            serve(st, host=host, port=port, workers=workers, save_to=save_to,
                  ready=lambda url: typer.echo(f"tuopin dashboard: {url}  (Ctrl-C to stop)"))
        except DashboardError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None


def serve(st, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT, workers: int | None = None,
          save_to: Path | None = None, ready: Callable[[str], None] | None = None,
          stop: threading.Event | None = None) -> None:
    """Serve the dashboard for ``st`` (a ``dashboard_options.Start``) until Ctrl-C, or until
    ``stop`` is set; ``ready(url)`` is called once the page can be loaded."""
    os.environ["SOLARA_APP"] = APP  # read when solara's server is imported
    from . import dashboard_assets

    missing = dashboard_assets.missing()
    if missing:
        raise DashboardError(f"the page's browser files are not installed ({', '.join(missing)}): "
                             "run `tuopin dashboard --install-assets` once (it fetches them with npm)")
    _check_port(host, port)

    import solara.settings
    import uvicorn
    from solara.server import settings

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.assets.fontawesome_enabled = False  # the page uses none of its icons
    solara.settings.assets.proxy = True           # browser files from the assets folder
    solara.settings.assets.cdn = NO_CDN

    from . import dashboard_page
    from .dashboard_runs import Engine

    engine = Engine(workers)
    try:
        engine.warm()
        dashboard_page.configure(st, engine, save_to)
        server = uvicorn.Server(uvicorn.Config("solara.server.starlette:app", host=host, port=port,
                                               log_level="warning", lifespan="on"))
        url = f"http://{host}:{port}/"

        def watch() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.05)
            if server.started and ready is not None:
                ready(url)
            if stop is not None:
                stop.wait()
                server.should_exit = True

        threading.Thread(target=watch, name="tuopin-dashboard-watch", daemon=True).start()
        server.run()
    finally:
        engine.close()


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise DashboardError(f"cannot serve on {host}:{port}: {exc.strerror or exc} "
                                 "(choose another with --port)") from None


def bench_update(scenario: Path = SANMING, sample: float = DEFAULT_SAMPLE, replicates: int = DEFAULT_REPLICATES,
                 workers: int = 2, changes: int = 3) -> float:
    """Seconds from a change of a budget slider to updated charts (the median of ``changes``
    changes), as the dashboard does it: the new controls checked, the option's replicates run on
    ``workers`` warm worker processes (the unchanged scenario's ensemble is kept from the
    dashboard's first run), the comparison computed and its charts drawn. Sanming at a 20 %
    sample with 4 replicates by default; the browser's own drawing is not counted."""
    from .dashboard_options import check, start
    from .dashboard_runs import Engine

    st = start(scenario, sample=sample, replicates=replicates)
    programme = next((p for p in st.programmes if p not in st.tables), st.programmes[0])
    engine = Engine(workers)
    try:
        engine.warm()
        engine.run(check(st, st.controls))  # the page's first run: the scenario alone
        seconds = []
        for k in range(1, changes + 1):
            t0 = time.perf_counter()
            moved = st.controls.with_budget(programme, st.controls.budget(programme) * (1 + 0.1 * k))
            engine.run(check(st, moved))
            seconds.append(time.perf_counter() - t0)
        return statistics.median(seconds)
    finally:
        engine.close()

