"""The clock: month index since the start, the calendar year, and where a month sits in the year."""

from __future__ import annotations

from dataclasses import dataclass

from .state import MONTHS


@dataclass
class Clock:
    """Month ``month`` (0 = January of ``first_year``) of a run of ``n_months`` months."""

    first_year: int
    n_months: int
    month: int = 0

    @property
    def year(self) -> int:
        return self.first_year + self.month // MONTHS

    @property
    def month_of_year(self) -> int:
        return self.month % MONTHS

    @property
    def january(self) -> int:
        """Month index of this year's January."""
        return self.month - self.month % MONTHS

    @property
    def is_january(self) -> bool:
        return self.month % MONTHS == 0

    @property
    def is_december(self) -> bool:
        return self.month % MONTHS == MONTHS - 1

    def reached(self, year: int | None) -> bool:
        """Whether ``year`` (a plan's deadline; None: no deadline) has come."""
        return year is not None and self.year >= year

    @property
    def done(self) -> bool:
        return self.month >= self.n_months

    def advance(self) -> None:
        self.month += 1
