"""Welfare safety net (社会保障兜底): dibao (低保) tops household income up to the dibao line,
and five-guarantee support (五保/特困供养) pays at least 70 % of local rural consumption per person
(001 §二(三)). The top-up is set each January from last year's income without it, and renewed
each year while the household still needs it and the budget allows. In December the dibao pays
the difference (补差) to the year's actual income from what is left of the county's budget.
"""

from __future__ import annotations

import numpy as np

from ..core import kernels
from ..core.programme import BASE_PARAMETERS, DATED, NUMBER, Programme
from ..core.state import MONTHS, Category


class Welfare(Programme):
    name = "welfare"
    label = "社会保障兜底 dibao and five-guarantee support"
    once = False
    parameters = {**{k: BASE_PARAMETERS[k] for k in ("support_years", "delay_months", "persistence",
                                                      "capacity_share", "continue_after_exit_years")},
                  "dibao_line_ratio": DATED, "five_guarantee_share": NUMBER, "rural_consumption": DATED,
                  "income_test_from": NUMBER}
    reads = ("income.growth_rate", "income.transfer_growth_rate")
    guarantees_income = True

    def initialise(self, hh):
        """Dibao and five-guarantee households already draw welfare when the run starts: they are
        continuing participants at the first January if they still need a top-up."""
        c = hh.category
        on = (c == Category.DIBAO_LABOUR) | (c == Category.DIBAO_NO_LABOUR) | (c == Category.FIVE_GUARANTEE)
        hh.enrolled_month[self.index][on] = 0
        hh.support_end[self.index][on] = 0

    def _income_test(self) -> bool:
        return self.ctx.clock.year >= self.p["income_test_from"]

    def fits(self, hh):
        """Households without labour and dibao households with labour; from ``income_test_from``
        on, any household the income test finds short (应保尽保)."""
        if self._income_test():
            return np.ones(hh.n, dtype=bool)
        return (hh.labour == 0) | (hh.category == Category.DIBAO_LABOUR)

    def tier(self, hh, idx):
        """No labour first, then dibao households with labour, then the rest (development first)."""
        tier = (hh.category[idx] != Category.DIBAO_LABOUR).view(np.int8) + np.int8(1)  # 1 dibao, else 2
        tier *= hh.labour[idx] != 0  # 0 without labour
        return tier

    def candidates(self, hh):
        # Households on the roll until now are renewed as continuing, never queued twice.
        return self._needing(hh, super().candidates(hh) & ~self.on_roll(hh))

    def _needing(self, hh, mask):
        """``mask`` less the households whose expected income already reaches their line."""
        idx = np.flatnonzero(mask)
        mask[idx[self.topup(hh, idx) <= 0]] = False
        return mask

    def continuing(self, hh):
        return self._needing(hh, self.on_roll(hh) & self.within_exit_window(hh))

    def _lines(self):
        """This year's dibao line and five-guarantee standard, yuan per person a year (the
        standard is at least the dibao line)."""
        line = self.ctx.line(self.ctx.clock.year) * self.at("dibao_line_ratio")
        return line, float(np.maximum(line, self.p["five_guarantee_share"] * self.at("rural_consumption")))

    def support_line(self, hh, idx):
        """Yuan per person a year the safety net guarantees: the dibao line, or the
        five-guarantee standard where it is higher."""
        line, five_line = self._lines()
        target = np.full(len(idx), line, dtype=np.float64)
        target[hh.category[idx] == Category.FIVE_GUARANTEE] = five_line
        return target

    def topup(self, hh, idx):
        """Yuan a year that bring the household's expected income to its support line."""
        held = self.ctx.held
        if held is None:
            return self._topup(hh, idx)
        # While the counties fund, the incomes it rests on do not change, and the lists, costs,
        # renewals and enrolments ask for the same households again: each is worked out once.
        values, known = held.get(("topup", self.index)) or held.setdefault(
            ("topup", self.index), (np.empty(hh.n), np.zeros(hh.n, dtype=bool)))
        missing = idx[~known[idx]]
        if len(missing):
            values[missing] = self._topup(hh, missing)
            known[missing] = True
        return values[idx]

    def _topup(self, hh, idx):
        # Transfers grow at their own (slower) rate; everything else at the income growth rate.
        line, five_line = self._lines()
        return kernels.shortfall_topup(np.ascontiguousarray(idx, dtype=np.intp), hh.size, hh.last_income_pc,
                                       hh.contribution[self.index], hh.transfer, hh.category,
                                       int(Category.FIVE_GUARANTEE), line, five_line,
                                       1 + self.read["income.growth_rate"],
                                       1 + self.read["income.transfer_growth_rate"])

    def settle_year(self, hh, net):
        """The shortfall of every supported household below its support line in the year's actual
        net income, rounded up to whole yuan; and, where the register regime gives temporary
        assistance (临时救助), of every household it assists."""
        idx = np.flatnonzero(self.supported(hh) | self.ctx.regimes.now().assisted(hh))
        short = np.ceil(self.support_line(hh, idx) * hh.size[idx] - net[idx])
        need = short > 0
        return idx[need], short[need]

    def first_year_cost(self, hh, idx):
        return self.topup(hh, idx)

    def annual_cost(self, hh, idx):
        return self.topup(hh, idx)

    def benefit_at_enrolment(self, hh, idx):
        return self.topup(hh, idx).astype(np.float32)

    def renew(self, hh, idx):
        hh.benefit[self.index][idx] = self.topup(hh, idx).astype(np.float32)
        hh.support_end[self.index][idx] = self.ctx.clock.month + MONTHS * self.p["support_years"]
