"""The month's stages, in order, as data: what runs when, and what it does.

``STAGES`` is read top to bottom by ``TuopinModel.step``; ``tuopin bench`` times each stage. A
stage is a function of the model that calls a core submodel with explicit inputs: the state it
changes, the parameters, the clock and the month's draws from the named random streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..core import assessment, costs, income, shocks
from ..core.clock import Clock
from ..core.regimes import MonthEvents

if TYPE_CHECKING:
    from .model import TuopinModel

JANUARY, EVERY_MONTH, DECEMBER = "January", "every month", "December"


@dataclass(frozen=True)
class Stage:
    name: str
    when: str     # JANUARY, EVERY_MONTH or DECEMBER
    does: str
    run: Callable[["TuopinModel"], None]

    def due(self, clock: Clock) -> bool:
        return (self.when == EVERY_MONTH or (self.when == JANUARY and clock.is_january)
                or (self.when == DECEMBER and clock.is_december))


def fund(model: "TuopinModel") -> None:
    """Programme by programme: the programme draws up its lists, each county agent funds its part
    (its ``step``), and support starts and stops as they decided."""
    year, budget = model.clock.year, model.budget
    served = budget.served_per_county(model.hh, model.regimes.now())
    model.county_agents.do("open_year")
    model.ctx.hold_register(True)  # the register does not change while the counties fund
    try:
        for programme in model.programmes:
            model.offer = budget.offer(programme, model.hh, served, year)
            model.county_agents.do("step")
            decisions = [c.decision for c in model.county_agents]  # in county order (the order they were added)
            budget.commit(model.hh, model.offer, decisions, year)
    finally:
        model.ctx.hold_register(False)
    model.offer = None
    if model.collecting:
        model.tally.spent = budget.ledger.spent_in(year)


def new_year(model: "TuopinModel") -> None:
    year = model.clock.year
    income.new_year(model.hh, model.income, model.draw("housing_repair"),
                    model.streams.normal("income_permanent", year, model.hh.n),
                    model.params.value("income.reference_income", year - 1),
                    deadline_reached=model.clock.reached(model.spec.scenario.exit_deadline))


def yearly_shocks(model: "TuopinModel") -> None:
    s, year = model.streams, model.clock.year
    shocks.yearly(model.hh, model.villages, model.counties, model.shock,
                  s.uniform("market", year, model.counties.n), s.uniform("disaster", year, model.villages.n),
                  s.normal("income_noise", year, model.hh.n))


def monthly_shocks(model: "TuopinModel") -> None:
    model.medical = shocks.illness(model.hh, model.shock, model.draw("illness"))
    shocks.disability(model.hh, model.shock, model.draw("disability"))
    shocks.jobs(model.hh, model.shock, model.draw("job_loss"))


def accrue(model: "TuopinModel") -> None:
    income.accrue_month(model.hh)


def pay_costs(model: "TuopinModel") -> None:
    costs.pay_month(model.hh, model.medical, model.programmes, model.clock)


def monitor(model: "TuopinModel") -> None:
    """The register regime's month (in the transition period: identification of households at risk)."""
    regime = model.regimes.now()
    k = regime.draws_channels()
    if not k:
        return
    hh, month = model.hh, model.clock.month
    bill = model.medical
    disaster = model.villages.disaster.take(hh.village) if model.clock.is_january else np.zeros(0, dtype=bool)
    u = model.streams.generator("monitoring", month).random((k, hh.n), dtype=np.float32)
    events = MonthEvents(ill=bill.idx, ill_cost=bill.cost * bill.share, disaster=disaster, u_channels=u)
    regime.monthly(hh, month, model.line(model.clock.year), events)


def flows(model: "TuopinModel") -> None:
    for programme in model.programmes:
        programme.flow_month(model.hh)
        if programme.villages is not None:
            programme.villages.flow_month(model.hh)


def assess(model: "TuopinModel") -> None:
    year = model.clock.year
    for programme in model.programmes:
        programme.release_year()  # the year's flows are done: their lists are made again in January
    regime = model.regimes.now()
    d = assessment.assess_year(model.hh, model.villages, model.counties, regime, model.line(year),
                               model.draw("entry_detection"), model.draw("exit_verification"),
                               model.budget, model.ledger, year, model.list_standard)
    if model.collecting:
        model.tally.assessment(model.hh, d, model.budget.scale)
        model.tally.register(model.hh, regime.served(model.hh), model.budget.scale)
        model.tally.spent = model.budget.ledger.spent_in(year)


STAGES: tuple[Stage, ...] = (
    Stage("fund", JANUARY, "counties fund programmes: village projects, continuing and new participants (四到县)", fund),
    Stage("new_year", JANUARY, "incomes grow; the year's accumulators reset; education costs set; housing repaired", new_year),
    Stage("yearly_shocks", JANUARY, "county market shocks, village disasters and income luck set the year's earnings", yearly_shocks),
    Stage("monthly_shocks", EVERY_MONTH, "illness (with its bill and lost work), disability, job loss and rehire", monthly_shocks),
    Stage("accrue", EVERY_MONTH, "a month of earnings, transfers and asset income", accrue),
    Stage("costs", EVERY_MONTH, "medical and education costs: programmes cover, households pay the rest", pay_costs),
    Stage("monitor", EVERY_MONTH, "the register regime's month: in the transition period, households at risk are identified", monitor),
    Stage("flows", EVERY_MONTH, "programme effects and village project income", flows),
    Stage("assess", DECEMBER, "dibao settlement, exits, returns and entries, pathways, monitoring, villages and counties leave their lists", assess),
)
