"""sim/analysis/fit_report.py: the posterior predictive runs and the report made from them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.fit_report import fit_table, posterior_predictive
from sim.execution.executors import executor_for
from sim.inputs.targets import Target


def _posterior() -> pd.DataFrame:
    return pd.DataFrame({"income.growth_rate": [0.05, 0.08, 0.11], "programme.employment.effect": [3000.0, 4000.0, 5000.0],
                         "weight": [1.0, 2.0, 1.0], "distance": [0.5, 0.4, 0.6]})


def _targets() -> list[Target]:
    return [Target("registered_persons_end", "ALL", 2016, 2016, 40_000.0, 4_000.0),
            Target("registered_persons_end", "ALL", 2015, 2015, 60_000.0, 6_000.0)]


def test_the_runs_through_worker_processes_are_the_runs_in_this_process(tiny):
    here_values, here_tables = posterior_predictive(tiny, _posterior(), _targets(), runs=3, seed=9)
    with executor_for(2) as pool:
        there_values, there_tables = posterior_predictive(tiny, _posterior(), _targets(), runs=3, seed=9, pool=pool)
    assert np.array_equal(here_values, there_values)
    for a, b in zip(here_tables, there_tables):
        pd.testing.assert_frame_equal(a["yearly"], b["yearly"], check_exact=True)
    assert len(set(here_values[:, 0])) > 1  # each run its own seed and parameter set


def test_the_fit_table_gives_the_median_and_whether_it_is_within_tolerance():
    values = np.array([[41_000.0, 50_000.0], [39_000.0, 52_000.0], [43_000.0, 51_000.0]])
    table = fit_table(_targets(), values)
    assert table.simulated_median.tolist() == [41_000.0, 51_000.0]
    assert table.within_tolerance.tolist() == [True, False]
