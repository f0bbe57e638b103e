"""The yearly assessment of the register (December): exits, returns, new entries, villages.

- A registered household exits (脱贫) when its net income per person is at or above the year's
  line and the guarantees hold (housing, medical insurance, children in school: 两不愁三保障).
- An exited household returns (返贫) when its net income per person falls below the line.
- A household never registered enters (新发生贫困) when it falls below the line and is found
  (identification is imperfect: ``register.entry_detection_rate``).
- An exit is attributed to the programme whose contribution was largest when income without all
  programme contributions stays below the line; otherwise to ``spontaneous``.
- A listed poor village leaves the list (出列) when its incidence falls below the standard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .state import Status

if TYPE_CHECKING:
    from .model import TuopinModel


def assess_year(model: "TuopinModel") -> None:
    hh, year = model.hh, model.year
    line = model.poverty_line(year)
    R = model.register
    net = hh.income_year.astype(np.float64)  # in place from here: this is a peak of memory
    net -= hh.medical_oop
    net -= hh.education_cost
    for prog in model.programmes:
        settled = prog.settle_year(hh, net)
        if settled is not None:
            paid, pay = settled
            net[paid] += pay
            hh.income_year[paid] += pay.astype(np.float32)
            hh.contribution[prog.index, paid] += pay.astype(np.float32)
            model.ledger.add_spending(year, prog.name, np.bincount(hh.county[paid], weights=pay,
                                                                   minlength=model.geo.n_counties))
    net_pc = net  # per person from here on, in place
    net_pc /= hh.size
    guarantees = hh.housing_safe & hh.insured & hh.school_ok
    below = net_pc < line
    above = net_pc >= line * (1 + R["exit_margin"])

    status = hh.status
    poor, exited, never = status == Status.POOR, status == Status.EXITED, status == Status.NEVER
    exits = poor & above & guarantees
    returns = exited & below
    found = model.draw("entry_detection") < R["entry_detection_rate"]
    entries = never & below & found

    # Pathway of each exit: the largest contribution, unless income was enough without any.
    ex = np.flatnonzero(exits)
    contrib = hh.contribution[:, ex].astype(np.float64)
    without = net_pc[ex] * hh.size[ex] - contrib.sum(axis=0)
    pathway = np.where(without >= line * hh.size[ex], len(model.programmes), contrib.argmax(axis=0))

    model.ledger.record_year(model, poor=poor, exited=exited, exits=exits, returns=returns,
                             entries=entries, exit_idx=ex, pathway=pathway)

    hh.status[exits] = Status.EXITED
    hh.exit_year[exits] = year
    hh.status[returns] = Status.POOR
    hh.returns[returns] += 1
    hh.status[entries] = Status.POOR
    hh.entry_year[entries] = year
    hh.last_income_pc[:] = net_pc

    # Villages leave the poor-village list when registered incidence is under the standard.
    poor_now = np.flatnonzero(hh.status == Status.POOR)
    registered_persons = np.bincount(hh.village[poor_now], weights=hh.size[poor_now],
                                     minlength=len(model.geo.village_county))
    incidence = registered_persons / model.geo.village_population
    leave = model.village_listed & (incidence < model.village_exit_incidence)
    model.village_listed &= ~leave
    model.ledger.record_villages(model, leave)
