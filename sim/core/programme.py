"""The programme interface: what a programme declares, and the hooks the budget year, the cost step
and the monthly flows call.

A programme is one module in ``sim/programmes/`` (a ``Programme`` subclass) and one parameter file
``sim/inputs/parameters/programmes/<name>.toml``. It declares:

- ``parameters``: the keys its file must have, each with its kind (a missing or misspelt key is an
  InputError naming the file and the key when the registry is checked, never a KeyError mid-run);
- ``columns``: household columns of its own (they join the household table when it takes part);
- ``streams``: random streams of its own, each with a stable id.

Each January the budget year asks it for ``continuing`` participants, new ``candidates`` (with a
``tier`` under precision targeting) and their costs; after the counties have funded them it calls
``stop`` / ``renew`` / ``enrol``. Each month the cost step calls ``cover_medical`` and
``cover_education`` and the flow stage calls ``flow_month``. In December ``settle_year`` may claim
last payments. A programme records how many yuan of net income it added (or of cost it avoided)
per household in ``hh.contribution[self.index]``: that is how exits are attributed to pathways.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np

from ..inputs.errors import InputError
from ..inputs.params import ParameterSet
from .clock import Clock
from .context import Context
from .costs import EducationBill, MedicalBill
from .state import MONTHS, Cause, Column, Households
from .vector import Flow
from .villages import VillageProjects

# Kinds of parameter values a programme can declare.
NUMBER = "number"        # a number (its bounds are in the parameter file)
TEXT = "text"            # one of the parameter's choices
NAMES = "names"          # a list of names
DATED = "dated"          # a number dated by year (values = {year = ...})
SWITCH = "switch"        # true or false
KINDS = (NUMBER, TEXT, NAMES, DATED, SWITCH)

BASE_PARAMETERS: dict[str, str] = {
    "cost_basis": TEXT, "cost_one_off": NUMBER, "cost_per_year": NUMBER, "support_years": NUMBER,
    "delay_months": NUMBER, "effect": NUMBER, "effect_basis": TEXT, "persistence": NUMBER,
    "capacity_share": NUMBER, "continue_after_exit_years": NUMBER, "matched_causes": NAMES,
    "maturity_years": NUMBER, "indexed": SWITCH, "renewed": SWITCH,
}
# Village projects (sim/core/villages.py): a programme has all of these or none.
VILLAGE_PARAMETERS: dict[str, str] = {
    "village_share": NUMBER, "village_project_cost": NUMBER, "village_income": NUMBER,
    "village_max_per_household": NUMBER, "village_delay_months": NUMBER,
}
BASES = {"household", "person", "labourer", "pupil"}


class Programme:
    """Base class. Subclasses set ``name`` and ``label`` and override the hooks they need."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    once: ClassVar[bool] = True                      # a household is enrolled at most once
    parameters: ClassVar[Mapping[str, str]] = BASE_PARAMETERS
    columns: ClassVar[Mapping[str, Column]] = {}
    streams: ClassVar[Mapping[str, int]] = {}
    reads: ClassVar[tuple[str, ...]] = ()            # parameters of other groups it reads (full names)
    guarantees_income: ClassVar[bool] = False        # its support keeps income at the line (兜底)
    development: ClassVar[bool] = False              # a development route of the plans (产业, 就业, 搬迁)

    def __init__(self, index: int, params: ParameterSet, ctx: Context):
        self.index = index
        self.ctx = ctx
        self.p: dict[str, Any] = params.group(f"programme.{self.name}")
        self.read = {name: params.value(name) for name in self.reads}
        self.villages: VillageProjects | None = (
            VillageProjects(index, self.p, ctx, self.village_eligible) if self.p.get("village_share", 0) > 0 else None)
        self._members = np.zeros(0, dtype=np.int64)
        self._members_month = -1
        self._changes: set[int] = set()
        self._gain_month = -1
        self._gain = np.zeros(0, dtype=np.float32)
        self._flow_gain: np.ndarray | None = None  # the gain ``_flow`` was made from
        self._flow: Flow | None = None             # the members whose flow is not zero, and theirs
        self.matched = np.zeros(len(Cause), dtype=bool)
        for cause in self.p.get("matched_causes", []):
            self.matched[Cause[cause.upper()]] = True

    @classmethod
    def check_parameters(cls, params: ParameterSet) -> None:
        """The programme's parameter file has exactly the declared keys, of the declared kinds."""
        prefix = f"programme.{cls.name}."
        file = next((p.file for p in params if p.name.startswith(prefix)), f"programmes/{cls.name}.toml")
        have = {p.name[len(prefix):]: p for p in params if p.name.startswith(prefix)}
        village = [k for k in VILLAGE_PARAMETERS if k in have]
        declared = {**cls.parameters, **(VILLAGE_PARAMETERS if village else {})}
        for key in declared:
            if key not in have:
                raise InputError(file, key, None, f"the {cls.name} programme needs this parameter",
                                 ", ".join(declared))
        for key, p in have.items():
            if key not in declared:
                import difflib

                close = difflib.get_close_matches(key, list(declared), n=1)
                raise InputError(p.file, key, p.value, "not a parameter of the programme"
                                 + (f" (did you mean '{close[0]}'?)" if close else ""), ", ".join(declared))
            kind = declared[key]
            ok = {NUMBER: not p.dated and isinstance(p.value, (int, float)) and not isinstance(p.value, bool),
                  SWITCH: not p.dated and isinstance(p.value, bool),
                  TEXT: not p.dated and isinstance(p.value, str),
                  NAMES: not p.dated and isinstance(p.value, list) and all(isinstance(v, str) for v in p.value),
                  DATED: p.dated}[kind]
            if not ok:
                raise InputError(p.file, key, p.value if not p.dated else dict(p.values), f"must be {kind}")
        for key in ("cost_basis", "effect_basis"):
            if key in declared and have[key].value not in BASES:
                raise InputError(have[key].file, key, have[key].value, "unknown basis", ", ".join(sorted(BASES)))
        for cause in have.get("matched_causes").value if "matched_causes" in have else []:
            if cause.upper() not in Cause.__members__:
                raise InputError(have["matched_causes"].file, "matched_causes", cause, "unknown cause",
                                 ", ".join(c.name.lower() for c in Cause))

    def at(self, key: str):
        """A (possibly dated) parameter of this programme, in force in the current year."""
        value = self.p[key]
        if not isinstance(value, dict):
            return value
        years = [y for y in value if y <= self.ctx.clock.year]
        return value[max(years)]

    # ---- set-up -----------------------------------------------------------------------------
    def initialise(self, hh: Households) -> None:
        """The run's first state for this programme (e.g. households already supported)."""

    # ---- eligibility and targeting -------------------------------------------------------
    def reachable(self, hh: Households) -> np.ndarray:
        """Households the programme can legally serve (untargeted rule): those the register serves."""
        return self.ctx.served(hh)

    def fits(self, hh: Households) -> np.ndarray:
        """Households whose capacity suits the programme (precision rule, 因户施策)."""
        return np.ones(hh.n, dtype=bool)

    def candidates(self, hh: Households) -> np.ndarray:
        """Newcomers: reachable (and fit, under precision targeting) households not yet taking part.
        A ``renewed`` programme takes back a household whose support stopped (e.g. one that
        returned to poverty after its exit window); a one-off programme enrols a household once."""
        mask = self.reachable(hh)
        if self.ctx.precise and getattr(self.fits, "__func__", None) is not Programme.fits:  # the base's fits everyone
            mask &= self.fits(hh)
        if self.p.get("renewed", False):
            mask &= ~self.on_roll(hh)  # those on the roll are continuing participants
        elif self.once:
            mask &= hh.enrolled_month[self.index] < 0
        else:
            mask &= ~self.supported(hh)
        return mask

    def tier(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        """Precision priority among new candidates: 0 = cause matches the programme, 1 = other."""
        return np.logical_not(self.matched.take(hh.cause[idx])).view(np.int8)  # 0 where matched, else 1

    def supported(self, hh: Households) -> np.ndarray:
        return (hh.enrolled_month[self.index] >= 0) & (self.ctx.clock.month < hh.support_end[self.index])

    def within_exit_window(self, hh: Households) -> np.ndarray:
        """Served by the register, or exited no more than ``continue_after_exit_years`` ago (脱贫不脱政策)."""
        return self.ctx.within_window(hh, self.p["continue_after_exit_years"])

    def claims_exit(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        """Exits of ``idx`` the programme made possible whatever the contributions say (e.g. by
        providing a guarantee): the pathway of those exits is this programme."""
        return np.zeros(len(idx), dtype=bool)

    def village_eligible(self, hh: Households) -> np.ndarray:
        """Households that share the income of the programme's village projects."""
        return self.within_exit_window(hh) & self.fits(hh)

    def on_roll(self, hh: Households) -> np.ndarray:
        """Participants whose support ran at least until this month (for renewal in January)."""
        return (hh.enrolled_month[self.index] >= 0) & (hh.support_end[self.index] >= self.ctx.clock.month)

    def continuing(self, hh: Households) -> np.ndarray:
        """Participants whose support runs on into this year (脱贫不脱政策 for a while): those still
        supported, or, for a programme that is ``renewed`` each year, those on its roll."""
        current = self.on_roll(hh) if self.p.get("renewed", False) else self.supported(hh)
        return current & self.within_exit_window(hh)

    # ---- costs ----------------------------------------------------------------------------
    def basis(self, hh: Households, idx: np.ndarray, basis: str) -> np.ndarray:
        if basis == "household":
            return np.ones(len(idx), dtype=np.float64)
        column = {"person": hh.size, "labourer": hh.labour, "pupil": hh.pupils}[basis]
        return column[idx].astype(np.float64)

    def first_year_cost(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        return (self.p["cost_one_off"] * self.basis(hh, idx, self.p["cost_basis"])
                + self.annual_cost(hh, idx))

    def annual_cost(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        return self.p["cost_per_year"] * self.basis(hh, idx, self.p["cost_basis"])

    def capacity_share(self) -> float:
        """Most new enrolments in a county-year, as a share of its registered households."""
        return self.p["capacity_share"]

    # ---- enrolment -----------------------------------------------------------------------------
    def enrol(self, hh: Households, idx: np.ndarray) -> None:
        """Start support for ``idx`` this January; the effect begins after the delay."""
        m = self.ctx.clock.month
        hh.enrolled_month[self.index][idx] = m
        hh.support_end[self.index][idx] = m + MONTHS * self.p["support_years"]
        hh.benefit[self.index][idx] = self.benefit_at_enrolment(hh, idx)

    def renew(self, hh: Households, idx: np.ndarray) -> None:
        """Funded continuing participants: a ``renewed`` programme's support runs another
        ``support_years``; a programme whose benefit depends on need refreshes it."""
        if self.p.get("renewed", False):
            hh.support_end[self.index][idx] = self.ctx.clock.month + MONTHS * self.p["support_years"]

    def stop(self, hh: Households, idx: np.ndarray) -> None:
        """Continuing participants the budget could not fund: support ends now."""
        hh.support_end[self.index][idx] = self.ctx.clock.month

    def benefit_at_enrolment(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        """Yearly effect in yuan fixed at enrolment."""
        return (self.p["effect"] * self.basis(hh, idx, self.p["effect_basis"])).astype(np.float32)

    def settle_year(self, hh: Households, net: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """December, before the assessment: claims for last payments against this year's actual
        net income, as (households in ascending order, yuan), paid while the county's remaining
        budget lasts; or None."""
        return None

    # ---- the month's costs (sim/core/costs.py) ----------------------------------------------
    def cover_medical(self, hh: Households, bill: MedicalBill, clock: Clock) -> None:
        """Lower ``bill.share`` for the households this programme covers; credit what it covered."""

    def cover_education(self, hh: Households, bill: EducationBill, clock: Clock) -> None:
        """Replace ``bill.due`` (never modify it in place) by what is left after this programme."""

    # ---- the month's flows ----------------------------------------------------------------
    def price_index(self) -> float:
        """This year's poverty line over the base year's, for an effect that keeps its real value
        (``indexed``): benefits are kept in base-year yuan and paid at this year's prices."""
        if not self.p.get("indexed", False):
            return 1.0
        year = self.ctx.clock.year
        return self.ctx.line(year) / self.ctx.line(self.ctx.clock.first_year - 1)

    def monthly_factor(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        """Share of the yearly benefit of ``idx`` that flows this month: 0 before the delay ends,
        1 while supported, ``persistence`` after support ends (the effect that outlasts the money);
        while the effect matures, k / ``maturity_years`` of it in its k-th year."""
        m = self.ctx.clock.month
        start = hh.enrolled_month[self.index][idx].astype(np.int32) + self.p["delay_months"]
        after = m >= hh.support_end[self.index][idx]
        factor = np.full(len(idx), np.float32(1.0))  # persistence after support (np.where is slower)
        factor[after] = np.float32(self.p["persistence"])
        factor *= m >= start
        maturity = self.p.get("maturity_years", 1)
        if maturity > 1:
            year_of_effect = (m - start) // MONTHS + 1
            factor = factor * np.minimum(np.float32(1), year_of_effect.astype(np.float32) / np.float32(maturity))
        return factor

    def members(self, hh: Households) -> np.ndarray:
        """Households ever enrolled (the only ones an effect can reach), refreshed each January,
        with the months in this year at which some member's flow changes (delay or support end)."""
        january = self.ctx.clock.january
        if self._members_month != january:
            # Platform indices (intp): gathers and scatters with them need no conversion.
            self._members = np.flatnonzero(hh.enrolled_month[self.index] >= 0)
            self._members_month = january
            starts = hh.enrolled_month[self.index][self._members].astype(np.int32) + self.p["delay_months"]
            ends = hh.support_end[self.index][self._members]
            # The effect steps up on each anniversary of its start while it matures.
            steps = [starts + MONTHS * k for k in range(1, int(self.p.get("maturity_years", 1)))]
            months = np.concatenate([starts, ends, *steps])
            months = months[(months > january) & (months < january + MONTHS)]  # few left to sort
            self._changes = {int(m) for m in np.unique(months)}
            self._gain_month = -1
        return self._members

    def release_year(self) -> None:
        """December, after the year's last flows: drop what ``members`` and the flows keep for the
        year (January makes it again, as it would anyway), so the assessment has the memory."""
        self._members = np.zeros(0, dtype=np.intp)
        self._members_month = -1
        self._changes = set()
        self._gain_month = -1
        self._gain = np.zeros(0, dtype=np.float32)
        self._flow_gain = None
        self._flow = None
        if self.villages is not None:
            self.villages.release_year()

    def flow_month(self, hh: Households) -> None:
        """Add this month's income effect to the household's year and to the contribution."""
        idx = self.members(hh)
        gain = self.monthly_gain(hh, idx)
        if gain is not self._flow_gain:
            # A flow of zero changes nothing (x + 0 is x: no income or contribution is ever −0),
            # and most members draw none for months (before the delay ends, or after support
            # with no persistence): add only the others, picked again when the gain changes.
            nonzero = np.flatnonzero(gain != 0)
            self._flow = Flow(hh.n, *((idx, gain) if len(nonzero) == len(idx) else (idx[nonzero], gain[nonzero])))
            self._flow_gain = gain
        self._flow.add_to(hh.income_year, hh.contribution[self.index])

    def monthly_gain(self, hh: Households, idx: np.ndarray) -> np.ndarray:
        """This month's flow for ``idx`` (the members); recomputed only when it can change."""
        m = self.ctx.clock.month
        if self._gain_month < 0 or m in self._changes:  # members() resets it each January
            index = np.float32(self.price_index() / MONTHS)
            self._gain = hh.benefit[self.index][idx] * (self.monthly_factor(hh, idx) * index)
            self._gain_month = m
        return self._gain
