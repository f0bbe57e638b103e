"""The county agent (县): funds, tasks and responsibility lie with the county (四到县, 002 ch. 11).

Each January, programme by programme, a county spends its share of the programme's budget on its
own part of the programme's lists (village projects first, then households in priority order);
the model then commits what all counties decided (``sim/core/budget.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from ..core.allocation import Funding
from ..core.budget import fund_county

if TYPE_CHECKING:
    from .model import TuopinModel


class County(mesa.Agent):
    """One county: a row of the county table and the decisions it takes on its budgets."""

    def __init__(self, model: "TuopinModel", index: int):
        super().__init__(model)
        self.index = index
        self.name = model.counties.names[index]
        self.name_zh = model.counties.names_zh[index]
        self.decision: tuple[Funding, Funding] = (Funding(), Funding())  # on the programme before it now
        self.budget = 0.0   # this year's budget over all programmes, yuan (full size)
        self.spent = 0.0    # what January's funding spent of it, yuan (full size)

    @property
    def budget_share(self) -> float:
        return float(self.model.counties.budget_share[self.index])

    def open_year(self) -> None:
        """January, before the first programme: a new year's budgets."""
        self.budget = self.spent = 0.0

    def step(self) -> None:
        """Fund this county's part of the lists of the programme before it (``model.offer``)
        within the county's budget for it."""
        offer = self.model.offer
        scale = self.model.budget.scale
        self.decision = fund_county(self.index, offer)
        village, households = self.decision
        self.budget += float(offer.budget[self.index]) / scale
        self.spent += (village.spent + households.spent) / scale
