"""``tuopin compare A.toml B.toml …``: budget options side by side, as a results folder.

``compare_to_folder`` runs every option with common random numbers into ``out/options/<name>``
(each a resumable run of its own) and publishes, as one set: the comparison's tables (CSV and
Parquet), its self-contained HTML report, the terminal table as text, and a manifest from which
``tuopin reproduce`` runs the whole comparison again. A folder that holds another comparison is
never written over silently (``settle_compare_out``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import pandas as pd
import typer

from ..analysis.compare import Comparison, check_comparable, compare, option_names
from ..analysis.compare_report import charts, html_report, terminal_text
from ..analysis import html as page
from ..core.streams import replicate_seeds
from ..execution.ensemble import manifest_info
from ..execution.executors import DASK_ENV
from ..execution.folder import free_folder, locked, new_set, published
from ..execution.output import MANIFEST, write_bytes, write_table
from ..inputs.arguments import check_replicates, check_seed
from ..inputs.scenario import LoadedScenario

COMMAND = "compare"
DEFAULT_REPLICATES = 20  # enough for a 5–95 % band to mean something at a minute or two of running
REPORT = "report.html"
TERMINAL = "comparison.txt"
OPTION_FIELDS = ("scenario_name", "scenario_files", "scenario", "scenario_digest", "parameters", "parameter_set_id",
                 "parameter_sets")


def default_compare_out(names: list[str]) -> Path:
    return Path("results") / f"compare-{names[0]}"


def _identity(names: list[str], scenarios: list[LoadedScenario], seed: int) -> dict:
    from ..execution.ensemble import parameters_digest

    return {"options": [[n, s.spec.digest(), parameters_digest(s)] for n, s in zip(names, scenarios)],
            "root_seed": seed}


def _published_identity(out: Path) -> dict | None:
    folder = published(out)
    if folder is None:
        return None
    try:
        info = json.loads((folder / MANIFEST).read_text())
        return {"options": [[o["name"], o["scenario_digest"], o["parameter_set_id"]] for o in info["options"]],
                "root_seed": info["root_seed"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {"options": "unreadable", "root_seed": None}


def settle_compare_out(names: list[str], scenarios: list[LoadedScenario], seed: int, out: Path | None,
                       replace: bool = False) -> Path:
    """The folder a comparison writes: one holding the same comparison is resumed; one holding
    another is refused if asked for, passed over for ``<name>-N`` if it was the default."""
    mine = _identity(names, scenarios, seed)
    return free_folder(default_compare_out(names), out, replace,
                       same=lambda folder: _published_identity(folder) in (None, mine),
                       refusal=lambda folder: f"{folder} holds another comparison (other options, settings or "
                                              "seed): give another --out, or --replace to replace it")


def comparison_tables(cmp: Comparison) -> dict[str, pd.DataFrame]:
    return {"outcomes": cmp.outcomes, "summary": cmp.summary.reset_index(), "differences": cmp.differences,
            "paired": cmp.paired.reset_index(), "yearly": cmp.yearly, "pathways": cmp.pathways,
            "spending": cmp.spending, "budgets": cmp.budgets}


def compare_manifest(cmp: Comparison) -> dict:
    options = []
    for n, ens in zip(cmp.names, cmp.ensembles):
        info = manifest_info(ens, COMMAND)
        options.append({"name": n, **{k: info[k] for k in OPTION_FIELDS}})
    replicates = len(cmp.ensembles[0].seeds)
    return {"command": COMMAND, "options": options, "root_seed": cmp.root_seed, "replicates": replicates,
            "replicate_seeds": replicate_seeds(cmp.root_seed, replicates)}


def compare_to_folder(scenarios: list[LoadedScenario], out: Path | None = None, *, names: list[str] | None = None,
                      seed: int | None = None, replicates: int = DEFAULT_REPLICATES, workers: int | None = None,
                      dask: str | None = None, progress: bool = False, replace: bool = False,
                      command: str = COMMAND) -> tuple[Comparison, Path]:
    """Run the comparison (resuming what ``out`` holds of it) and publish its files; returns the
    comparison and the manifest's path."""
    check_comparable(scenarios)
    names = option_names(scenarios, names)
    seed = check_seed(scenarios[0].spec.scenario.seed if seed is None else seed, command, "seed")
    replicates = check_replicates(replicates, command, "replicates")
    out = settle_compare_out(names, scenarios, seed, out, replace)
    with locked(out, command), new_set(out) as staged:
        cmp = compare(scenarios, seed=seed, replicates=replicates, workers=workers, dask=dask, names=names,
                      progress=progress, out=out)
        for name, table in comparison_tables(cmp).items():
            write_table(staged.folder, name, table)
        figures = {n: page.png(f) for n, f in charts(cmp).items()}
        write_bytes(staged.folder / REPORT, html_report(cmp, figures).encode())
        write_bytes(staged.folder / TERMINAL, terminal_text(cmp).encode())
        manifest = staged.publish(compare_manifest(cmp))
    return cmp, manifest


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_command)


def compare_command(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario TOML files; the first is the baseline.")],
    replicates: Annotated[int, typer.Option(min=1, help="Replicates per option (the same seeds for every option).")] = DEFAULT_REPLICATES,
    seed: Annotated[Optional[int], typer.Option(min=0, max=2**63 - 1, help="Root seed (default: the baseline's).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Results folder (default: results/compare-<baseline>). Running again resumes.")] = None,
    names: Annotated[Optional[str], typer.Option(help="Option names, comma-separated (default: the scenarios' names).")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes (default: one per core). Results do not depend on it.")] = None,
    dask: Annotated[Optional[str], typer.Option(help=f"Dask scheduler address, or 'local' (default: ${DASK_ENV}, else the config file, else local).")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a results folder that holds another comparison.")] = False,
    allow_outside: Annotated[bool, typer.Option(help="Let 'extends' reach files outside each scenario's folder.")] = False,
) -> None:
    """Compare budget options: sustained exits, returns, cost per sustained exit, paired differences
    with intervals; tables, an HTML report and a manifest in the results folder."""
    from ..execution.executors import dask_address
    from ..inputs.errors import InputError
    from ..inputs.scenario import load_scenario
    from .refusals import refusals

    with refusals():
        loaded = [load_scenario(s, allow_outside=allow_outside) for s in scenarios]
        given = [n.strip() for n in names.split(",")] if names else None
        if given is not None and len(given) != len(loaded):
            raise InputError("<command line>", "--names", names, f"{len(given)} name(s) for {len(loaded)} scenario(s)")
        cmp, manifest = compare_to_folder(loaded, out, names=given, seed=seed, replicates=replicates, workers=workers,
                                          dask=dask_address(dask), progress=sys.stderr.isatty(), replace=replace)
    reused = sum(e.reused for e in cmp.ensembles)
    if reused:
        typer.echo(f"resumed: {reused} of {sum(len(e.seeds) for e in cmp.ensembles)} option replicates were "
                   "already in the folder and reused", err=True)
    typer.echo(terminal_text(cmp), nl=False)
    typer.echo(f"\nreport: {manifest.parent / REPORT}\nmanifest: {manifest}")
