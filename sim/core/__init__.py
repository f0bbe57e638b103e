"""The model's core: the state schema, random streams, the clock, the initial population, the
submodels (income, shocks, costs, the budget year, village projects, the assessment), the
programme interface and the register regimes, and the run's record. Submodels are functions of
explicit inputs; nothing here knows a particular programme or Mesa."""
