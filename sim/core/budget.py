"""The budget year: county budgets → programmes → households and village projects in January, the
December settlement, sample scaling, and the spending ledger.

Funds, tasks and responsibility lie with the county (四到县, 002 ch. 11). Each January, programme
by programme in programme order, the programme draws up its lists from the register
(``BudgetYear.offer``): per county, village projects it could fund, continuing participants and
new candidates in priority order, with their costs. Each county then funds its part
(``fund_county``: villages from the programme's village share, households from the rest, within its
budget and the programme's capacity), and ``commit`` starts, renews and stops support. One
programme's lists are dropped before the next is drawn up, so memory holds one queue at a time.
In December the programmes' last claims (the dibao settlement) are paid from what each county has
left.

A programme given a coverage target for the year instead of a budget (``sim/core/coverage.py``) is
funded as far as its target needs: each county funds the shortest prefix of the same queue that
reaches the target share of the programme's base (within its capacity), then village projects at
the programme's village share of that money; what it takes is the county's budget for the
programme that year, and its December claims are paid in full. The ledger records every
programme-year's base, covered households and, under a target, the target and any shortfall.

Everything is counted at the simulated sample's scale (``scenario.population_scale``): budgets are
scaled down here, and the ledger's tables scale counts and money back up to full size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from ..inputs.scenario import Scenario
from .allocation import Allocation, Funding, Queue, assemble, fund_prefix
from .coverage import Coverage, fund_to_target
from .kernels import count_where
from .vector import exact_sums
from .state import Counties, Households, Villages

if TYPE_CHECKING:
    from .programme import Programme
    from .regimes import Regime

TOTAL = "ALL"  # the county name of totals in every table


def county_shares(spec: Scenario) -> np.ndarray:
    """Each county's share of every budget: as the scenario gives, else its share of poor persons."""
    counties = spec.population.counties
    if spec.budget_shares is not None:
        return np.array([spec.budget_shares.get(c.name, 0.0) for c in counties])
    persons = np.array([c.poor_persons for c in counties], dtype=np.float64)
    return persons / persons.sum()


@dataclass
class Offer:
    """One programme's January lists for every county."""

    programme: "Programme"
    budget: np.ndarray             # yuan per county (sample scale); under a coverage target, what
                                   # the counties' decisions take (``fund_county`` fills it in)
    capacity: np.ndarray           # most new enrolments per county
    households: Queue
    villages: Queue | None         # candidate villages, if the programme funds village projects
    coverage: Coverage | None = None  # the programme's base, and its target if it has one this year


def fund_county(j: int, offer: Offer) -> tuple[Funding, Funding]:
    """County j's decision on one programme: village projects from the programme's village share
    of its budget, then households from what is left (within the programme's capacity). Under a
    coverage target: households as far as the target needs, then village projects."""
    if offer.coverage is not None and offer.coverage.target is not None:
        return _fund_county_to_target(j, offer)
    village = Funding()
    if offer.villages is not None:
        cost, tier = offer.villages.part(j)
        village = fund_prefix(cost, tier, offer.budget[j] * offer.programme.villages.share, len(cost))
    cost, tier = offer.households.part(j)
    return village, fund_prefix(cost, tier, offer.budget[j] - village.spent, offer.capacity[j])


def _fund_county_to_target(j: int, offer: Offer) -> tuple[Funding, Funding]:
    """Households up to the target (``fund_to_target``), then village projects from the money the
    programme's village share adds to theirs (a share s of the whole: s / (1 − s) of the households'
    cost; scenario validation keeps s below 1). The county's budget is what both take."""
    queue, coverage = offer.households, offer.coverage
    cost, tier = queue.part(j)
    counts = coverage.served[queue.idx[queue.bounds[j]:queue.bounds[j + 1]]]
    households = fund_to_target(cost, tier, counts, int(coverage.need[j]), offer.capacity[j])
    village = Funding()
    if offer.villages is not None:
        share = offer.programme.villages.share
        v_cost, v_tier = offer.villages.part(j)
        village = fund_prefix(v_cost, v_tier, households.spent * share / (1 - share), len(v_cost))
    offer.budget[j] = village.spent + households.spent
    return village, households


def fund_claims(county: np.ndarray, n_counties: int, idx: np.ndarray, amounts: np.ndarray,
                remaining: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Claims (households ``idx`` in ascending order, yuan) paid in household order within each
    county while its ``remaining`` budget lasts. Returns (paid households, their amounts, spent per county)."""
    queue = Queue.build(county, n_counties, idx[:0], amounts[:0], idx, amounts, np.zeros(len(idx), np.int8))
    result = assemble(queue, [fund_prefix(*queue.part(j), remaining[j], len(idx)) for j in range(n_counties)])
    paid = np.sort(result.new)
    return paid, amounts[np.searchsorted(idx, paid)], result.spent


class BudgetYear:
    """Budgets of the run, the January allocation, the December settlement and the spending ledger."""

    def __init__(self, spec: Scenario, programmes: Sequence["Programme"], counties: Counties,
                 villages: Villages, budget_scale: float = 1.0):
        self.spec = spec
        self.scale = spec.scenario.population_scale
        self.budget_scale = budget_scale  # ``budget.scale``: the scenario's budgets as a whole
        self.programmes = list(programmes)
        self.counties = counties
        self.villages = villages
        self.ledger = SpendingLedger(counties.names, self.scale)

    def county_budget(self, programme: str, year: int) -> np.ndarray:
        """Yuan per county this year, at the simulated sample's scale."""
        total = self.spec.budget(programme, year) * self.budget_scale
        return np.array([total * share * self.scale for share in self.counties.budget_share])

    # ---- January ----------------------------------------------------------------------------
    def served_per_county(self, hh: Households, regime: "Regime") -> np.ndarray:
        """Households the register serves, per county: the base of every programme's capacity."""
        return count_where(regime.served(hh), hh.county, self.counties.n)

    def offer(self, prog: "Programme", hh: Households, served: np.ndarray, year: int) -> Offer:
        """One programme's lists, drawn up from the register as December left it. Support of
        participants past their exit window ends here."""
        n_c = self.counties.n
        villages = None
        if prog.villages is not None:
            cand, cost = prog.villages.candidates()
            villages = Queue.build(self.villages.county, n_c, cand[:0], cost[:0], cand, cost,
                                   np.zeros(len(cand), np.int8))
        continuing = prog.continuing(hh)
        prog.stop(hh, np.flatnonzero(prog.supported(hh) & ~continuing))  # past the exit window
        cont = np.flatnonzero(continuing)
        candidates = prog.candidates(hh)
        cand = np.flatnonzero(candidates)
        tier = prog.tier(hh, cand) if prog.ctx.precise else np.zeros(len(cand), np.int8)
        coverage = Coverage.of(prog, hh, continuing, candidates, n_c, self.spec.coverage_target(prog.name, year))
        del candidates
        queue = Queue.build(hh.county, n_c, cont, prog.annual_cost(hh, cont), cand,
                            prog.first_year_cost(hh, cand), tier)
        capacity = np.ceil(prog.capacity_share() * served).astype(np.int64)
        return Offer(prog, self.county_budget(prog.name, year), capacity, queue, villages, coverage)

    def commit(self, hh: Households, offer: Offer, decisions: list[tuple[Funding, Funding]], year: int) -> None:
        """Start, renew and stop support as the counties decided (``decisions[county]``), record
        the spending, and keep what each county has left for December."""
        n_c = self.counties.n
        prog = offer.programme
        village_spent = village_new = np.zeros(n_c)
        if offer.villages is not None:
            v = assemble(offer.villages, [d[0] for d in decisions])
            prog.villages.start(v.new)
            village_spent, village_new = v.spent, v.new_count
        result: Allocation = assemble(offer.households, [d[1] for d in decisions])
        coverage = offer.coverage
        if coverage is not None and coverage.target is not None:
            # No budget to run out: the programme's December claims are paid in full.
            self.counties.remaining[prog.index] = np.inf
        else:
            self.counties.remaining[prog.index] = offer.budget - village_spent - result.spent
        covered = None
        if coverage is not None:
            covered = coverage.covered(hh, np.concatenate([result.funded_continuing, result.new]), n_c)
        prog.stop(hh, result.dropped_continuing)
        prog.renew(hh, result.funded_continuing)
        prog.enrol(hh, result.new)
        participants = np.bincount(hh.county[result.funded_continuing], minlength=n_c) + result.new_count
        self.ledger.record(year, prog.name, offer.budget, result.spent + village_spent,
                           result.new_count, participants, village_new, coverage, covered)

    # ---- December ---------------------------------------------------------------------------
    def settle(self, hh: Households, net: np.ndarray, year: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Programmes' last claims against the year's actual net income (``net``, household yuan,
        updated in place), paid from what each county has left. Returns (households, yuan) paid."""
        payments = []
        for prog in self.programmes:
            claims = prog.settle_year(hh, net)
            if claims is None:
                continue
            idx, amounts = claims
            remaining = self.counties.remaining[prog.index]
            paid, pay, spent = fund_claims(hh.county, self.counties.n, idx, amounts, remaining)
            remaining -= spent
            net[paid] += pay
            hh.income_year[paid] += pay.astype(np.float32)
            hh.contribution[prog.index][paid] += pay.astype(np.float32)
            self.ledger.add(year, prog.name, np.bincount(hh.county[paid], weights=pay, minlength=self.counties.n))
            payments.append((paid, pay))
        return payments


# The spending table's columns, in order. Coverage (sim/core/coverage.py), per programme-year:
# coverage_target        share of the base to reach this year (empty where a budget governs)
# coverage_base_households   households in the programme's base at January's allocation
# covered_households     households of the base covered after it (reached earlier, or funded)
# coverage_reached       covered_households / coverage_base_households
# coverage_shortfall_households  households short of the target (capacity bound); empty without one
# implied_cost           yuan the target took (= spent) under a target; empty where a budget governs
SPENDING_COLUMNS = ("year", "county", "programme", "budget", "spent", "new_enrolments", "participants",
                    "new_village_projects", "unspent")
COVERAGE_COLUMNS = ("coverage_target", "coverage_base_households", "covered_households", "coverage_reached",
                    "coverage_shortfall_households", "implied_cost")


class SpendingLedger:
    """Budget, spending, enrolments, village projects and coverage per year, county and programme.
    Under a coverage target the budget is what the target took: it is the spending, December's
    claims included."""

    def __init__(self, counties: list[str], scale: float):
        self.counties = list(counties)
        self.scale = scale
        self.records: list[SpendingRecord] = []

    def record(self, year: int, programme: str, budget: np.ndarray, spent: np.ndarray, new: np.ndarray,
               participants: np.ndarray, village_projects: np.ndarray, coverage: Coverage | None = None,
               covered: np.ndarray | None = None) -> None:
        unknown = np.full(len(self.counties), np.nan)  # a record made without the base
        target = np.nan if coverage is None or coverage.target is None else coverage.target
        base = coverage.base if coverage is not None else unknown
        covered = covered if covered is not None else unknown
        shortfall = coverage.shortfall(covered) if coverage is not None else unknown
        self.records.append(SpendingRecord(
            year, programme, np.array(budget, dtype=np.float64), np.array(spent, dtype=np.float64),
            np.array(new), np.array(participants), np.array(village_projects), float(target),
            np.array(base), np.array(covered), np.array(shortfall)))

    def add(self, year: int, programme: str, extra: np.ndarray) -> None:
        """Payments made after January (a settlement) for ``programme``, per county. Under a
        coverage target they are part of what the target took, and so of its budget."""
        for rec in self.records:
            if rec.year == year and rec.programme == programme:
                rec.spent += extra
                if not np.isnan(rec.target):
                    rec.budget += extra

    def spent_in(self, year: int) -> dict[str, float]:
        """Yuan spent per programme in ``year``, at full size (summed county by county)."""
        out: dict[str, float] = {}
        for rec in self.records:
            if rec.year == year:
                total = out.get(rec.programme, 0.0)
                for value in rec.spent.tolist():
                    total += value / self.scale
                out[rec.programme] = total
        return out

    def per_county(self, years: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Budget and spending over all programmes, (years, counties) at full scale: the exact
        sums of the programmes' (each at full scale); NaN in a year with no record."""
        out = np.full((2, len(years), len(self.counties)), np.nan)
        for k, year in enumerate(years):
            mine = [rec for rec in self.records if rec.year == year]
            if mine:
                out[0, k] = exact_sums(np.array([rec.budget for rec in mine]).T / self.scale)  # (counties, records)
                out[1, k] = exact_sums(np.array([rec.spent for rec in mine]).T / self.scale)
        return out[0], out[1]

    def by_county(self) -> pd.DataFrame:
        """Budget, spending, enrolments and coverage per year, county and programme, at full scale."""
        recs, n_c = self.records, len(self.counties)

        def column(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0)

        def scaled(parts: list[np.ndarray]) -> np.ndarray:
            return column(parts) / self.scale

        df = pd.DataFrame({
            "year": np.repeat(np.array([rec.year for rec in recs], dtype=np.int64), n_c),
            "county": self.counties * len(recs),
            "programme": [rec.programme for rec in recs for _ in range(n_c)],
            "budget": scaled([rec.budget for rec in recs]), "spent": scaled([rec.spent for rec in recs]),
            "new_enrolments": scaled([rec.new for rec in recs]),
            "participants": scaled([rec.participants for rec in recs]),
            "new_village_projects": column([rec.village_projects for rec in recs]),
            "coverage_target": np.repeat(np.array([rec.target for rec in recs], dtype=np.float64), n_c),
            "coverage_base_households": scaled([rec.base for rec in recs]),
            "covered_households": scaled([rec.covered for rec in recs]),
            "coverage_shortfall_households": scaled([rec.shortfall for rec in recs]),
        })
        df["unspent"] = df.budget - df.spent
        df["implied_cost"] = np.where(df.coverage_target.notna(), df.spent, np.nan)
        _coverage_reached(df)
        return df[list(SPENDING_COLUMNS + COVERAGE_COLUMNS)]

    def table(self) -> pd.DataFrame:
        """``by_county`` with the totals over counties (county ``ALL``), one row per year and
        programme in the order they were recorded: exact sums, the target, and the share the area
        reached."""
        df = self.by_county()
        n_c = len(self.counties)
        keys = list(dict.fromkeys((rec.year, rec.programme) for rec in self.records))
        rows = {key: [] for key in keys}  # each (year, programme): its rows in by_county
        for k, rec in enumerate(self.records):
            rows[(rec.year, rec.programme)].extend(range(k * n_c, (k + 1) * n_c))
        total = {"year": np.array([y for y, _ in keys], dtype=np.int64), "county": [TOTAL] * len(keys),
                 "programme": [p for _, p in keys]}
        for col in df.columns[3:]:
            values = df[col].to_numpy()
            parts = [values[rows[key]] for key in keys]
            if col == "coverage_target":  # one target for every county
                total[col] = np.array([p[0] if len(p) else np.nan for p in parts], dtype=np.float64)
                continue
            width = max((len(p) for p in parts), default=0)
            padded = np.full((len(keys), width), np.nan) if values.dtype.kind == "f" else np.zeros((len(keys), width), values.dtype)
            for k, p in enumerate(parts):
                padded[k, :len(p)] = p
            sums = exact_sums(padded)
            if col in ("coverage_shortfall_households", "implied_cost"):  # empty where every county's is
                sums = np.where(np.isnan(padded).all(axis=1), np.nan, sums)
            total[col] = sums
        total = pd.DataFrame(total)
        _coverage_reached(total)
        return pd.concat([df, total[df.columns]], ignore_index=True)


@dataclass
class SpendingRecord:
    """One programme's January record for every county (sample scale), in county order; a
    December settlement adds to its spending."""

    year: int
    programme: str
    budget: np.ndarray        # yuan
    spent: np.ndarray         # yuan
    new: np.ndarray           # new enrolments
    participants: np.ndarray
    village_projects: np.ndarray
    target: float             # coverage target; NaN where a budget governs
    base: np.ndarray          # coverage base (households); NaN without one
    covered: np.ndarray
    shortfall: np.ndarray


def _coverage_reached(df: pd.DataFrame) -> None:
    """covered_households / coverage_base_households, empty where the base is (in place)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        df["coverage_reached"] = np.where(df.coverage_base_households > 0,
                                          df.covered_households / df.coverage_base_households, np.nan)
