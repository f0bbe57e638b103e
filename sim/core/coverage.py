"""Coverage targets: a programme given by the share of its eligible households it is to reach in a
year (the scenario's ``[coverage]``), as county plans state it, instead of by money.

This module owns three things:

- **The base** of a programme in a county-year, derived from the programme's own rules as the
  budget year applies them (``Coverage.of``): households the register serves that the programme
  may fund this year — continuing participants still served, and new candidates (its
  ``candidates`` hook: reachable, fit under precision targeting, not taking part yet) — plus, for a
  one-off programme (enrolled at most once, not renewed: industry, employment, relocation), the
  served households it enrolled in an earlier year whose support has stopped. These it has
  *reached*: they count as covered without money, since its rules never enrol them again (a
  continuing participant counts in a year only if that year is funded). For a programme
  renewed each year (health, education, ecology) or re-enrolling (welfare) only the households it
  funds this year are covered. Exited households it still supports (脱贫不脱政策) are not in the
  base: they are funded when the queue reaches them but do not count.
- **The county's decision** under a target (``fund_to_target``): the shortest prefix of the
  county's queue — continuing participants first, then candidates in the programme's priority
  order, exactly the queue a budget is spent on — whose served households, with those reached
  earlier, reach ceil(target × base), within the programme's capacity for new enrolments. A target
  is the year's plan, a ceiling as well as a floor: continuing participants beyond it are not
  renewed, and a target of 0 funds nothing. If capacity binds, the whole allowed prefix is funded
  and the shortfall is reported.
- **The record** of every programme-year (``Coverage.covered``, ``Coverage.shortfall``): base,
  covered households after January's funding, and the shortfall from the target. Programmes given
  by budgets get the same base and covered counts (their target is None), so that what a budget
  reaches can be read beside what a target costs.

The money is what the funded prefix costs, recorded by the spending ledger as any spending is; the
budget year (``sim/core/budget.py``) adds the programme's village projects at its village share
and pays its December claims in full (a programme given by coverage has no budget to run out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .allocation import Funding
from .kernels import count_at, coverage_counts, prefix_to_target
from .state import Households

if TYPE_CHECKING:
    from .programme import Programme

# ceil(target × base) is taken after taking this much off, so that 0.8 × 100 is 80, not 81.
ROUNDING = 1e-9


def one_off(prog: "Programme") -> bool:
    """The programme enrols a household at most once and does not renew it (``Programme.candidates``)."""
    return bool(prog.once and not prog.p.get("renewed", False))


@dataclass
class Coverage:
    """One programme's coverage this January, per county, at the simulated sample's scale."""

    target: float | None   # share of the base to reach this year; None: a budget governs the programme
    served: np.ndarray     # bool per household: served by the register (its queue entries count)
    base: np.ndarray       # households in the base, per county
    reached: np.ndarray    # base households reached in an earlier year that need no funding, per county
    need: np.ndarray       # served households the county's funding must add to reach the target

    @classmethod
    def of(cls, prog: "Programme", hh: Households, continuing: np.ndarray, candidates: np.ndarray,
           n_counties: int, target: float | None) -> "Coverage":
        """``continuing`` and ``candidates`` are the masks the budget year queues."""
        served = prog.ctx.served(hh)
        queued_n, reached_n = coverage_counts(served, continuing, candidates, hh.enrolled_month[prog.index],
                                              one_off(prog), hh.county, n_counties)
        base = queued_n + reached_n
        if target is None:
            need = np.zeros(n_counties, dtype=np.int64)
        else:
            need = np.maximum(np.ceil(target * base - ROUNDING).astype(np.int64) - reached_n, 0)
        return cls(target, served, base, reached_n, need)

    def covered(self, hh: Households, funded: np.ndarray, n_counties: int) -> np.ndarray:
        """Households of the base covered after the decisions, per county: those reached earlier
        and the served ones among ``funded`` (funded continuing participants and new enrolments)."""
        return self.reached + count_at(np.ascontiguousarray(funded, dtype=np.intp), self.served, hh.county, n_counties)

    def shortfall(self, covered: np.ndarray) -> np.ndarray:
        """Households short of the target per county (0 where it is reached; NaN without a target)."""
        if self.target is None:
            return np.full(len(covered), np.nan)
        return np.maximum(self.need + self.reached - covered, 0).astype(np.float64)


def fund_to_target(cost: np.ndarray, tier: np.ndarray, counts: np.ndarray, need: int, capacity: float) -> Funding:
    """The shortest prefix of a county's queue (``cost`` and ``tier`` in queue order) holding
    ``need`` entries that count (``counts``), with at most ``capacity`` new enrolments after the
    continuing ones; if that many cannot be had within capacity, the longest prefix capacity allows."""
    if not len(cost):
        return Funding()
    return Funding(*prefix_to_target(cost, tier, counts, int(need), int(capacity)))
