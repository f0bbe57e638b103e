"""Parameter data files: every number the model uses, with unit, source and range."""
