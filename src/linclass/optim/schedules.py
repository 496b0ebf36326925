"""Learning-rate schedules: functions ``schedule(count) -> float`` of the optimizer step count.

A schedule multiplies nothing by itself; ``scale_by_schedule`` (or ``sgd``/``adam`` given a
callable learning rate) reads ``schedule(count)`` at update ``count = 0, 1, 2, ...``. ``count``
may be fractional: :func:`linclass.train.fit` evaluates named schedules at the fractional epoch
``step / steps_per_epoch``, so their arguments count epochs there.

``SCHEDULES`` maps names to factories ``factory(value, **options) -> schedule``; every
factory validates its arguments when called.

Example:
    >>> schedule = step(0.1, step_size=10, gamma=0.5)
    >>> [schedule(0), schedule(9), schedule(10), schedule(25)]
    [0.1, 0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math
from collections.abc import Callable

from linclass._validation import check_fraction, check_positive
from linclass.registry import Registry

Schedule = Callable[[float], float]

SCHEDULES: Registry[Callable[..., Schedule]] = Registry("schedule")


def _check_count(count: float) -> float:
    if not count >= 0:
        raise ValueError(f"count must be >= 0, got {count!r}")
    return count


@SCHEDULES.register("constant")
def constant(value: float) -> Schedule:
    """``lr(t) = value``.

    Example:
        >>> constant(0.01)(1000)
        0.01
    """
    value = check_positive(value, "learning_rate")

    def schedule(count: float) -> float:
        _check_count(count)
        return value

    return schedule


@SCHEDULES.register("step")
def step(value: float, step_size: int = 10, gamma: float = 0.1) -> Schedule:
    """Drop by ``gamma`` every ``step_size`` counts: ``lr(t) = value * gamma ** floor(t / step_size)``.

    Example:
        >>> step(1.0, step_size=2, gamma=0.5)(5)
        0.25
    """
    value = check_positive(value, "learning_rate")
    step_size = check_positive(step_size, "step_size")
    gamma = check_fraction(gamma, "gamma", low_open=True)

    def schedule(count: float) -> float:
        return value * gamma ** math.floor(_check_count(count) / step_size)

    return schedule


@SCHEDULES.register("exponential")
def exponential(value: float, decay_rate: float = 0.95, transition_steps: float = 1.0) -> Schedule:
    """Smooth exponential decay: ``lr(t) = value * decay_rate ** (t / transition_steps)``.

    Example:
        >>> exponential(1.0, decay_rate=0.5, transition_steps=2)(4)
        0.25
    """
    value = check_positive(value, "learning_rate")
    decay_rate = check_fraction(decay_rate, "decay_rate", low_open=True)
    transition_steps = check_positive(transition_steps, "transition_steps")

    def schedule(count: float) -> float:
        return value * decay_rate ** (_check_count(count) / transition_steps)

    return schedule


@SCHEDULES.register("inverse_time")
def inverse_time(value: float, decay_rate: float = 1.0, transition_steps: float = 1.0) -> Schedule:
    """``lr(t) = value / (1 + decay_rate * t / transition_steps)`` (scikit-learn's ``invscaling`` family).

    Example:
        >>> inverse_time(1.0, decay_rate=0.5)(2)
        0.5
    """
    value = check_positive(value, "learning_rate")
    decay_rate = check_positive(decay_rate, "decay_rate", allow_zero=True)
    transition_steps = check_positive(transition_steps, "transition_steps")

    def schedule(count: float) -> float:
        return value / (1.0 + decay_rate * _check_count(count) / transition_steps)

    return schedule


@SCHEDULES.register("cosine")
def cosine(value: float, decay_steps: float = 100.0, alpha: float = 0.0) -> Schedule:
    """Cosine decay from ``value`` to ``alpha * value`` over ``decay_steps``, constant afterwards.

    ``lr(t) = value * ((1 - alpha) * (1 + cos(pi * min(t, T) / T)) / 2 + alpha)`` with ``T = decay_steps``.

    Example:
        >>> cosine(1.0, decay_steps=10)(5)
        0.5
    """
    value = check_positive(value, "learning_rate")
    decay_steps = check_positive(decay_steps, "decay_steps")
    alpha = check_fraction(alpha, "alpha")

    def schedule(count: float) -> float:
        progress = min(_check_count(count), decay_steps) / decay_steps
        return value * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * progress)) + alpha)

    return schedule


def per_step(
    schedule: str | Schedule, value: float | None, options: dict | None, steps_per_epoch: int
) -> float | Schedule | None:
    """The learning rate as a function of the optimizer step.

    ``value`` itself for ``"constant"`` without options; a callable ``schedule`` (of the step
    count) as it is; a named schedule, whose options count epochs, evaluated at the fractional
    epoch ``count / steps_per_epoch``.

    Example:
        >>> rate = per_step("step", 1.0, {"step_size": 2, "gamma": 0.5}, steps_per_epoch=10)
        >>> [rate(0), rate(19), rate(20)]
        [1.0, 1.0, 0.5]
    """
    if callable(schedule):
        if value is not None or options:
            raise ValueError(
                "a callable schedule gives the learning rate itself; "
                "pass learning_rate=None and no schedule_options"
            )
        return schedule
    options = dict(options or {})
    if schedule == "constant" and not options:
        return value
    if value is None:
        raise ValueError(f"schedule={schedule!r} needs a learning_rate to start from, got None")
    by_epoch = SCHEDULES.resolve(schedule)(value, **options)
    return lambda count: by_epoch(count / steps_per_epoch)
