"""Command line: ``tuopin run``, ``reproduce``, ``validate``, ``params``, ``bench``.

Bad input ends with one line naming the file, the key and the value, and exit status 2; a bad
option (a seed, a number of replicates or workers, a Dask address) is named as the option it is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..execution.executors import DASK_ENV
from ..inputs.arguments import COMMAND_LINE, MAX_REPLICATES, check_replicates, check_seed, check_workers
from . import calibration_commands, compare_commands
from .refusals import refusals

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="tuopin: agent-based scenarios of exits from and returns to poverty.")


RESUMES = "the replicates finished so far are kept: run the same command again to resume"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tuopin {version('tuopin')}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """tuopin: agent-based scenarios of exits from and returns to poverty."""


def _run_options(seed, replicates, workers) -> tuple[int | None, int, int | None]:
    """The run options checked here, so that a bad one is named as the option it is."""
    return (None if seed is None else check_seed(seed, COMMAND_LINE, "--seed"),
            check_replicates(replicates, COMMAND_LINE, "--replicates"), check_workers(workers, COMMAND_LINE, "--workers"))


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. scenarios/sanming.toml.")],
    seed: Annotated[Optional[int], typer.Option(help="Root seed, 0 to 2**63 - 1 (default: the scenario's seed).")] = None,
    replicates: Annotated[int, typer.Option(help=f"Replicates, 1 to {MAX_REPLICATES:,}, each with its own seed derived from the root seed.")] = 1,
    seed_file: Annotated[Optional[Path], typer.Option(help="Take the root seed and replicates from a seeds.toml written by an earlier run.")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: one per core). Results do not depend on it.")] = None,
    dask: Annotated[Optional[str], typer.Option(help=f"Run replicates on the Dask scheduler at this address, or 'local' for local processes (default: ${DASK_ENV}, else execution.dask in the config file, else local). Results do not depend on it.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Results folder (default: results/<scenario name>). Rerunning into it resumes.")] = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots.")] = True,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    allow_outside: Annotated[bool, typer.Option(help="Let 'extends' reach files outside the scenario's folder.")] = False,
    replace: Annotated[bool, typer.Option(help="Replace a results folder that holds another run (without it such a folder is refused, or, by default, passed over for results/<name>-N).")] = False,
) -> None:
    """Run a scenario: yearly tables (CSV, Parquet), plots, seeds, a manifest, and a summary here."""
    from ..analysis.report import summary_text
    from ..execution.executors import dask_address
    from .runs import read_seed_file, run_scenario
    from ..inputs.scenario import load_scenario

    with refusals(interrupted=RESUMES):
        seed, replicates, workers = _run_options(seed, replicates, workers)
        loaded = load_scenario(scenario, allow_outside=allow_outside)
        if seed_file is not None:
            seed, replicates = read_seed_file(seed_file)
        ens, manifest = run_scenario(loaded, seed=seed, replicates=replicates, workers=workers, out=out,
                                     plots=plots, progress=progress and sys.stderr.isatty(),
                                     dask=dask_address(dask), replace=replace)
    if ens.reused or ens.replaced:
        typer.echo(_resume_note(ens), err=True)
    typer.echo(summary_text(ens))
    typer.echo(f"\nResults in {manifest.parent}/ (manifest: {manifest.name})")


def _resume_note(ens) -> str:
    note = f"resumed: reused {ens.reused} of {len(ens.seeds)} replicates in {ens.out / 'replicates'}"
    if ens.replaced:
        note += (f"; ran {ens.replaced} again (" + ("it was" if ens.replaced == 1 else "they were")
                 + " another run's, or damaged)")
    return note


@app.command()
def reproduce(
    manifest: Annotated[Path, typer.Argument(help="manifest.json of a published run.")],
    out: Annotated[Optional[Path], typer.Option(help="A new or empty folder to re-run in (default: a new <results folder>-reproduced[-N] beside the results).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes.")] = None,
    dask: Annotated[Optional[str], typer.Option(help=f"Dask scheduler address, or 'local' (default as for run: ${DASK_ENV}, else the config file, else local).")] = None,
) -> None:
    """Check the published files against the manifest, re-run it in a fresh folder and compare
    every output file; exit 1 on any difference."""
    from ..execution.executors import dask_address
    from .reproduce import check_fresh, reproduce as do_reproduce

    with refusals(interrupted="nothing was compared; the results checked are unchanged"):
        check_workers(workers, COMMAND_LINE, "--workers")
        if out is not None:
            check_fresh(out, COMMAND_LINE, "--out")
        report = do_reproduce(manifest, out=out, workers=workers, dask=dask_address(dask))
    typer.echo(report.text())
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    allow_outside: Annotated[bool, typer.Option(help="Let 'extends' reach outside the scenario's folder.")] = False,
) -> None:
    """Check a scenario file (and what it extends) without running it."""
    from ..inputs.scenario import load_scenario

    with refusals():
        loaded = load_scenario(scenario, allow_outside=allow_outside)
    typer.echo(f"ok: {loaded.name} ({' <- '.join(str(f) for f in reversed(loaded.files))})")


@app.command()
def params(
    scenario: Annotated[Optional[Path], typer.Option(help="Show values in force under this scenario.")] = None,
    csv: Annotated[bool, typer.Option(help="Print CSV instead of a table.")] = False,
) -> None:
    """List every parameter with its value, unit, range, source and the document(s) it cites
    (short English title; --csv adds the ids and the full English and Chinese titles). A value a
    calibration chose is marked (calibrated); --csv gives the calibration's note."""
    from ..inputs.params import ParameterSet
    from ..inputs.scenario import load_scenario

    with refusals():
        ps = load_scenario(scenario).params if scenario else ParameterSet.defaults()
    df = ps.table()
    if csv:
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        def short(v):
            if isinstance(v, dict):  # dated: first and last
                (y0, v0), (y1, v1) = next(iter(v.items())), list(v.items())[-1]
                return f"{y0}: {v0} … {y1}: {v1}"
            return str(v)

        df["value"] = [short(v) + (" (calibrated)" if c else "") for v, c in zip(df["value"], df["calibrated"])]
        df["range"] = df["range"].map(lambda r: "" if r is None else f"{r[0]}–{r[1]}")
        df["source"] = df["source"].map(lambda t: t if len(t) <= 50 else t[:49] + "…")
        df["document"] = df["document"].map(lambda t: t if len(t) <= 72 else t[:71] + "…")
        cols = ["name", "value", "unit", "range", "source", "document"]
        table = df[cols].astype(str)
        widths = {c: max(len(c), int(table[c].str.len().max())) for c in cols}
        typer.echo("  ".join(c.ljust(widths[c]) for c in cols).rstrip())
        for row in table.itertuples(index=False):
            typer.echo("  ".join(str(v).ljust(widths[c]) for c, v in zip(cols, row)).rstrip())


app.command()(calibration_commands.calibrate)
app.command()(calibration_commands.sensitivity)
from . import dashboard; app.command()(dashboard.dashboard)  # noqa: E402,E702 (beside the other commands)
compare_commands.register(app)
from . import optimize_commands; optimize_commands.register(app)  # noqa: E402,E702 (beside the other commands)


@app.command()
def bench(
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    sizes: Annotated[str, typer.Option(help="Comma-separated household counts.")] = "100000,1000000,1200000",
    months: Annotated[int, typer.Option(min=1, help="Months simulated per run.")] = 60,
    quick: Annotated[bool, typer.Option(help="Skip the 10 M-household province run and estimate 100 replicates from the warm rate.")] = False,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per worker count for the ensemble rates.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Runs per population size (each in a fresh process); "
                                         "the median speed is reported, with the slowest and the fastest.")] = 3,
    parts: Annotated[str, typer.Option(help="Comma-separated parts to run: engine, replicates, province, "
                                       "calibration, compare, optimize, dashboard (default: all).")] = "",
) -> None:
    """Speed and memory: household-months/s and bytes per household by size, Sanming replicates per
    minute on 1 and 2 processes, whole provinces (Yunnan's register; its 10 M rural households),
    the calibration, a comparison of three options, the optimiser and the dashboard's update, each
    against its target."""
    from .bench import PARTS, format_all, run_all

    chosen = tuple(p.strip() for p in parts.split(",") if p.strip()) or PARTS
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        typer.echo(f"bench: --parts {unknown[0]!r}: not a part (parts: {', '.join(PARTS)})", err=True)
        raise typer.Exit(2)
    figures = run_all([int(s) for s in sizes.split(",") if s.strip()], months, quick=quick, replicates=replicates,
                      parts=chosen, repeats=repeats)
    typer.echo(json.dumps(figures, indent=2) if as_json else format_all(figures))


if __name__ == "__main__":
    app()
