"""The dashboard's page (solara): the option's controls, the views of its comparison with the
unchanged scenario, and one run of the option month by month in Mesa's SolaraViz.

``configure`` gives the page its scenario and engine before the server starts (``dashboard.py``);
``Page`` is the solara app. Every browser session has its own controls and results; the engine,
with its worker processes and kept ensembles, is shared. A change of a control is checked at once
(a bad value is refused with the message a scenario file would get) and then run as a background
task that shows its progress and can be cancelled; a newer change cancels an older one.

SolaraViz draws the sidebar's step / play / reset controls for ``OneRun``, a ``TuopinModel`` of one
replicate of the current option, and the month-by-month charts are Mesa's ``make_plot_component``
charts of the model's DataCollector. The views are laid out here rather than in SolaraViz's
draggable grid, whose script is written for Vue 2 and fails under the Vue 3 front end solara uses
with ipyvue 3.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import solara
import solara.lab
from mesa.visualization import SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from ..core.streams import replicate_seeds
from ..inputs.errors import InputError
from ..model import TuopinModel
from . import dashboard_options as opts
from .dashboard_options import Checked, Controls, Start
from .dashboard_runs import Cancelled, Engine, Job, Result

DEBOUNCE = 0.15      # seconds: a dragged slider sends many values; only the last is run
MAX_REPLICATES = 50  # on the replicates slider (more: tuopin run)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


@dataclass
class Setup:
    start: Start
    engine: Engine
    save_to: Path | None = None


CONFIG: dict[str, Setup] = {}


def configure(start: Start, engine: Engine, save_to: Path | None = None) -> None:
    """What every session of the page shows and runs with (set before the server starts)."""
    CONFIG["setup"] = Setup(start, engine, save_to)


class Current:
    """A session's option as last checked: what ``OneRun`` builds when SolaraViz resets it."""

    def __init__(self, checked: Checked):
        self.checked = checked


class OneRun(TuopinModel):
    """One replicate of the current option, stepped through month by month in SolaraViz.

    SolaraViz rebuilds the model on Reset with the keyword arguments of its model parameters:
    ``option`` (the session's ``Current``), ``replicate``, and a Mesa scenario, which is not a
    tuopin scenario and is left out."""

    def __init__(self, option: Current | None = None, replicate: int = 0, scenario=None, rng=None):
        if option is None:
            raise ValueError("OneRun needs the session's current option")
        c = option.checked.controls
        self.replicate = min(max(int(replicate), 0), c.replicates - 1)
        super().__init__(option.checked.option, seed=replicate_seeds(c.seed, c.replicates)[self.replicate])


def _check(st: Start, c: Controls) -> tuple[Checked | None, str | None]:
    try:
        return opts.check(st, c), None
    except InputError as exc:
        return None, str(exc)


# ---- the page ------------------------------------------------------------------------------------

@solara.component
def Page():
    setup = CONFIG["setup"]
    st, engine = setup.start, setup.engine
    controls = solara.use_reactive(st.controls)
    shown = solara.use_reactive(None)        # the last finished Result
    status = solara.use_reactive("")         # what happened to the last run
    saved = solara.use_reactive(None)        # (path, message) of the last saved option
    rerun = solara.use_reactive(0)
    job_ref = solara.use_ref(None)

    c = controls.value
    checked, error = solara.use_memo(lambda: _check(st, c), [c.key()])
    current = solara.use_memo(lambda: Current(_check(st, st.controls)[0]), [])
    if checked is not None:
        current.checked = checked
    model = solara.use_reactive(solara.use_memo(lambda: OneRun(current), []))

    def new_model():
        # The month-by-month run follows the option (the replicate stepped through is kept).
        if checked is not None:
            model.set(OneRun(current, replicate=getattr(model.value, "replicate", 0)))

    solara.use_effect(new_model, [checked.option.spec.digest() if checked else None,
                                  c.seed, c.replicates])

    def update():
        previous = job_ref.current
        if previous is not None:
            previous.cancel()
        if checked is None:
            return None
        time.sleep(DEBOUNCE)
        if not task.is_current():
            return None
        job = Job()
        job_ref.current = job

        def progress(done: int, total: int) -> None:
            if task.is_current():
                task.progress = 100.0 * done / total if total else None

        try:
            result = engine.run(checked, job, progress)
        except Cancelled:
            return None
        except Exception as exc:  # shown on the page; the next change runs again
            status.set(f"error: {exc}")
            return None
        if task.is_current():
            shown.set(result)
            status.set("")
        return result

    task = solara.lab.use_task(update, dependencies=[checked.controls.key() if checked else error, rerun.value],
                               raise_error=False)

    def cancel():
        if job_ref.current is not None:
            job_ref.current.cancel()
        if task.pending:
            task.cancel()
        status.set("cancelled: the charts show the last finished run (Run to run the current controls)")

    def save():
        if checked is None:
            return
        try:
            path = opts.write_overlay(st, c, setup.save_to)
        except (InputError, OSError) as exc:
            saved.set((None, f"not saved: {exc}"))
            return
        saved.set((path, f"saved {path} (it loads as a scenario); reproduce with: "
                         f"tuopin run {path} --replicates {c.replicates}"))

    def reset():
        # Back to the scenario: the option and the seed; the sample and replicates are kept.
        controls.set(replace(st.controls, sample=c.sample, replicates=c.replicates))
        saved.set(None)

    with solara.Sidebar():
        RunCard(st, controls, engine.workers)

    SolaraViz(model, components=[], name=f"tuopin dashboard: {st.scenario.spec.scenario.title or st.scenario.name}",
              model_params={"option": current,
                            "replicate": {"type": "SliderInt", "value": 0, "min": 0,
                                          "max": max(c.replicates - 1, 1), "step": 1,
                                          "label": "Replicate stepped through (then Reset)"}})

    with solara.Column(style={"padding": "0 12px"}):
        Header(st, c, checked, error, task, shown.value, status.value, cancel, lambda: rerun.set(rerun.value + 1))
        OptionCard(st, controls, error, save, reset, saved.value)
        if shown.value is not None:
            ResultViews(shown.value, stale=shown.value.checked.controls != c)
        MonthByMonth(model.value)


@solara.component
def OptionCard(st: Start, controls: solara.Reactive[Controls], error: str | None, save, reset, saved):
    c = controls.value
    with solara.Card("Option", subtitle="what changes from the scenario; it runs against the scenario unchanged"):
        with solara.GridFixed(columns=3, align_items="end", justify_items="stretch"):
            for programme in st.programmes:
                was = st.controls.budget(programme)
                now = c.budget(programme)
                table = ", every year scaled" if programme in st.tables else ""
                with solara.Column(gap="0px", classes=[f"tuopin-budget-{programme}"]):
                    solara.Text(f"{programme}: {now:,.2f} M yuan/year (scenario {was:,.2f}{table})",
                                style={"font-size": "13px", "font-weight": "bold" if abs(now - was) >= opts.SAME_MILLION else "normal"})
                    solara.SliderFloat("", value=now, min=0.0, max=st.budget_max[programme], step=opts.BUDGET_STEP,
                                       on_value=lambda v, p=programme: controls.set(controls.value.with_budget(p, v)))
            with solara.Column(gap="0px"):
                solara.Select("Targeting", values=list(opts.TARGETINGS), value=c.targeting,
                              on_value=lambda v: controls.set(replace(controls.value, targeting=v)))
            with solara.Column(gap="0px", classes=["tuopin-support"]):
                solara.Text(f"support after exit: {c.support_years:g} years, every programme "
                            f"(scenario {st.controls.support_years:g})", style={"font-size": "13px"})
                solara.SliderInt("", value=int(round(c.support_years)),
                                 min=0, max=max(15, math.ceil(st.controls.support_years)),
                                 on_value=lambda v: controls.set(replace(controls.value, support_years=float(v))))
            with solara.Column(gap="0px"):
                solara.Checkbox(label="Monitoring of return risk, 2021–2025", value=c.monitoring,
                                disabled=not st.reaches_transition,
                                on_value=lambda v: controls.set(replace(controls.value, monitoring=bool(v))))
        notes = []
        if st.support_differs:
            notes.append("The scenario's programmes differ in support after exit ("
                         + ", ".join(f"{p} {v:g}" for p, v in st.support_by_programme.items())
                         + "); moving the slider sets them all.")
        if not st.reaches_transition:
            notes.append("The scenario ends before the transition period (2021): monitoring does not apply.")
        for note in notes:
            solara.Text(note, style={"font-size": "12px"})
        with solara.Row():
            solara.Button("Reset to the scenario", on_click=reset, outlined=True)
            solara.Button("Save as scenario file", on_click=save, color="primary", disabled=error is not None)
        if saved is not None:
            path, message = saved
            with solara.Div(classes=["tuopin-saved"]):
                (solara.Success if path is not None else solara.Error)(message)


@solara.component
def RunCard(st: Start, controls: solara.Reactive[Controls], workers: int):
    c = controls.value
    with solara.Card("Run settings", subtitle="the option and the scenario both run with these"):
        solara.InputFloat("Sample: share of households (population_scale)", value=c.sample,
                          on_value=lambda v: controls.set(replace(controls.value, sample=float(v))))
        solara.Text(f"replicates: {c.replicates}", style={"font-size": "13px"})
        solara.SliderInt("", value=c.replicates, min=1, max=MAX_REPLICATES,
                         on_value=lambda v: controls.set(replace(controls.value, replicates=int(v))))
        solara.InputInt("Root seed (common to the option and the scenario)", value=c.seed,
                        on_value=lambda v: controls.set(replace(controls.value, seed=int(v))))
        solara.Text(f"{workers} worker process(es). Tables are at full size whatever the sample.",
                    style={"font-size": "12px"})


@solara.component
def Header(st: Start, c: Controls, checked: Checked | None, error: str | None, task, result: Result | None,
           status: str, cancel, run):
    spec = st.scenario.spec
    solara.HTML(tag="h2", unsafe_innerHTML=html.escape(f"{spec.scenario.title or st.scenario.name}"),
                style={"margin": "8px 0 0 0"})
    solara.Text(f"{st.path.name} · {spec.scenario.start_year}–{spec.scenario.end_year} · "
                f"{len(spec.population.counties)} counties · sample {c.sample:g} · {c.replicates} replicate(s) · "
                f"seed {c.seed}")
    changes = opts.describe(st, c)
    solara.HTML(tag="div", attributes={"data-testid": "option-changes"},
                unsafe_innerHTML="<b>Option:</b> " + (html.escape("; ".join(changes)) if changes
                                                      else "the scenario unchanged (move a control)"))
    if error is not None:
        with solara.Div(classes=["tuopin-refused"]):
            solara.Error(f"Refused: {error}")
    elif task.pending:
        with solara.Row(style={"align-items": "center"}):
            solara.Text("Running the replicates…" if task.progress is None else f"Running: {task.progress:.0f} %")
            solara.Button("Cancel", on_click=cancel, outlined=True, color="error")
        solara.ProgressLinear(True if task.progress is None else task.progress)
    elif status:
        with solara.Row(style={"align-items": "center"}):
            solara.Text(status)
            solara.Button("Run", on_click=run, outlined=True)
    elif result is not None:
        solara.HTML(tag="div", attributes={"data-testid": "updated"},
                    unsafe_innerHTML=html.escape(
                        f"Updated in {result.seconds:.2f} s ({result.replicates_run} replicate(s) run now; "
                        f"the scenario's are kept between changes)."))


@solara.component
def ResultViews(result: Result, stale: bool):
    v = result.views
    if stale:
        solara.Warning("The charts show the previous controls until the current ones have run.")
    with solara.Columns([1, 1]):
        with solara.Card("Option − scenario, replicate by replicate (same seeds)"):
            solara.HTML(tag="div", unsafe_innerHTML=paired_html(v), attributes={"data-testid": "paired"})
            with solara.Div(classes=["tuopin-paired-chart"]):
                solara.Image(v.charts["paired"])
        with solara.Card("Registered poor against the plan's targets"):
            solara.Image(v.charts["registered"])
    with solara.Columns([1, 1, 1]):
        with solara.Card("Exits and returns per year"):
            solara.Image(v.charts["exits"])
        with solara.Card("Exits by pathway"):
            solara.Image(v.charts["pathways"])
        with solara.Card("Spending against budget"):
            solara.Image(v.charts["spending"])
    with solara.Card("Counties"):
        solara.HTML(tag="div", unsafe_innerHTML=v.counties_html, style={"overflow-x": "auto"})


def paired_html(v) -> str:
    """The paired differences as a table (mean and 5–95 % points over replicates), and the cost
    per sustained exit."""
    right = "text-align:right;padding:2px 8px"
    rows = []
    for r in v.paired:
        scale, unit = (1e6, "M yuan") if r["unit"] == "yuan" else (1, r["unit"])
        rows.append(f'<tr><td style="padding:2px 8px">{html.escape(r["label"])} ({unit})</td>'
                    f'<td style="{right}" data-outcome="{r["outcome"]}">{r["mean"] / scale:+,.{1 if scale > 1 else 0}f}</td>'
                    f'<td style="{right};color:#555">{r["p05"] / scale:+,.{1 if scale > 1 else 0}f} to '
                    f'{r["p95"] / scale:+,.{1 if scale > 1 else 0}f}</td></tr>')
    cost = v.cost

    def yuan(x: float) -> str:
        return "–" if x is None or not math.isfinite(x) else f"{x:,.0f}"

    rows.append(f'<tr><td style="padding:2px 8px">Cost per sustained exit (yuan): scenario, option</td>'
                f'<td style="{right}" data-outcome="cost_per_sustained_exit">{yuan(cost.get("option"))}</td>'
                f'<td style="{right};color:#555">scenario {yuan(cost.get("scenario"))}</td></tr>')
    low, high = cost.get("marginal_low", math.nan), cost.get("marginal_high", math.nan)
    spread = (f"95 % interval {yuan(low)} to {yuan(high)}" if math.isfinite(low) and math.isfinite(high)
              else ("no interval" if math.isfinite(cost.get("marginal", math.nan))
                    else "– : extra sustained exits not distinguishable from none"))
    rows.append(f'<tr><td style="padding:2px 8px">Marginal cost per extra sustained exit (yuan)</td>'
                f'<td style="{right}" data-outcome="marginal_cost_per_sustained_exit">{yuan(cost.get("marginal"))}</td>'
                f'<td style="{right};color:#555">{spread}</td></tr>')
    return ('<table style="border-collapse:collapse;font-size:13px"><thead><tr><th></th>'
            f'<th style="{right}">mean</th><th style="{right}">5–95 % of {v.replicates} replicates</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


PLOTS = (make_plot_component({"registered_persons": "#d62728"})[0],
         make_plot_component({"exits_persons": "#2ca02c", "returns_persons": "#ff7f0e", "entries_persons": "#1f77b4"})[0])


@solara.component
def MonthByMonth(model: OneRun):
    update_counter.get()
    last = model.datacollector.get_model_vars_dataframe().iloc[-1]
    when = f"{MONTHS[int(last.month) - 1]} {int(last.year)}" if model.month else "the start"
    with solara.Card(f"One run month by month: replicate {model.replicate + 1} of the option (seed {model.seed})",
                     subtitle=f"{when} · month {model.month} of {model.n_months} · Step, ▶ and Reset in the sidebar "
                              "(the DataCollector's series; persons at full size)"):
        with solara.Columns([1, 1, 1]):
            PLOTS[0](model)
            PLOTS[1](model)
            SpendingPlot(model)
        rows = "".join(f'<tr><td title="{html.escape(a.name_zh)}">{html.escape(a.name)}</td>'
                       f'<td style="text-align:right">{a.budget / 1e6:,.2f}</td>'
                       f'<td style="text-align:right">{a.spent / 1e6:,.2f}</td></tr>'
                       for a in model.county_agents)
        solara.HTML(tag="div", unsafe_innerHTML=(
            '<table style="border-collapse:collapse;font-size:12px"><thead><tr><th>county agent</th>'
            '<th style="text-align:right">budget this year, M yuan</th><th style="text-align:right">spent in January</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>"))


@solara.component
def SpendingPlot(model: OneRun):
    names = [p.name for p in model.programmes]
    return make_plot_component({f"spent_{p}": colour for p, colour in zip(names, _COLOURS)})[0](model)


_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
