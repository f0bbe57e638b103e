"""The December assessment, whatever the regime: net income, the programmes' last payments, the
regime's decisions, the pathway of each exit, and villages leaving the list.

- Net income is the year's income less out-of-pocket medical and education costs.
- An exit is attributed to the programme whose contribution was largest when income without all
  programme contributions stays below the line; otherwise to ``spontaneous``.
- A listed poor village leaves the list (出列) when its incidence falls below the standard.
"""

from __future__ import annotations

import numpy as np

from .budget import BudgetYear
from .regimes import Decisions, Regime
from .results import RegisterLedger
from .state import Households, Villages
from .villages import leave_list


def net_income(hh: Households) -> np.ndarray:
    """This year's net income per household, yuan (float64)."""
    net = hh.income_year.astype(np.float64)  # in place from here: this is a peak of memory
    net -= hh.medical_oop
    net -= hh.education_cost
    return net


def pathways(hh: Households, exit_idx: np.ndarray, net_pc: np.ndarray, line: float) -> np.ndarray:
    """Pathway of each exit: the programme with the largest contribution (ties to the first in
    programme order), or ``n_programmes`` (spontaneous) if income without any was enough."""
    contrib = hh.contribution[:, exit_idx].astype(np.float64)
    without = net_pc[exit_idx] * hh.size[exit_idx] - contrib.sum(axis=0)
    return np.where(without >= line * hh.size[exit_idx], len(contrib), contrib.argmax(axis=0))


def assess_year(hh: Households, villages: Villages, regime: Regime, line: float, u_entry: np.ndarray,
                budget: BudgetYear, ledger: RegisterLedger, year: int, village_standard: float) -> Decisions:
    net = net_income(hh)
    budget.settle(hh, net, year)
    net_pc = net  # per person from here on, in place
    net_pc /= hh.size
    d = regime.decide(hh, net_pc, line, u_entry)
    exit_idx = np.flatnonzero(d.exits)
    ledger.record_year(hh, year, d, exit_idx, pathways(hh, exit_idx, net_pc, line))
    regime.apply(hh, d, year, net_pc)
    ledger.record_villages(villages, year, leave_list(villages, hh, village_standard))
    return d
