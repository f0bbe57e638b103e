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


@dataclass
class EducationBill:
    """This month's education cost of every household still to be paid (yuan)."""

    due: np.ndarray


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
    hh.education_cost += education.due
