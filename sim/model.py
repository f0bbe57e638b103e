"""The tuopin model: households on the poverty register, six programmes, county budgets.

``TuopinModel(scenario).run()`` runs a scenario month by month and returns the model; its
``results`` hold the yearly tables. The order of a month's steps is written once, in ``step``.
"""

from __future__ import annotations

from pathlib import Path

import mesa
import numpy as np

from . import assessment, income, shocks
from .allocation import allocate
from .population import build_population
from .programmes import PROGRAMMES
from .results import Ledger
from .rng import Streams
from .scenario import LoadedScenario, load_scenario
from .state import MONTHS, Status



class County(mesa.Agent):
    """A county (县): holds its share of every programme budget and is responsible for spending
    it on its own households (四到县, 002 ch. 11)."""

    def __init__(self, model: "TuopinModel", index: int, name: str, name_zh: str, budget_share: float):
        super().__init__(model)
        self.index = index
        self.name = name
        self.name_zh = name_zh
        self.budget_share = budget_share

    def budget(self, programme: str, year: int) -> float:
        """Yuan available this year (at the simulated sample's scale)."""
        spec = self.model.spec
        return spec.budget(programme, year) * self.budget_share * spec.scenario.population_scale


class TuopinModel(mesa.Model):
    """One run of one scenario with one seed.

    Args:
        scenario: a loaded scenario, or the path of a scenario file.
        seed: the run's seed; defaults to the scenario's ``seed``.
    """

    def __init__(self, scenario: LoadedScenario | str | Path, seed: int | None = None):
        if not isinstance(scenario, LoadedScenario):
            scenario = load_scenario(scenario)
        self.loaded_scenario = scenario
        self.spec = scenario.spec
        self.params = scenario.params
        self.seed = int(self.spec.scenario.seed if seed is None else seed)
        super().__init__(rng=self.seed)
        self.streams = Streams(self.seed)
        self.first_year = self.spec.scenario.start_year
        self.n_months = MONTHS * len(self.spec.years)
        self.month = 0
        self.year = self.first_year

        self.shock = self.params.group("shocks")
        self.income = self.params.group("income")
        self.register = self.params.group("register")
        self.village_exit_incidence = self.register[f"village_exit_incidence_{self.spec.scenario.region}"]

        self.hh, self.geo = build_population(self.spec, self.params, self.seed)
        self.programmes = [cls(i, self) for i, cls in enumerate(PROGRAMMES)]
        self.village_listed = self.geo.village_listed.copy()
        self.illness_rate = shocks.illness_rate(self)
        self.had_job = self.hh.wage > 0
        self._enrol_existing_welfare()

        shares = self._budget_shares()
        self.counties = [County(self, i, name, zh, shares[i]) for i, (name, zh) in
                         enumerate(zip(self.geo.county_names, self.geo.county_names_zh))]
        self.ledger = Ledger(self)
        self.precise = self.spec.scenario.targeting == "precision"

    # ---- the schedule ---------------------------------------------------------------------
    def step(self) -> None:
        """One month."""
        self.year = self.first_year + self.month // MONTHS
        if self.month % MONTHS == 0:
            self.start_year()
        shocks.monthly(self)
        income.accrue_month(self)
        for programme in self.programmes:
            programme.apply_month(self.hh)
            if programme.villages is not None:
                programme.villages.apply_month(self.hh)
        if self.month % MONTHS == MONTHS - 1:
            assessment.assess_year(self)
        self.month += 1
        self.running = self.month < self.n_months

    def start_year(self) -> None:
        """January: counties fund programmes, then the year's shocks and accumulators are set."""
        self.allocate_budgets()
        income.start_year(self)
        shocks.yearly(self)

    def run(self) -> "TuopinModel":
        while self.month < self.n_months:
            self.step()
        return self

    # ---- budgets ----------------------------------------------------------------------------
    def allocate_budgets(self) -> None:
        hh, n_c = self.hh, self.geo.n_counties
        registered = np.bincount(hh.county[hh.status == Status.POOR], minlength=n_c)
        for prog in self.programmes:
            budget = np.array([c.budget(prog.name, self.year) for c in self.counties])
            village_spent = village_new = np.zeros(n_c)
            if prog.villages is not None:
                village_spent, village_new = prog.villages.allocate(budget * prog.villages.share)
            household_budget = budget - village_spent
            capacity = np.ceil(prog.capacity_share() * registered).astype(np.int64)
            continuing = prog.continuing(hh)
            prog.stop(hh, np.flatnonzero(prog.supported(hh) & ~continuing))  # past the exit window
            cont = np.flatnonzero(continuing)
            cand = np.flatnonzero(prog.candidates(hh, self.precise))
            tier = prog.tier(hh, cand) if self.precise else np.zeros(len(cand), np.int8)
            result = allocate(hh.county, n_c, cont, prog.annual_cost(hh, cont), cand,
                              prog.first_year_cost(hh, cand), tier, household_budget, capacity)
            prog.remaining = household_budget - result.spent
            prog.stop(hh, result.dropped_continuing)
            prog.renew(hh, result.funded_continuing)
            prog.enrol(hh, result.new)
            participants = np.bincount(hh.county[result.funded_continuing], minlength=n_c) + result.new_count
            self.ledger.record_spending(self.year, prog.name, budget, result.spent + village_spent,
                                        result.new_count, participants, village_new)

    def _budget_shares(self) -> np.ndarray:
        counties = self.spec.population.counties
        if self.spec.budget_shares is not None:
            return np.array([self.spec.budget_shares.get(c.name, 0.0) for c in counties])
        persons = np.array([c.poor_persons for c in counties], dtype=np.float64)
        return persons / persons.sum()

    def _enrol_existing_welfare(self) -> None:
        """Dibao and five-guarantee households already draw welfare when the run starts."""
        from .state import Category

        welfare = next(p for p in self.programmes if p.name == "welfare")
        on = np.isin(self.hh.category, [Category.DIBAO_LABOUR, Category.DIBAO_NO_LABOUR,
                                        Category.FIVE_GUARANTEE])
        self.hh.enrolled_month[welfare.index, on] = 0
        self.hh.support_end[welfare.index, on] = 0

    # ---- helpers used by the submodels ------------------------------------------------------
    def draw(self, stream: str) -> np.ndarray:
        """This month's uniform for every household from ``stream`` (common random numbers)."""
        return self.streams.uniform(stream, self.month, self.hh.n)

    def poverty_line(self, year: int) -> float:
        return float(self.params.value(f"poverty_line.{self.spec.scenario.poverty_line}", year))

    @property
    def results(self) -> "RunResults":
        return RunResults(self)


class RunResults:
    """The tables of one run, as DataFrames."""

    def __init__(self, model: TuopinModel):
        self.yearly = model.ledger.yearly()
        self.pathways = model.ledger.pathways_table()
        self.spending = model.ledger.spending_table()
        self.seed = model.seed
        self.scenario = model.spec.scenario.name

    def tables(self) -> dict:
        return {"yearly": self.yearly, "pathways": self.pathways, "spending": self.spending}


Model = TuopinModel
