"""tuopin (脱贫): an agent-based model of exits from and returns to poverty under programme budgets.

The package is layered; each layer imports only from the layers before it:
``inputs`` → ``core`` → ``programmes`` → ``model`` → ``execution`` → ``analysis`` → ``app``
(docs/architecture.md). The public API::

    from sim import load_scenario, simulate, run_ensemble, TuopinModel
    results = simulate("scenarios/sanming.toml", seed=1, overrides={"budgets.employment": 6.92e6})
"""

from importlib.metadata import PackageNotFoundError, version

from .core.results import RunResults
from .execution.ensemble import Ensemble, run_ensemble
from .inputs.errors import InputError
from .inputs.params import ParameterSet
from .inputs.scenario import LoadedScenario, load_scenario
from .model import County, Model, TuopinModel, simulate

try:
    __version__ = version("tuopin")
except PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0+unknown"

__all__ = ["County", "Ensemble", "InputError", "LoadedScenario", "Model", "ParameterSet", "RunResults",
           "TuopinModel", "__version__", "load_scenario", "run_ensemble", "simulate"]
