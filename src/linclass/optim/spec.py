"""One shape for every optimizer: the registry entry (:class:`OptimizerSpec`) and a built one.

A spec says what the training loop and the estimators need to know without looking inside:

- ``data``: how the optimizer consumes data — ``"minibatch"`` (a gradient step per batch),
  ``"full_batch"`` (a step on all training rows: ``gd``, ``lbfgs``) or ``"population"`` (a
  step evaluates a set of candidate weights on all rows: the searches);
- ``step_size``: the factory argument the shared ``learning_rate`` goes to (``"learning_rate"``
  for the gradient methods, the search scale ``"sigma"`` for the searches, None for L-BFGS);
- ``shared``: the other shared hyperparameters the factory takes (``momentum``, ``tol``, ...).

:meth:`OptimizerSpec.build` turns the shared hyperparameters into an optimizer, passing each
to the factories that declare it, so nothing is routed by inspecting signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from linclass.optim.schedules import Schedule, per_step

DATA_MODES = ("minibatch", "full_batch", "population")


class BuiltOptimizer(NamedTuple):
    """An optimizer with the facts the loop reports: its registry name and its step size.

    Attributes:
        optimizer: a ``GradientTransformation``, ``Search`` or ``LBFGS``.
        name: the registry name (recorded in a ``TrainState``; a resumed run must match it).
        data: ``"minibatch"``, ``"full_batch"`` or ``"population"``.
        learning_rate: the step size (a number or a schedule of the step count), or None.
    """

    optimizer: Any
    name: str | None
    data: str
    learning_rate: float | Schedule | None = None


@dataclass(frozen=True)
class OptimizerSpec:
    """A registered optimizer (see the module docstring).

    Attributes:
        name: the registry key (the estimator's ``optimizer=`` value).
        factory: ``factory(**hyperparameters) -> optimizer``; every argument has a default.
        data: one of :data:`DATA_MODES`.
        step_size: the factory argument the shared ``learning_rate`` goes to, or None.
        shared: other shared hyperparameters the factory takes.
    """

    name: str
    factory: Callable[..., Any]
    data: str
    step_size: str | None
    shared: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.data not in DATA_MODES:
            raise ValueError(f"data={self.data!r} is not supported; expected one of {list(DATA_MODES)}")

    @property
    def scheduled(self) -> bool:
        """True when the step size is a learning rate, so a schedule can steer it."""
        return self.step_size == "learning_rate"

    def build(
        self,
        *,
        learning_rate: float | None = None,
        schedule: str | Schedule = "constant",
        schedule_options: dict | None = None,
        steps_per_epoch: int = 1,
        **shared: Any,
    ) -> BuiltOptimizer:
        """The optimizer for these shared hyperparameters.

        Args:
            learning_rate: goes to the factory's ``step_size`` argument (None: its default).
            schedule: a name in ``SCHEDULES`` whose options count epochs (converted with
                ``steps_per_epoch``), or a callable of the step count; only for ``scheduled`` specs.
            shared: values of shared hyperparameters (``momentum``, ``tol``, ...); those the
                factory does not declare in ``shared`` are ignored, as scikit-learn ignores
                solver-specific options of other solvers.

        Raises:
            ValueError: a schedule for an optimizer without a learning rate.
        """
        kwargs = {key: value for key, value in shared.items() if key in self.shared}
        rate: float | Schedule | None = None
        if self.scheduled:
            rate = per_step(schedule, learning_rate, schedule_options, steps_per_epoch)
            if rate is not None:
                kwargs["learning_rate"] = rate
        elif (callable(schedule) or schedule != "constant") or schedule_options:
            raise ValueError(
                f"schedule={schedule!r} needs an optimizer with a learning rate; optimizer={self.name!r} "
                "has none (use 'gd', 'sgd' or 'adam')"
            )
        elif self.step_size is not None and learning_rate is not None:
            kwargs[self.step_size] = learning_rate
        return BuiltOptimizer(self.factory(**kwargs), self.name, self.data, rate)
