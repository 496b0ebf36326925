"""Optimizers: training is a search for the weights that minimize the objective.

Three kinds, as in the lecture:

- gradient-free searches (:mod:`~linclass.optim.search`): ``random_search``,
  ``random_local_search``, ``genetic`` — ``init(params, rng)`` / ``step(state, loss_fn, rng)``;
- gradient transformations (:mod:`~linclass.optim.transforms`): ``gd``, ``sgd``, ``adam``,
  built by ``chain``-ing small ``init``/``update`` pairs in the optax style;
- full-batch quasi-Newton (:mod:`~linclass.optim.lbfgs`): ``lbfgs``, linclass's own L-BFGS over
  SciPy's line search, run in preconditioned coordinates (:mod:`~linclass.optim.precondition`);
  :func:`~linclass.optim.solver.solve` is the same solver as a function (warm starts, counts).

Every optimizer has the same shape in the registry: ``OPTIMIZERS`` maps each name to an
:class:`OptimizerSpec` — its factory, how it consumes data (``"minibatch"``, ``"full_batch"``
or ``"population"``), the name of its step-size argument and the shared hyperparameters it
takes. Adding an optimizer is one factory plus one ``OPTIMIZERS.register`` line.
``linclass.train.fit`` takes a built optimizer (``sgd(0.1, momentum=0.9)``), a
:class:`BuiltOptimizer` from :meth:`OptimizerSpec.build`, or a registered name (built with
its defaults). Schedules for the learning rate live in ``SCHEDULES``.

Example:
    >>> sorted(OPTIMIZERS)
    ['adam', 'gd', 'genetic', 'lbfgs', 'random_local_search', 'random_search', 'sgd']
"""

from linclass.optim.lbfgs import LBFGS, LBFGSResult, LBFGSState, check_smooth, lbfgs
from linclass.optim.schedules import SCHEDULES, Schedule, per_step
from linclass.optim.search import (
    GeneticState,
    Search,
    SearchState,
    genetic,
    random_local_search,
    random_search,
)
from linclass.optim.solver import SolveResult, solve
from linclass.optim.spec import DATA_MODES, BuiltOptimizer, OptimizerSpec
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

OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer")
OPTIMIZERS.register("random_search", OptimizerSpec("random_search", random_search, "population", "sigma"))
OPTIMIZERS.register(
    "random_local_search", OptimizerSpec("random_local_search", random_local_search, "population", "sigma")
)
OPTIMIZERS.register("genetic", OptimizerSpec("genetic", genetic, "population", "sigma"))
OPTIMIZERS.register("gd", OptimizerSpec("gd", gd, "full_batch", "learning_rate", ("momentum", "nesterov")))
OPTIMIZERS.register("sgd", OptimizerSpec("sgd", sgd, "minibatch", "learning_rate", ("momentum", "nesterov")))
OPTIMIZERS.register("adam", OptimizerSpec("adam", adam, "minibatch", "learning_rate"))
OPTIMIZERS.register("lbfgs", OptimizerSpec("lbfgs", lbfgs, "full_batch", None, ("max_iter", "tol")))

__all__ = [
    "DATA_MODES",
    "LBFGS",
    "OPTIMIZERS",
    "SCHEDULES",
    "BuiltOptimizer",
    "OptimizerSpec",
    "EmptyState",
    "GeneticState",
    "GradientTransformation",
    "LBFGSResult",
    "LBFGSState",
    "ScaleByAdamState",
    "ScaleByScheduleState",
    "Schedule",
    "Search",
    "SolveResult",
    "SearchState",
    "TraceState",
    "adam",
    "apply_updates",
    "chain",
    "check_smooth",
    "gd",
    "genetic",
    "lbfgs",
    "per_step",
    "random_local_search",
    "random_search",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_schedule",
    "sgd",
    "solve",
    "trace",
]
