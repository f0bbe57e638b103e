"""The commands ``tuopin calibrate`` and ``tuopin sensitivity``: calibration against published
targets (ABC-SMC, resumable, with a fit report and a manifest) and which assumptions drive the
results (Morris screening, Sobol indices)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..execution.executors import DASK_ENV
from .progress import progress_bar

DEFAULT_FREE = Path("calibration") / "free_parameters.txt"


def _free_names(path: Path | None) -> list[str] | None:
    """Parameter names, one a line (``#`` starts a comment), or None for every assumption."""
    if path is None:
        return None
    from ..inputs.errors import InputError

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, "", None, f"cannot read the list of free parameters: {exc}") from None
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file to calibrate.")],
    targets: Annotated[Optional[Path], typer.Option(help="Targets CSV (calibration/targets/*.csv); the scenario's own \\[\\[observations]] are added.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Calibration folder (default: calibration/<scenario name>). Running again resumes.")] = None,
    free: Annotated[Optional[Path], typer.Option(help="File naming the free parameters, one a line (default: calibration/free_parameters.txt if it exists, else every assumption with a range).")] = None,
    particles: Annotated[int, typer.Option(min=2, help="Particles: parameter sets kept in each generation (the posterior holds their distinct sets).")] = 60,
    candidates: Annotated[int, typer.Option(min=2, help="Candidates run per generation: the prior draws of the first, and candidates // particles moves of every particle in each later one.")] = 120,
    generations: Annotated[int, typer.Option(min=1, help="Generations of ABC-SMC (each lowers the threshold to the particles' median distance).")] = 10,
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per candidate: the same seeds for every candidate (common random numbers).")] = 4,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Root seed of the calibration.")] = 5,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes (default: one per core). Results do not depend on it.")] = None,
    dask: Annotated[Optional[str], typer.Option(help=f"Dask scheduler address, or 'local' (default: ${DASK_ENV}, else the config file, else local).")] = None,
    report_runs: Annotated[int, typer.Option(min=2, help="Runs with posterior draws for the fit report.")] = 20,
) -> None:
    """Calibrate a scenario against published targets (ABC-SMC with moves): the posterior's parameter sets, a
    calibrated parameter file, a fit report (HTML, PNG) and a manifest."""
    from ..analysis.calibrate import run_calibration
    from ..execution.executors import dask_address
    from ..inputs.scenario import load_scenario
    from ..inputs.targets import load_targets
    from .refusals import refusals

    with refusals():
        loaded = load_scenario(scenario)
        places = [c.name for c in loaded.spec.population.counties]
        target_list = (load_targets(targets, places) if targets else []) + loaded.targets()
        if not target_list:
            from ..inputs.errors import InputError

            raise InputError(scenario, "observations", None, "no targets: give --targets or [[observations]]")
        free_file = free if free is not None else (DEFAULT_FREE if DEFAULT_FREE.is_file() else None)
        out = out or Path("calibration") / loaded.name
        bar, update = progress_bar(f"calibrating {loaded.name}")
        try:
            cal, manifest = run_calibration(
                loaded, target_list, out, free_names=_free_names(free_file), particles=particles,
                candidates=candidates, generations=generations, replicates=replicates, seed=seed, workers=workers,
                dask=dask_address(dask), report_runs=report_runs, targets_file=str(targets or ""), progress=update)
        finally:
            bar.close()
    for g in cal.generations:
        moves = f", moves accepted {g.acceptance:.0%}" if g.index else ""
        typer.echo(f"generation {g.index}: threshold {g.threshold:.3f}, best {g.distances.min():.3f}{moves}")
    typer.echo(f"\nPosterior: {len(cal.posterior)} distinct parameter sets in {out}/posterior.parquet; "
               f"calibrated values in {out}/parameters.toml; fit report {out}/fit/report.html")
    typer.echo(f"manifest: {manifest}")


def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    method: Annotated[str, typer.Option(help="'morris' (a cheap screen of every assumption) or 'sobol' (variance shares of the named ones).")] = "morris",
    targets: Annotated[Optional[Path], typer.Option(help="Targets CSV: adds the distance to them as an output.")] = None,
    free: Annotated[Optional[Path], typer.Option(help="File naming the parameters, one a line (default: every assumption with a range for morris; calibration/free_parameters.txt for sobol).")] = None,
    trajectories: Annotated[int, typer.Option(min=2, help="Morris trajectories: (parameters + 1) × trajectories runs.")] = 10,
    samples: Annotated[int, typer.Option(min=4, help="Sobol base samples: samples × (2 × parameters + 2) runs.")] = 64,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Seed of the sampler and of the runs.")] = 1,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes.")] = None,
    dask: Annotated[Optional[str], typer.Option(help="Dask scheduler address, or 'local'.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Folder for the table (CSV) and the plot (PNG) (default: calibration/<scenario>-<method>).")] = None,
) -> None:
    """Which parameters drive exits, returns and cost: Morris mu* or Sobol S1/ST, a table and a plot."""
    from ..analysis.sensitivity import morris, plot, sobol
    from ..execution.executors import dask_address
    from ..execution.output import write_bytes
    from ..inputs.errors import InputError
    from ..inputs.scenario import load_scenario
    from ..inputs.targets import load_targets
    from .refusals import refusals

    with refusals():
        if method not in ("morris", "sobol"):
            raise InputError("<command line>", "--method", method, "unknown method", "morris, sobol")
        loaded = load_scenario(scenario)
        target_list = load_targets(targets, [c.name for c in loaded.spec.population.counties]) if targets else None
        free_file = free if free is not None else (DEFAULT_FREE if method == "sobol" and DEFAULT_FREE.is_file() else None)
        names = _free_names(free_file)
        bar, update = progress_bar(f"{method} {loaded.name}")
        try:
            if method == "morris":
                table = morris(loaded, names=names, targets=target_list, trajectories=trajectories, seed=seed,
                               workers=workers, dask=dask_address(dask), progress=update)
            else:
                if not names:
                    raise InputError("<command line>", "--free", None, "sobol needs the parameters named (a file)")
                table = sobol(loaded, names=names, targets=target_list, samples=samples, seed=seed,
                              workers=workers, dask=dask_address(dask), progress=update)
        finally:
            bar.close()
        folder = out or Path("calibration") / f"{loaded.name}-{method}"
        write_bytes(folder / f"{method}.csv", table.to_csv(index=False).encode())
        write_bytes(folder / f"{method}.png", plot(table, method))
    score = "mu_star" if method == "morris" else "ST"
    for output, part in table.groupby("output", sort=False):
        top = part.sort_values(score, ascending=False).head(8)
        typer.echo(f"\n{output}: " + ", ".join(f"{r.parameter} {getattr(r, score):.2f}" for r in top.itertuples()))
    typer.echo(f"\nTable and plot in {folder}/")
