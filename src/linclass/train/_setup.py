"""Argument checks for ``fit`` and the translation of its hyperparameters into an optimizer."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass.optim import LBFGS, OPTIMIZERS, GradientTransformation, Search
from linclass.optim.schedules import SCHEDULES, Schedule

Optimizer = GradientTransformation | Search | LBFGS


class BuiltOptimizer(NamedTuple):
    optimizer: Optimizer
    name: str | None
    learning_rate: float | Schedule | None  # for the divergence hint; None when unknown


def build_optimizer(
    optimizer: str | Optimizer,
    *,
    learning_rate: float | None,
    schedule: str | Schedule,
    schedule_options: dict | None,
    momentum: float,
    nesterov: bool,
    epochs: int,
    tol: float,
    steps_per_epoch: int,
    options: dict[str, Any],
) -> BuiltOptimizer:
    """Look ``optimizer`` up in ``OPTIMIZERS`` and pass it the hyperparameters its factory takes.

    ``learning_rate`` goes to a factory's ``learning_rate`` (through the schedule) or, for the
    searches, to ``sigma``; ``momentum``/``nesterov`` go where accepted; L-BFGS gets ``max_iter =
    epochs`` and ``tol``. Named schedules count epochs (fractional within an epoch).
    """
    if not isinstance(optimizer, str):
        if not isinstance(optimizer, (GradientTransformation, Search, LBFGS)):
            raise TypeError(
                "optimizer must be a name in linclass.optim.OPTIMIZERS, a GradientTransformation, a Search "
                f"or an LBFGS, got {optimizer!r}"
            )
        given = {"learning_rate": learning_rate is not None, "schedule": schedule != "constant",
                 "schedule_options": bool(schedule_options), "momentum": momentum != 0, "nesterov": nesterov,
                 **{key: True for key in options}}
        if any(given.values()):
            names = [key for key, value in given.items() if value]
            raise ValueError(f"{names} apply to an optimizer given by name; "
                             f"build them into the {type(optimizer).__name__} instead")
        return BuiltOptimizer(optimizer, None, None)

    factory = OPTIMIZERS.get(optimizer)
    accepted = inspect.signature(factory).parameters
    if learning_rate is not None and "sigma" in options:
        raise ValueError(f"learning_rate={learning_rate!r} and sigma={options['sigma']!r} both set "
                         "the search scale; pass one of them")
    reserved = {"learning_rate", "momentum", "nesterov", "max_iter", "tol"}
    unknown = sorted(set(options) - (set(accepted) - reserved))
    if unknown:
        allowed = sorted(set(accepted) - reserved)
        raise ValueError(f"optimizer={optimizer!r} does not take {unknown}; its own options are {allowed}")
    kwargs = dict(options)
    rate: float | Schedule | None = None
    if "learning_rate" in accepted:
        value = accepted["learning_rate"].default if learning_rate is None else learning_rate
        rate = _learning_rate(value, learning_rate, schedule, schedule_options, steps_per_epoch)
        kwargs["learning_rate"] = rate
    elif schedule != "constant" or schedule_options:
        raise ValueError(f"schedule={schedule!r} needs an optimizer with a learning rate; "
                         f"optimizer={optimizer!r} has none (use 'gd', 'sgd' or 'adam')")
    elif "sigma" in accepted and learning_rate is not None:
        kwargs["sigma"] = learning_rate
    for key, value in (("momentum", momentum), ("nesterov", nesterov), ("max_iter", epochs), ("tol", tol)):
        if key in accepted:
            kwargs[key] = value
    return BuiltOptimizer(factory(**kwargs), optimizer, rate)


def _learning_rate(
    value: float,
    given: float | None,
    schedule: str | Schedule,
    schedule_options: dict | None,
    steps_per_epoch: int,
) -> float | Schedule:
    if callable(schedule):
        if given is not None or schedule_options:
            raise ValueError("a callable schedule gives the learning rate itself; "
                             "pass learning_rate=None and no schedule_options")
        return schedule
    options = dict(schedule_options or {})
    if schedule == "constant" and not options:
        return value
    by_epoch = SCHEDULES.get(schedule)(value, **options)
    return lambda count: by_epoch(count / steps_per_epoch)


def current_learning_rate(rate: float | Schedule | None, n_steps: int) -> float | None:
    return rate(n_steps) if callable(rate) else rate


def check_params(params: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``params`` as ``(W (D, C), b (C,))`` of one floating dtype, ``D = n_features``."""
    if not isinstance(params, (tuple, list)) or len(params) != 2:
        raise TypeError(f"params must be a tuple (W, b), got {type(params).__name__}")
    W, b = (np.asarray(p) for p in params)
    if W.dtype.kind != "f" or W.dtype != b.dtype:
        raise TypeError(f"W and b must share a floating dtype, got W {W.dtype} and b {b.dtype}")
    if W.ndim != 2 or W.shape[0] != n_features or b.shape != (W.shape[1],):
        raise ValueError(
            f"params must be W ({n_features}, C) and b (C,) for X with {n_features} features, "
            f"got W {W.shape} and b {b.shape}"
        )
    return W, b


def check_data(X: Any, y: Any, n_features: int | None, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """2-D ``X`` and ``y`` of matching length, left in their dtypes (no copies)."""
    X = np.asarray(X)
    y = np.asarray(y)
    label = "y" if name == "X" else "y_val"
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got an array of shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but X has {n_features}; expected equal")
    if y.shape[:1] != X.shape[:1]:
        n_labels = y.shape[0] if y.ndim else 0
        raise ValueError(f"{label} has {n_labels} entries but {name} has {X.shape[0]} rows")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows; expected at least one sample")
    return X, y


def check_callables(callbacks: Any, checkpoint: Callable | None) -> tuple[Callable, ...]:
    callbacks = (callbacks,) if callable(callbacks) else tuple(callbacks)
    for i, callback in enumerate(callbacks):
        if not callable(callback):
            raise TypeError(f"callbacks[{i}] must be callable, got {callback!r}")
    if checkpoint is not None and not callable(checkpoint):
        raise TypeError(f"checkpoint must be a callable checkpoint(state) or None, got {checkpoint!r}")
    return callbacks
