"""Shared fixtures and the hypothesis profiles.

Profiles: ``default`` (a modest number of examples, no deadline: a model run takes tens of
milliseconds) and ``ci`` (the same, derandomized so that CI is reproducible). CI sets ``CI=true``;
``HYPOTHESIS_PROFILE=<name>`` chooses one explicitly.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from helpers import SANMING, scaled
from sim.inputs.scenario import load_scenario

settings.register_profile(
    "default", max_examples=15, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "ci", max_examples=15, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough", max_examples=200, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))

# Session counters, reported at the end of the run (one process: the suite does not use xdist).
# Fuzz tests add every input they feed the loader or the model; fault tests every fault they inject.
COUNTERS = {"fuzzed_inputs": 0, "faults_injected": 0}


@pytest.fixture(scope="session")
def counters() -> dict[str, int]:
    """The session's counters: ``counters["fuzzed_inputs"] += 1`` and ``counters["faults_injected"]``."""
    return COUNTERS


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(f"tuopin: {COUNTERS['fuzzed_inputs']} fuzzed inputs tried, "
                                f"{COUNTERS['faults_injected']} faults injected")


@pytest.fixture(scope="session")
def sanming():
    """The shipped scenario, loaded once."""
    return load_scenario(SANMING)


@pytest.fixture(scope="session")
def small(sanming):
    """The shipped scenario at a 10 % sample: fast enough for behaviour tests."""
    return scaled(sanming, 0.1)


@pytest.fixture(scope="session")
def tiny(sanming):
    """The shipped scenario at a 5 % sample."""
    return scaled(sanming, 0.05)
