"""Education support (教育扶贫): fee waivers and grants per pupil, and vocational training (雨露计划).

Pays the household's education costs now (the grant is its contribution), keeps every school-age
child in school (the compulsory-education guarantee), and after a long delay adds the earnings of
a trained school leaver.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import Programme
from ..core.state import MONTHS


class Education(Programme):
    name = "education"
    label = "教育扶贫 education grants and vocational training"

    def reachable(self, hh):
        return super().reachable(hh) & (hh.pupils > 0)

    def tier(self, hh, idx):
        # Families whose children are out of school, or whose cause is school costs, come first.
        first = self.matched[hh.cause[idx]] | ~hh.school_ok[idx]
        return np.where(first, 0, 1).astype(np.int8)

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.school_ok[idx] = True

    def cover_education(self, hh, bill, clock):
        """The grant per pupil is paid in full: it pays this month's education cost, and what the
        cost does not use is the household's income. Its contribution is the whole grant, so what
        the programme spends is what households receive."""
        active = self.supported(hh)
        grant = np.float32(self.p["cost_per_year"] / MONTHS) * hh.pupils * active
        avoided = np.minimum(grant, bill.due)
        hh.income_year += grant - avoided
        hh.contribution[self.index] += grant
        bill.due = bill.due - avoided
