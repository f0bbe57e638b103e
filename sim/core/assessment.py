"""The December assessment, whatever the regime: net income, the programmes' last payments, the
regime's decisions, the pathway of each exit, and villages and counties leaving their lists.

- Net income is the year's income less out-of-pocket medical and education costs.
- Households supported by a programme that guarantees income (the dibao, 兜底) are marked for the
  regime's exit rule.
- An exit is attributed to its route as the plans count routes (001 §二(一): so many persons
  exit "by industry", "by employment", "by relocation"): to the first programme that claims it
  (relocation, for a household it moved); else, if a development programme took part in the
  household's income this year, to the development programme with the largest contribution;
  else, if the safety net did (兜底), to it; else to the programme whose contribution was largest
  when income without all programme contributions stays below the line; else to ``spontaneous``.
- Monitoring support is what the December settlement paid to monitored households.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

from .budget import BudgetYear
from .kernels import exit_pathways
from .listing import counties_leave, villages_leave
from .regimes import Decisions, Regime
from .results import RegisterLedger
from .state import Counties, Households, Villages

if TYPE_CHECKING:
    from .programme import Programme


def net_income(hh: Households) -> np.ndarray:
    """This year's net income per household, yuan (float64)."""
    net = hh.income_year.astype(np.float64)  # in place from here: this is a peak of memory
    net -= hh.medical_oop
    net -= hh.education_cost
    return net


def pathways(hh: Households, exit_idx: np.ndarray, net_pc: np.ndarray, line: float,
             programmes: Sequence["Programme"] = ()) -> np.ndarray:
    """Pathway of each exit: the first programme that claims it; else the development programme
    with the largest positive contribution; else the income-guaranteeing one with the largest
    positive contribution; else ``n_programmes`` (spontaneous) if income without any was enough;
    else the programme with the largest contribution (ties to the first in programme order)."""
    n_p = len(hh.contribution)
    development, guarantees = np.zeros(n_p, dtype=bool), np.zeros(n_p, dtype=bool)
    for p in programmes:
        development[p.index], guarantees[p.index] = p.development, p.guarantees_income
    out = exit_pathways(hh.contribution, np.ascontiguousarray(exit_idx, dtype=np.intp), net_pc, hh.size,
                        float(line), development, guarantees)
    claimed = np.zeros(len(exit_idx), dtype=bool)
    for programme in programmes:
        claims = programme.claims_exit(hh, exit_idx) & ~claimed
        out[claims] = programme.index
        claimed |= claims
    return out


def assess_year(hh: Households, villages: Villages, counties: Counties, regime: Regime, line: float,
                u_entry: np.ndarray, u_verify: np.ndarray, budget: BudgetYear, ledger: RegisterLedger,
                year: int, list_standard: float) -> Decisions:
    net = net_income(hh)
    payments = budget.settle(hh, net, year)
    support = np.zeros(counties.n)
    for paid, pay in payments:
        monitored = hh.monitored[paid]
        support += np.bincount(hh.county[paid[monitored]], weights=pay[monitored], minlength=counties.n)
    net_pc = net  # per person from here on, in place
    net_pc /= hh.size
    guaranteed = np.zeros(hh.n, dtype=bool)
    for programme in budget.programmes:
        if programme.guarantees_income:
            guaranteed |= programme.supported(hh)
    d = regime.decide(hh, net_pc, line, u_entry, u_verify, guaranteed)
    exit_idx = np.flatnonzero(d.exits)
    ledger.record_year(hh, year, d, exit_idx, pathways(hh, exit_idx, net_pc, line, budget.programmes), net_pc,
                       line, support)
    regime.apply(hh, d, year, net_pc, line)
    ledger.record_lists(villages, counties, year, villages_leave(villages, hh, list_standard),
                        counties_leave(counties, hh, list_standard))
    return d
