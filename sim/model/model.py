"""The tuopin model: households on the poverty register, programmes, county budgets, as a Mesa model.

``TuopinModel(scenario, seed)`` builds one run; ``step()`` runs one month through ``STAGES``;
``run()`` runs to the end; ``results`` holds the tables. Counties are Mesa agents that spend their
budgets each January; a ``mesa.DataCollector`` keeps the model-level series every month, so
``model.datacollector.get_model_vars_dataframe()`` and ``mesa.batch_run(TuopinModel, ...)`` work
as Mesa users expect. Overrides (``overrides={"budgets.employment": 5e6}``, or the same as keyword
arguments, as ``batch_run`` passes them) are checked with the scenario before anything is built.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import mesa
import numpy as np
import pandas as pd

from ..core.budget import BudgetYear, Offer, county_shares
from ..core.clock import Clock
from ..core.costs import MedicalBill
from ..core.programme import Context
from ..core.regimes import Regime, Regimes, TargetedRegister, TransitionRegister
from ..core.results import RegisterLedger, RunResults
from ..core.population import build_population
from ..core.shocks import illness_rates
from ..core.state import MONTHS
from ..core.streams import Streams
from ..inputs.errors import InputError
from ..inputs.scenario import LoadedScenario, load_scenario
from ..programmes import STREAM_IDS, programmes_for
from .checkpoint import Checkpoint
from .collect import Tally, datacollector
from .county import County
from .stages import STAGES


def fresh_seed() -> int:
    """A seed from the operating system's entropy (a run without a seed still records the one it used)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] & np.uint64(2**63 - 1))


class TuopinModel(mesa.Model):
    """One run of one scenario with one seed.

    Args:
        scenario: a loaded scenario, or the path of a scenario file.
        seed: the run's seed. ``None`` (as Mesa's ``batch_run`` passes for each iteration) draws a
            fresh one, kept in ``self.seed``; ``simulate`` defaults to the scenario's seed instead.
        overrides: dotted keys (``"budgets.employment"``, ``"programme.industry.effect"``, ...).
        rng: an integer seed, as Mesa models accept; ``seed`` wins when both are given.
        start: a checkpoint (or its file) of the same scenario's households to take up; its seed
            is the run's seed unless ``seed`` is given (and then must equal it).
        collect: False: the DataCollector collects nothing (its series stay empty, and the
            figures it would read are not kept), for runs observed only through their tables,
            such as a calibration's candidates; the tables are the same.
        **dotted: more overrides (``mesa.batch_run`` passes its parameters as keyword arguments).
    """

    def __init__(self, scenario: LoadedScenario | str | Path, seed: int | None = None,
                 overrides: Mapping[str, Any] | None = None, rng: int | None = None,
                 start: Checkpoint | str | Path | None = None, collect: bool = True, **dotted: Any):
        if not isinstance(scenario, LoadedScenario):
            scenario = load_scenario(scenario)
        scenario = scenario.with_overrides({**(overrides or {}), **dotted})
        if start is not None and not isinstance(start, Checkpoint):
            start = Checkpoint.load(start)
        if start is not None:
            if seed is not None and int(seed) != start.seed:
                raise InputError("<checkpoint>", "seed", seed, "a checkpoint continues the run it was taken from",
                                 str(start.seed))
            seed = start.seed
        if seed is None:
            seed = int(rng) if rng is not None else fresh_seed()
        self.seed = int(seed)
        # A scenario with parameter sets runs the one its seed draws (explicit overrides still win).
        drawn = scenario.with_parameter_set(self.seed)
        if drawn is not scenario:
            scenario = drawn.with_overrides({**(overrides or {}), **dotted})
        super().__init__(rng=self.seed)
        self.loaded_scenario = scenario
        self.spec = spec = scenario.spec
        self.params = params = scenario.params
        self.clock = Clock(spec.scenario.start_year, MONTHS * len(spec.years))
        self.streams = Streams(self.seed, STREAM_IDS)
        self.shock = params.group("shocks")
        self.income = params.group("income")
        self.list_standard = params.value(f"register.village_exit_incidence_{spec.scenario.region}")

        classes = programmes_for(spec.budgets)
        columns = {name: col for cls in classes for name, col in cls.columns.items()}
        self.hh, self.villages, self.counties = build_population(spec, params, self.seed, len(classes), columns)
        self.counties.budget_share[:] = county_shares(spec)
        self.hh.illness_rate[:] = illness_rates(self.hh.cause, self.hh.chronic, self.shock)
        self.regimes = Regimes(self._regime_spans(), self.clock)
        ctx = Context(self.clock, self.streams, self.regimes, self.villages, self.counties, params,
                      precise=spec.scenario.targeting == "precision", scale=spec.scenario.population_scale,
                      line=self.line)
        self.ctx = ctx
        self.programmes = [cls(i, params, ctx) for i, cls in enumerate(classes)]
        for programme in self.programmes:
            programme.initialise(self.hh)

        for j in range(self.counties.n):
            County(self, j)
        self.county_agents = self.agents_by_type[County]
        self.budget = BudgetYear(spec, self.programmes, self.counties, self.villages, params.value("budget.scale"))
        self.ledger = RegisterLedger(self.counties.names, [p.name for p in self.programmes],
                                     spec.scenario.population_scale, self.counties.population)
        # Passed between stages within a step (set and used in the same month).
        self.offer: Offer | None = None  # the programme lists the counties are funding (January)
        self.medical = MedicalBill.none()
        self.stages = STAGES
        self.stage_seconds: dict[str, float] | None = None  # set to {} to time each stage (bench)
        if start is not None:
            self._take_up(start)
        self.ledger.record_start(self.hh)  # the register the run starts from
        # The figures the DataCollector reads; a run that collects nothing does not keep them.
        self.collecting = collect
        self.tally = Tally(year=self.clock.year - 1)
        if collect:
            self.tally.register(self.hh, self.regimes.now().served(self.hh), spec.scenario.population_scale)
        self.datacollector = datacollector([p.name for p in self.programmes])
        if collect:
            self.datacollector.collect(self)

    def _regime_spans(self) -> dict[int, Regime]:
        """The 2014–2020 register from the start; the transition period's rules from
        ``register.transition_from`` if the run reaches it."""
        spec, params = self.spec, self.params
        register = params.group("register")
        u_assist = self._assistance_draw
        spans: dict[int, Regime] = {spec.scenario.start_year: TargetedRegister(register, self.clock, u_assist,
                                                                                spec.scenario.exit_deadline)}
        first = int(register["transition_from"])
        if first <= spec.scenario.end_year:
            spans[max(first, spec.scenario.start_year)] = TransitionRegister(register, params.group("transition"),
                                                                             self.clock, u_assist)
        return spans

    # ---- checkpoints ---------------------------------------------------------------------------
    def checkpoint(self) -> Checkpoint:
        """The state now (between months), to save and take up later."""
        return Checkpoint(self.clock.month, self.seed, self.clock.first_year, [p.name for p in self.programmes],
                          {"hh": {k: a.copy() for k, a in self.hh.arrays().items()},
                           "villages": {k: a.copy() for k, a in self.villages.arrays().items()},
                           "counties": {k: a.copy() for k, a in self.counties.arrays().items()}})

    def _take_up(self, start: Checkpoint) -> None:
        names = [p.name for p in self.programmes]
        problem = None
        if start.first_year != self.clock.first_year:
            problem = ("scenario.start_year", self.clock.first_year, f"the checkpoint's run starts in {start.first_year}")
        elif start.programmes != names:
            problem = ("budgets", names, f"the checkpoint's run had the programmes {start.programmes}")
        elif not 0 < start.month < self.clock.n_months or start.month % MONTHS:
            problem = ("scenario.end_year", self.spec.scenario.end_year,
                       f"the checkpoint is at month {start.month}: it must be a January inside this run")
        elif len(start.arrays["hh"].get("county", [])) != self.hh.n:
            problem = ("population", self.hh.n, "the checkpoint holds other households")
        if problem:
            raise InputError("<checkpoint>", *problem)
        for table, target in (("hh", self.hh), ("villages", self.villages), ("counties", self.counties)):
            for name, a in target.arrays().items():
                a[...] = start.arrays[table][name]
        self.clock.month = start.month

    # ---- the schedule ---------------------------------------------------------------------
    def step(self) -> None:
        """One month: every stage due this month, in order; then the DataCollector."""
        clock = self.clock
        for stage in self.stages:
            if not stage.due(clock):
                continue
            if self.stage_seconds is None:
                stage.run(self)
            else:
                t0 = time.perf_counter()
                stage.run(self)
                self.stage_seconds[stage.name] = self.stage_seconds.get(stage.name, 0.0) + time.perf_counter() - t0
        if self.collecting:
            self.tally.year, self.tally.month = clock.year, clock.month_of_year + 1
            self.datacollector.collect(self)
        clock.advance()
        self.running = not clock.done

    def run(self) -> "TuopinModel":
        while not self.clock.done:
            self.step()
        return self

    def run_through(self, year: int) -> "TuopinModel":
        """Run to the end of ``year`` (its December assessment included), or to the run's end."""
        while not self.clock.done and self.clock.year <= year:
            self.step()
        return self

    # ---- what the stages share ----------------------------------------------------------------
    def draw(self, stream: str) -> np.ndarray:
        """This month's uniform for every household from ``stream`` (common random numbers)."""
        return self.streams.uniform(stream, self.clock.month, self.hh.n)

    def _assistance_draw(self, year: int) -> np.ndarray:
        """Whether temporary assistance finds a household in ``year``: one uniform per household."""
        return self.streams.uniform("assistance", year, self.hh.n)

    def line(self, year: int) -> float:
        """The scenario's poverty line in force in ``year``, yuan/person/year."""
        return float(self.params.value(f"poverty_line.{self.spec.scenario.poverty_line}", year))

    @property
    def month(self) -> int:
        return self.clock.month

    @property
    def year(self) -> int:
        return self.clock.year

    @property
    def n_months(self) -> int:
        return self.clock.n_months

    @property
    def results(self) -> RunResults:
        return RunResults(
            scenario=self.spec.scenario.name, seed=self.seed,
            yearly=self.ledger.yearly(self.budget.ledger), pathways=self.ledger.pathways_table(),
            spending=self.budget.ledger.table(), incomes=self.ledger.incomes_table(),
            returns=self.ledger.returns_table(), start=self.ledger.start_table(),
            series=self.datacollector.get_model_vars_dataframe())

    def register_tables(self) -> dict[str, pd.DataFrame]:
        """The register's tables only (``yearly`` without its spending columns, ``pathways``,
        ``incomes``, ``start``): what calibration targets are observed on, without the cost of
        the spending tables. Their values are those of ``results``."""
        return {"yearly": self.ledger.yearly(None), "pathways": self.ledger.pathways_table(),
                "incomes": self.ledger.incomes_table(), "start": self.ledger.start_table()}


Model = TuopinModel
