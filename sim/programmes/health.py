"""Health support (健康扶贫): insurance premium subsidy, serious-illness insurance and medical
assistance (the three-layer guarantee, 三重保障).

Enrolment makes the household insured (the basic-medical guarantee) and lowers the share of an
illness's cost it pays itself; the avoided cost is its contribution.
"""

from __future__ import annotations

import numpy as np

from ..core.programme import BASE_PARAMETERS, NUMBER, Programme
from ..core.state import Column


class Health(Programme):
    name = "health"
    label = "健康扶贫 health insurance subsidy and medical assistance"
    parameters = {**BASE_PARAMETERS, "out_of_pocket_share": NUMBER}
    columns = {"insured_by_health": Column("bool", "insured only because the health programme enrolled it")}

    def tier(self, hh, idx):
        first = self.matched[hh.cause[idx]] | ~hh.insured[idx]
        return np.where(first, 0, 1).astype(np.int8)

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.insured_by_health[idx] = ~hh.insured[idx]
        hh.insured[idx] = True  # and it stays insured, in ordinary insurance, when support ends

    def flow_month(self, hh):
        """Health acts on costs when illness strikes (``cover_medical``), not on income."""

    def cover_medical(self, hh, bill, clock):
        """Its credit is measured against what the household would have paid without the
        programme: the whole cost if the programme is what insured it."""
        idx = bill.idx
        covered = (hh.enrolled_month[self.index, idx] >= 0) & (clock.month < hh.support_end[self.index, idx])
        without = np.where(covered & hh.insured_by_health[idx], np.float32(1.0), bill.share)
        share = np.where(covered, np.float32(self.p["out_of_pocket_share"]), without)
        share = np.minimum(share, without)
        hh.contribution[self.index, idx] += bill.cost * (without - share)
        bill.share = share
