"""The month's costs, in one step: gross medical and education costs, then each programme's cover in
programme order, then what is left is paid out of pocket.

A programme covers a cost through ``Programme.cover_medical`` and ``Programme.cover_education``: it
lowers what the household pays and credits itself with what it covered (its contribution to net
income). Programmes that cover nothing keep the interface's defaults, which change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from .clock import Clock
from .state import Households


@dataclass
class MedicalBill:
    """This month's illnesses: households ``idx``, each episode's gross ``cost`` (yuan) and the
    ``share`` of it the household pays (its insurance alone, until a programme lowers it)."""

    idx: np.ndarray
    cost: np.ndarray
    share: np.ndarray

    @classmethod
    def none(cls) -> "MedicalBill":
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32))


class EducationBill:
    """This month's education cost of every household still to be paid (yuan): ``due``, one value
    per household. A programme that covers only some households says so with ``cover`` (what is
    left for them) instead of replacing ``due`` with a whole new array; ``due_at`` reads the cost
    still due of some households either way."""

    def __init__(self, due: np.ndarray):
        self._due = due                      # every household's, before any ``cover``
        self.idx: np.ndarray | None = None   # households covered since (ascending, unique)
        self.left: np.ndarray | None = None  # and what is left for each of them

    @property
    def due(self) -> np.ndarray:
        if self.idx is not None:  # made whole on demand (a programme that reads every household)
            due = self._due.copy()
            due[self.idx] = self.left
            self._due, self.idx, self.left = due, None, None
        return self._due

    @due.setter
    def due(self, value: np.ndarray) -> None:
        self._due, self.idx, self.left = value, None, None

    def due_at(self, idx: np.ndarray) -> np.ndarray:
        """The cost still due of households ``idx`` (ascending, unique)."""
        return self.due[idx]

    def cover(self, idx: np.ndarray, left: np.ndarray) -> None:
        """What is left to pay for households ``idx`` (ascending, unique); the others' is unchanged."""
        if self.idx is not None:
            self.due  # noqa: B018 (make the earlier cover whole first)
        self.idx, self.left = idx, left


class Cover(Protocol):
    """What the cost step needs of a programme (``sim/core/programme.py`` implements it)."""

    def cover_medical(self, hh: Households, bill: MedicalBill, clock: Clock) -> None: ...

    def cover_education(self, hh: Households, bill: EducationBill, clock: Clock) -> None: ...


def pay_month(hh: Households, medical: MedicalBill, programmes: Sequence[Cover], clock: Clock) -> None:
    """Programmes cover what they cover, in order; households pay the rest."""
    if medical.idx.size:
        for programme in programmes:
            programme.cover_medical(hh, medical, clock)
        hh.medical_oop[medical.idx] += (medical.cost * medical.share).astype(np.float32)
    education = EducationBill(hh.education_monthly)
    for programme in programmes:
        programme.cover_education(hh, education, clock)
    if education.idx is None:
        hh.education_cost += education.due
    else:
        # Everyone's cost, then the covered households' own sums (the same sum, element by element).
        before = hh.education_cost[education.idx]
        hh.education_cost += education._due
        hh.education_cost[education.idx] = before + education.left
