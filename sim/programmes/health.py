"""Health support (健康扶贫): insurance premium subsidy, serious-illness insurance and medical
assistance (the three-layer guarantee, 三重保障).

Enrolment makes the household insured (the basic-medical guarantee) and lowers the share of an
illness's cost it pays itself; the avoided cost is its contribution. In the transition period the
extraordinary cover tapers (003 §四(十三)): exited households that are not dibao or five-guarantee
households move back to ordinary insurance, a growing share each year (``exited_cover``); which
households move first is fixed by one draw per household for the run (common random numbers).
"""

from __future__ import annotations

import numpy as np

from ..core.programme import BASE_PARAMETERS, DATED, NUMBER, Programme
from ..core.state import Category, Column, Status


class Health(Programme):
    name = "health"
    label = "健康扶贫 health insurance subsidy and medical assistance"
    parameters = {**{k: v for k, v in BASE_PARAMETERS.items()
                     if k not in ("effect", "effect_basis", "persistence", "delay_months", "maturity_years", "indexed")},
                  "out_of_pocket_share": NUMBER, "exited_cover": DATED}
    columns = {"insured_by_health": Column("bool", "insured only because the health programme enrolled it")}
    streams = {"health_taper": 18}

    def tapered(self, hh):
        """Exited households, not on dibao or five-guarantee support, whose extraordinary cover has
        ended this year."""
        cover = self.at("exited_cover")
        if cover >= 1:  # nobody has moved back yet (before the transition period)
            return np.zeros(hh.n, dtype=bool)
        tapered = self.ctx.streams.uniform("health_taper", -1, hh.n) >= cover
        tapered &= hh.status == Status.EXITED
        tapered &= (hh.category < Category.DIBAO_LABOUR) | (hh.category > Category.FIVE_GUARANTEE)  # welfare categories keep it
        return tapered

    def continuing(self, hh):
        return super().continuing(hh) & ~self.tapered(hh)

    def candidates(self, hh):
        return super().candidates(hh) & ~self.tapered(hh)

    def tier(self, hh, idx):
        first = self.matched.take(hh.cause[idx]) | ~hh.insured[idx]
        return np.logical_not(first, out=first).view(np.int8)  # 0 for the first, else 1

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.insured_by_health[idx] = ~hh.insured[idx]
        hh.insured[idx] = True  # and it stays insured, in ordinary insurance, when support ends

    def benefit_at_enrolment(self, hh, idx):
        return np.zeros(len(idx), dtype=np.float32)  # no income: it acts on costs

    def flow_month(self, hh):
        """Health acts on costs when illness strikes (``cover_medical``), not on income."""

    def cover_medical(self, hh, bill, clock):
        """Its credit is measured against what the household would have paid without the
        programme: the whole cost if the programme is what insured it."""
        idx = bill.idx
        covered = (hh.enrolled_month[self.index][idx] >= 0) & (clock.month < hh.support_end[self.index][idx])
        without = np.where(covered & hh.insured_by_health[idx], np.float32(1.0), bill.share)
        share = np.where(covered, np.float32(self.p["out_of_pocket_share"]), without)
        share = np.minimum(share, without)
        hh.contribution[self.index][idx] += bill.cost * (without - share)
        bill.share = share
