"""Optimizers: training is a search for the weights that minimize the objective.

Three kinds, as in the lecture:

- gradient-free searches (:mod:`~linclass.optim.search`): ``random_search``,
  ``random_local_search``, ``genetic`` — ``init(params, rng)`` / ``step(state, loss_fn, rng)``;
- gradient transformations (:mod:`~linclass.optim.transforms`): ``gd``, ``sgd``, ``adam``,
  built by ``chain``-ing small ``init``/``update`` pairs in the optax style;
- full-batch quasi-Newton (:mod:`~linclass.optim.lbfgs`): ``lbfgs`` through scipy.

``OPTIMIZERS`` maps each name to a factory taking its hyperparameters; ``linclass.train.fit``
looks names up there. Schedules for the learning rate live in ``SCHEDULES``.

Example:
    >>> sorted(OPTIMIZERS)
    ['adam', 'gd', 'genetic', 'lbfgs', 'random_local_search', 'random_search', 'sgd']
"""

from linclass.optim.lbfgs import LBFGS, LBFGSResult, check_smooth, lbfgs
from linclass.optim.schedules import SCHEDULES, Schedule
from linclass.optim.search import (
    GeneticState,
    Search,
    SearchState,
    genetic,
    random_local_search,
    random_search,
)
from linclass.optim.transforms import (
    EmptyState,
    GradientTransformation,
    ScaleByAdamState,
    ScaleByScheduleState,
    TraceState,
    adam,
    apply_updates,
    chain,
    gd,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_schedule,
    sgd,
    trace,
)
from linclass.registry import Registry

OPTIMIZERS: Registry = Registry("optimizer")
OPTIMIZERS.register("random_search", random_search)
OPTIMIZERS.register("random_local_search", random_local_search)
OPTIMIZERS.register("genetic", genetic)
OPTIMIZERS.register("gd", gd)
OPTIMIZERS.register("sgd", sgd)
OPTIMIZERS.register("adam", adam)
OPTIMIZERS.register("lbfgs", lbfgs)

__all__ = [
    "LBFGS",
    "OPTIMIZERS",
    "SCHEDULES",
    "EmptyState",
    "GeneticState",
    "GradientTransformation",
    "LBFGSResult",
    "ScaleByAdamState",
    "ScaleByScheduleState",
    "Schedule",
    "Search",
    "SearchState",
    "TraceState",
    "adam",
    "apply_updates",
    "chain",
    "check_smooth",
    "gd",
    "genetic",
    "lbfgs",
    "random_local_search",
    "random_search",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_schedule",
    "sgd",
    "trace",
]
