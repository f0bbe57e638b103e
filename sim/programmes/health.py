"""Health support (健康扶贫): insurance premium subsidy, serious-illness insurance and medical
assistance (the three-layer guarantee, 三重保障).

Enrolment makes the household insured (the basic-medical guarantee) and lowers the share of an
illness's cost it pays itself; the avoided cost is its contribution.
"""

from __future__ import annotations

import numpy as np

from .base import Programme


class Health(Programme):
    name = "health"
    label = "健康扶贫 health insurance subsidy and medical assistance"

    def tier(self, hh, idx):
        first = self.matched[hh.cause[idx]] | ~hh.insured[idx]
        return np.where(first, 0, 1).astype(np.int8)

    def enrol(self, hh, idx):
        super().enrol(hh, idx)
        hh.insured_by_health[idx] = ~hh.insured[idx]
        hh.insured[idx] = True  # and it stays insured, in ordinary insurance, when support ends

    def apply_month(self, hh):
        """Health acts on costs when illness strikes (``adjust_medical_cost``), not on income."""

    def adjust_medical_cost(self, hh, idx, cost, share_without):
        """Out-of-pocket cost of illnesses in ``idx`` given this programme's cover. Its credit is
        measured against what the household would have paid without the programme: the whole
        cost if the programme is what insured it."""
        m = self.model.month
        covered = (hh.enrolled_month[self.index, idx] >= 0) & (m < hh.support_end[self.index, idx])
        share_without = np.where(covered & hh.insured_by_health[idx], np.float32(1.0), share_without)
        share = np.where(covered, np.float32(self.p["out_of_pocket_share"]), share_without)
        share = np.minimum(share, share_without)
        hh.contribution[self.index, idx] += cost * (share_without - share)
        return cost * share
