"""The command ``tuopin optimize``: the split of a total budget across a scenario's programmes
that gives the most sustained exits (or meets the plan's targets at least cost), the trade-off
between the total and sustained exits, a results folder and a summary that fits 100 columns.

``register(app)`` adds the command to the ``tuopin`` application; the search itself is
``sim/analysis/optimize.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..analysis import optimize as opt_mod
from ..execution.executors import DASK_ENV
from .progress import progress_bar

SUMMARY_WIDTH = 100  # columns the summary fits in
NO_TRADEOFF = ("", "none")


def _fractions(text: str) -> tuple[float, ...]:
    """``0.6,0.8,1,1.2`` as numbers; ``none`` (or nothing) for no trade-off curve."""
    from ..inputs.arguments import COMMAND_LINE
    from ..inputs.errors import InputError

    if text.strip().lower() in NO_TRADEOFF:
        return ()
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(COMMAND_LINE, "--tradeoff", text, "fractions of the total, separated by commas",
                         "e.g. 0.6,0.8,1,1.2,1.4, or none") from None


def optimize(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file, e.g. scenarios/sanming.toml.")],
    total: Annotated[Optional[float], typer.Option(help="Total budget, yuan over the whole run, to split across the scenario's programmes (default: the scenario's own budgets over the run).")] = None,
    objective: Annotated[str, typer.Option(help="'sustained-exits': the most sustained exits at the total; 'cost-to-target': the least spending that meets the registered-poor targets (plan reductions and \\[\\[observations]]), the total at most --total.")] = opt_mod.SUSTAINED,
    evaluations: Annotated[int, typer.Option(help="Candidate splits of the main search (the baseline split is the first).")] = opt_mod.DEFAULT_EVALUATIONS,
    replicates: Annotated[int, typer.Option(help="Replicates per candidate: the same seeds for every candidate (common random numbers).")] = opt_mod.DEFAULT_REPLICATES,
    confirm_replicates: Annotated[int, typer.Option(help="Fresh replicates on which the best and the baseline split are run again for the intervals reported.")] = opt_mod.DEFAULT_CONFIRM_REPLICATES,
    tradeoff: Annotated[str, typer.Option(help="Totals of the trade-off curve as fractions of --total, comma-separated, or 'none'.")] = ",".join(f"{f:g}" for f in opt_mod.DEFAULT_TRADEOFF),
    tradeoff_evaluations: Annotated[int, typer.Option(help="Candidates searched at each total of the curve (the given total reuses the main search).")] = opt_mod.DEFAULT_TRADEOFF_EVALUATIONS,
    bound: Annotated[Optional[list[str]], typer.Option(help="Bounds on a programme's share of the total, PROGRAMME=LOW:HIGH, e.g. welfare=0.3:1 (repeat for more; default 0:1).")] = None,
    profile: Annotated[str, typer.Option(help="Yearly spread of a programme's amount: 'total' (the scenario's total budget by year) or 'own' (the programme's own budget by year).")] = opt_mod.DEFAULT_PROFILE,
    spread: Annotated[float, typer.Option(help="Search range: a programme's weight goes from its baseline weight / SPREAD to × SPREAD (then the split is put within the bounds).")] = opt_mod.DEFAULT_SPREAD,
    batch: Annotated[int, typer.Option(help="Candidates proposed together and run in parallel. Results depend on it, not on --workers.")] = opt_mod.DEFAULT_BATCH,
    startup_share: Annotated[float, typer.Option(help="Share of a search's candidates drawn at random before the sampler models the results.")] = opt_mod.DEFAULT_STARTUP_SHARE,
    target_slack: Annotated[float, typer.Option(help="cost-to-target: a plan target is met within this share of the registered poor persons at the start.")] = opt_mod.DEFAULT_TARGET_SLACK,
    min_total_share: Annotated[float, typer.Option(help="cost-to-target: the lowest total searched, as a share of --total.")] = opt_mod.DEFAULT_MIN_TOTAL_SHARE,
    seed: Annotated[Optional[int], typer.Option(help="Root seed of the replicates, 0 to 2**63 - 1 (default: the scenario's).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: one per core). Results do not depend on it.")] = None,
    dask: Annotated[Optional[str], typer.Option(help=f"Dask scheduler address, or 'local' (default: ${DASK_ENV}, else the config file, else local). Results do not depend on it.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Results folder (default: results/<scenario name>-optimize).")] = None,
    replace: Annotated[bool, typer.Option(help="Replace a results folder that holds another run.")] = False,
    allow_outside: Annotated[bool, typer.Option(help="Let 'extends' reach files outside the scenario's folder.")] = False,
) -> None:
    """Find the split of a total budget across the scenario's programmes that gives the most
    sustained exits (or meets the targets at least cost), with the trade-off curve between the
    total and sustained exits: evaluations.csv, tradeoff.csv and .png, best.toml, a manifest."""
    from ..execution.executors import dask_address, local_workers
    from ..inputs.arguments import COMMAND_LINE, check_workers
    from ..inputs.scenario import load_scenario
    from .refusals import refusals
    from .runs import check_memory

    with refusals(interrupted="nothing was written (an optimisation does not resume)"):
        loaded = load_scenario(scenario, allow_outside=allow_outside)
        bounds = {}
        for text in bound or []:
            programme, low, high = opt_mod.parse_bound(text, COMMAND_LINE)
            bounds[programme] = (low, high)
        options = dict(objective=objective, seed=seed, evaluations=evaluations, replicates=replicates,
                       batch=batch, startup_share=startup_share, confirm_replicates=confirm_replicates,
                       tradeoff=_fractions(tradeoff), tradeoff_evaluations=tradeoff_evaluations, bounds=bounds,
                       profile=profile, target_slack=target_slack, min_total_share=min_total_share, spread=spread)
        address = dask_address(dask)
        check_memory(loaded, 1 if address else local_workers(check_workers(workers, COMMAND_LINE, "--workers"), 2))
        bar, update = progress_bar(f"optimizing {loaded.name}")
        try:
            result, manifest = opt_mod.run_optimisation(loaded, total, out=out, replace=replace, origin=COMMAND_LINE,
                                                        workers=workers, dask=address, progress=update, **options)
        finally:
            bar.close()
    print_summary(result, manifest.parent)


# ---- the summary ----------------------------------------------------------------------------------

def _m(yuan: float) -> str:
    return f"{yuan / 1e6:,.1f}"


def _persons(values) -> str:
    mean, low, high = opt_mod._interval(values)
    return f"{mean:,.0f} [{low:,.0f}–{high:,.0f}]"


def _signed(values) -> str:
    mean, low, high = opt_mod._interval(values)
    return f"{mean:+,.0f} [{low:+,.0f}…{high:+,.0f}]"


def summary_renderables(opt: "opt_mod.Optimisation", folder: Path | None = None) -> list:
    """The summary as rich renderables (tables and lines), each at most 100 columns wide."""
    from rich.table import Table
    from rich.text import Text

    s = opt.settings
    years = opt.space.years
    cost = s.objective == opt_mod.COST
    out: list = []
    goal = ("the least spending that meets the registered-poor targets, total at most"
            if cost else "the most sustained exits at")
    out.append(Text.assemble(("tuopin optimize ", "bold"), (opt.scenario.name, "bold cyan"),
                             f": {goal} {_m(s.total)} M yuan over {years[0]}–{years[-1]}"))
    minutes, seconds = divmod(round(opt.elapsed_seconds), 60)
    where = f"Dask at {opt.dask}" if opt.dask else f"{opt.workers or 'one per core'} worker(s)"
    out.append(Text(f"{len(opt.candidates)} candidates × {s.replicates} replicates (root seed {s.seed}), "
                    f"{opt.simulations:,} simulations in {minutes} min {seconds:02d} s on {where}"))
    chosen = opt.best or opt.closest
    if cost and opt.best is None:
        out.append(Text("No candidate met every target: there is no best split. The closest candidate "
                        "(below) misses, on the mean of the search replicates:", style="bold red"))
        viol = opt_mod._violations(opt.closest.observed(), opt.targets)
        for t, v in zip(opt.targets, viol):
            if v > 0:
                out.append(Text(f"  {t.label}: {v:,.0f} above the target {t.value:,.0f} + {t.tolerance:,.0f} "
                                "allowed", style="red"))
    label = "best split" if opt.best is not None else "closest split"

    split = Table(title="Budget split (shares of the total; million yuan over the run)", title_justify="left",
                  min_width=60)
    for col in ("programme", "baseline", "", label, " ", "change"):
        split.add_column(col, justify="left" if col == "programme" else "right")
    base_total, best_total = s.total, chosen.total
    for p, b, c in zip(opt.programmes, opt.space.baseline, chosen.shares):
        split.add_row(p, f"{b:.1%}", _m(b * base_total), f"{c:.1%}", _m(c * best_total),
                      f"{(c * best_total - b * base_total) / 1e6:+,.1f}")
    split.add_row("total", "100.0%", _m(base_total), "100.0%", _m(best_total),
                  f"{(best_total - base_total) / 1e6:+,.1f}", style="bold")
    out.append(split)
    edge = opt_mod.at_edge(opt)
    if edge:
        out.append(Text(f"At the edge of the search range: {', '.join(edge)} (a wider --spread may find more).",
                        style="yellow"))

    best = opt.confirmed("main", 1.0, "best")
    base = opt.confirmed("main", 1.0, "baseline")
    table = Table(title=f"Outcomes on {s.confirm_replicates} fresh replicates: mean [5–95 %]", title_justify="left")
    for col in ("outcome", "baseline split", label, f"{label.split()[0]} − baseline"):
        table.add_column(col, justify="left" if col == "outcome" else "right")
    for name, column, scale in (("sustained exits, persons", "sustained_exits_persons", 1.0),
                                ("registered poor at the end, persons", "registered_persons_end", 1.0),
                                ("spent, M yuan", "spent", 1e6)):
        b, c = base[column].to_numpy() / scale, best[column].to_numpy() / scale
        fmt = (lambda v: _persons(v)) if scale == 1.0 else (lambda v: "{:,.1f} [{:,.1f}–{:,.1f}]".format(*opt_mod._interval(v)))
        diff = _signed(c - b) if scale == 1.0 else "{:+,.1f} [{:+,.1f}…{:+,.1f}]".format(*opt_mod._interval(c - b))
        table.add_row(name, fmt(b), fmt(c), diff)
    if opt.targets:
        met = []
        for df in (base, best):
            observed = df[[f"observed:{opt_mod._label(t)}" for t in opt.targets]].mean().to_numpy()
            met.append(int((opt_mod._violations(observed, opt.targets) <= 0).sum()))
        table.add_row("registered-poor targets met", f"{met[0]} of {len(opt.targets)}", f"{met[1]} of {len(opt.targets)}", "")
    out.append(table)

    if not opt.tradeoff.empty:
        trade = Table(title="Trade-off: sustained exits (persons) by total, mean [5–95 %] on the fresh replicates",
                      title_justify="left")
        for col in ("total, M yuan", "best split found", "baseline split", "gain"):
            trade.add_column(col, justify="right")
        if "targets_met" in opt.tradeoff:
            trade.add_column("targets", justify="right")
        for r in opt.tradeoff.itertuples():
            row = [f"{_m(r.total_yuan)} ({r.level:.0%})",
                   f"{r.best_sustained_mean:,.0f} [{r.best_sustained_p05:,.0f}–{r.best_sustained_p95:,.0f}]",
                   f"{r.baseline_sustained_mean:,.0f} [{r.baseline_sustained_p05:,.0f}–{r.baseline_sustained_p95:,.0f}]",
                   f"{r.gain_mean:+,.0f}"]
            if "targets_met" in opt.tradeoff:
                row.append("met" if r.targets_met else "not met")
            trade.add_row(*row)
        out.append(trade)
    if folder is not None:
        out.append(Text(f"Results in {folder}/ (evaluations.csv, tradeoff.csv, tradeoff.png, confirmation.csv, "
                        "manifest.json)"))
        if opt.best is not None:
            out.append(Text(f"Run the best split: tuopin run {folder / 'best.toml'} --allow-outside --seed {s.seed} "
                            f"--replicates {s.replicates + s.confirm_replicates}"))
    return out


def print_summary(opt: "opt_mod.Optimisation", folder: Path | None = None, console=None) -> None:
    from rich.console import Console

    if console is None:
        probe = Console()
        width = min(SUMMARY_WIDTH, probe.width) if probe.is_terminal else SUMMARY_WIDTH
        console = Console(width=width, highlight=False)
    for item in summary_renderables(opt, folder):
        console.print(item)


def register(app: typer.Typer) -> None:
    """Add ``tuopin optimize`` to the application."""
    app.command()(optimize)
