"""Education support (教育扶贫): fee waivers and grants per pupil, and vocational training (雨露计划).

Pays the household's education costs now (the grant is its contribution), keeps every school-age
child in school (the compulsory-education guarantee), and after a long delay adds the earnings of
a trained school leaver.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import Programme
from ..core.vector import KEEP_DENSE_SHARE, Flow
from ..core.state import MONTHS


class Education(Programme):
    name = "education"
    label = "教育扶贫 education grants and vocational training"

    def reachable(self, hh):
        return super().reachable(hh) & (hh.pupils > 0)

    def tier(self, hh, idx):
        # Families whose children are out of school, or whose cause is school costs, come first.
        first = self.matched.take(hh.cause[idx]) | ~hh.school_ok[idx]
        return np.logical_not(first, out=first).view(np.int8)  # 0 for the first, else 1

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.school_ok[idx] = True

    def cover_education(self, hh, bill, clock):
        """The grant per pupil is paid in full: it pays this month's education cost, and what the
        cost does not use is the household's income. Its contribution is the whole grant, so what
        the programme spends is what households receive."""
        # Only supported households with pupils get a grant; for the others it is 0, which
        # changes nothing (the cost due is never negative), so they are left out. Support starts
        # and ends in January or at the months ``members`` lists, and the education cost is set
        # in January: in between, the month's grant, income and cost left are those of the month
        # before, and are kept.
        m = self.ctx.clock.month
        members = self.members(hh)
        fresh = bill.idx is None and bill.due is hh.education_monthly  # no other programme covered first
        cover = self._cover
        if not fresh or cover is None or cover[0] is not members or m in self._changes:
            keep = (m < hh.support_end[self.index][members]) & (hh.pupils[members] > 0)
            idx = members[keep]
            grant = np.float32(self.p["cost_per_year"] / MONTHS) * hh.pupils[idx]
            due = bill.due_at(idx)
            avoided = np.minimum(grant, due)
            income = grant - avoided
            gets = np.flatnonzero(income != 0)  # x + 0 is x: only a grant above the cost adds income
            cover = (members, Flow(hh.n, idx, grant), Flow(hh.n, idx[gets], income[gets]), idx, due - avoided)
            self._cover = cover if fresh else None
        grant, income, idx, left = cover[1:5]
        income.add_to(hh.income_year)
        grant.add_to(hh.contribution[self.index])
        if fresh and len(idx) > KEEP_DENSE_SHARE * hh.n:
            # Kept whole for the months the cover holds: the cost left of every household.
            if len(cover) == 5:
                due = bill.due.copy()
                due[idx] = left
                cover = self._cover = (*cover, due)
            bill.due = cover[5]  # a whole new array, as the interface asks (never changed in place)
        else:
            bill.cover(idx, left)

    _cover = None  # (members, grant, income left after the cost, households granted, cost left[, all costs left])

    def release_year(self):
        super().release_year()
        self._cover = None
