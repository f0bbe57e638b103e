"""Analysis of runs and ensembles: the terminal summary and plots (and, as they come, comparison,
calibration, optimisation and reports)."""
