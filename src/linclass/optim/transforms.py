"""Gradient transformations in the optax style: pure ``init``/``update`` pairs that compose.

A :class:`GradientTransformation` turns gradients into updates::

    state = tx.init(params)
    updates, state = tx.update(grads, state, params)
    params = apply_updates(params, updates)          # params + updates

``params``, ``grads`` and ``updates`` are tuples of arrays (here ``(W, b)``); nothing is changed
in place, so the arrays a caller holds stay valid. States are small NamedTuples of Python
numbers and arrays. Bigger optimizers are chains of small transformations::

    sgd(lr, momentum)  = chain(trace(momentum), scale(-lr))
    adam(lr, b1, b2)   = chain(scale_by_adam(b1, b2, eps), scale(-lr))

A callable learning rate (a schedule, see :mod:`linclass.optim.schedules`) replaces
``scale(-lr)`` by ``scale_by_schedule(lambda count: -lr(count))``. Updates keep the dtype of the
gradients: float32 stays float32 (hyperparameters are Python floats, which NumPy and PyTorch
both round to the array's dtype). The arithmetic is operators only, so the same
transformations update NumPy arrays on the host and torch tensors on their device.

Example:
    >>> import numpy as np
    >>> params = (np.array([1.0, -2.0]),)
    >>> tx = sgd(0.1)
    >>> updates, state = tx.update((2 * params[0],), tx.init(params), params)
    >>> apply_updates(params, updates)[0].tolist()
    [0.8, -1.6]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass._validation import check_fraction, check_positive
from linclass.optim.schedules import Schedule

Params = tuple[np.ndarray, ...]
Updates = tuple[np.ndarray, ...]
LearningRate = float | Schedule


class GradientTransformation(NamedTuple):
    """A pair of pure functions.

    Attributes:
        init: ``init(params) -> state``.
        update: ``update(grads, state, params) -> (updates, state)``; ``params`` may be None for
            transformations that do not read them.
        spec: what the transformation computes, for code that runs it another way (the compiled
            training loop): ``("scale", step_size)``, ``("schedule", schedule)``,
            ``("trace", decay, nesterov)``, ``("adam", b1, b2, eps)``, ``("chain", specs)``; None
            when unknown (a transformation built by hand), which leaves it to ``update``.
    """

    init: Callable[[Params], Any]
    update: Callable[[Updates, Any, Params | None], tuple[Updates, Any]]
    spec: tuple | None = None


class EmptyState(NamedTuple):
    """State of a stateless transformation."""


class ScaleByScheduleState(NamedTuple):
    count: int


class TraceState(NamedTuple):
    trace: Params


class ScaleByAdamState(NamedTuple):
    count: int
    mu: Params
    nu: Params


def _zeros_like(x: np.ndarray) -> np.ndarray:
    """Zeros of ``x``'s shape, dtype and kind: a NumPy array, or a tensor on ``x``'s device."""
    new_zeros = getattr(x, "new_zeros", None)  # torch tensors; NumPy has no such method
    return np.zeros_like(x) if new_zeros is None else new_zeros(x.shape)


def _as_dtype_of(update: np.ndarray, param: np.ndarray) -> np.ndarray:
    """``update`` in ``param``'s dtype (itself when it already has it), for arrays and tensors alike."""
    if update.dtype == param.dtype:
        return update
    astype = getattr(update, "astype", None)
    return update.to(param.dtype) if astype is None else astype(param.dtype)


def scale(step_size: float) -> GradientTransformation:
    """``updates = step_size * grads``.

    Example:
        >>> scale(-0.5).update((np.array([2.0]),), EmptyState(), None)[0][0].tolist()
        [-1.0]
    """
    step_size = float(step_size)

    def init(params: Params) -> EmptyState:
        return EmptyState()

    def update(grads: Updates, state: EmptyState, params: Params | None = None) -> tuple[Updates, EmptyState]:
        return tuple(g * step_size for g in grads), state

    return GradientTransformation(init, update, ("scale", step_size))


def scale_by_schedule(schedule: Schedule) -> GradientTransformation:
    """``updates = schedule(count) * grads`` with ``count`` the number of earlier updates.

    Example:
        >>> tx = scale_by_schedule(lambda count: -1.0 / (count + 1))
        >>> grads = (np.array([1.0]),)
        >>> updates, state = tx.update(grads, tx.init(grads), None)
        >>> tx.update(grads, state, None)[0][0].tolist()
        [-0.5]
    """
    if not callable(schedule):
        raise TypeError(f"schedule must be a callable count -> float, got {schedule!r}")

    def init(params: Params) -> ScaleByScheduleState:
        return ScaleByScheduleState(count=0)

    def update(
        grads: Updates, state: ScaleByScheduleState, params: Params | None = None
    ) -> tuple[Updates, ScaleByScheduleState]:
        factor = float(schedule(state.count))
        return tuple(g * factor for g in grads), ScaleByScheduleState(count=state.count + 1)

    return GradientTransformation(init, update, ("schedule", schedule))


def trace(decay: float, nesterov: bool = False) -> GradientTransformation:
    """Momentum: ``v = g + decay * v``; ``updates = v`` (or ``g + decay * v`` with Nesterov).

    Chained before ``scale(-lr)`` this is the heavy-ball update ``W -= lr * v`` (PyTorch's
    ``SGD(momentum=decay, nesterov=...)`` with ``dampening=0``).

    Example:
        >>> tx = trace(0.9)
        >>> grads = (np.array([1.0]),)
        >>> _, state = tx.update(grads, tx.init(grads), None)
        >>> tx.update(grads, state, None)[0][0].tolist()
        [1.9]
    """
    decay = check_fraction(decay, "momentum", high_open=True)
    if not isinstance(nesterov, bool):
        raise TypeError(f"nesterov must be a bool, got {nesterov!r}")

    def init(params: Params) -> TraceState:
        return TraceState(trace=tuple(_zeros_like(p) for p in params))

    def update(grads: Updates, state: TraceState, params: Params | None = None) -> tuple[Updates, TraceState]:
        new_trace = tuple(g + decay * t for g, t in zip(grads, state.trace, strict=True))
        if nesterov:
            updates = tuple(g + decay * t for g, t in zip(grads, new_trace, strict=True))
        else:
            updates = new_trace
        return updates, TraceState(trace=new_trace)

    return GradientTransformation(init, update, ("trace", decay, nesterov))


def scale_by_adam(b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8) -> GradientTransformation:
    """Adam's direction: ``m_hat / (sqrt(v_hat) + eps)`` with bias-corrected moment estimates.

    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g**2``, ``m_hat = m / (1 - b1**t)``,
    ``v_hat = v / (1 - b2**t)`` at update ``t = 1, 2, ...`` (Kingma & Ba, 2015).

    Example:
        >>> tx = scale_by_adam()
        >>> grads = (np.array([3.0, -0.5]),)
        >>> np.round(tx.update(grads, tx.init(grads), None)[0][0], 6).tolist()
        [1.0, -1.0]
    """
    b1 = check_fraction(b1, "b1", high_open=True)
    b2 = check_fraction(b2, "b2", high_open=True)
    eps = check_positive(eps, "eps")

    def init(params: Params) -> ScaleByAdamState:
        zeros = tuple(_zeros_like(p) for p in params)
        return ScaleByAdamState(count=0, mu=zeros, nu=zeros)

    def update(
        grads: Updates, state: ScaleByAdamState, params: Params | None = None
    ) -> tuple[Updates, ScaleByAdamState]:
        count = state.count + 1
        mu = tuple(b1 * m + (1 - b1) * g for g, m in zip(grads, state.mu, strict=True))
        nu = tuple(b2 * v + (1 - b2) * g * g for g, v in zip(grads, state.nu, strict=True))
        mu_correction = 1.0 - b1**count
        nu_correction = 1.0 - b2**count
        updates = tuple(
            (m / mu_correction) / ((v / nu_correction) ** 0.5 + eps)
            for m, v in zip(mu, nu, strict=True)
        )
        return updates, ScaleByAdamState(count=count, mu=mu, nu=nu)

    return GradientTransformation(init, update, ("adam", b1, b2, eps))


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply ``transforms`` in order; the state is the tuple of their states.

    Example:
        >>> tx = chain(trace(0.5), scale(-0.1))
        >>> grads = (np.array([1.0]),)
        >>> tx.update(grads, tx.init(grads), None)[0][0].tolist()
        [-0.1]
    """
    for i, tx in enumerate(transforms):
        if not isinstance(tx, GradientTransformation):
            raise TypeError(f"chain() argument {i} must be a GradientTransformation, got {tx!r}")

    def init(params: Params) -> tuple:
        return tuple(tx.init(params) for tx in transforms)

    def update(grads: Updates, state: tuple, params: Params | None = None) -> tuple[Updates, tuple]:
        new_states = []
        for tx, tx_state in zip(transforms, state, strict=True):
            grads, tx_state = tx.update(grads, tx_state, params)
            new_states.append(tx_state)
        return grads, tuple(new_states)

    specs = tuple(tx.spec for tx in transforms)
    return GradientTransformation(init, update, None if None in specs else ("chain", specs))


def apply_updates(params: Params, updates: Updates) -> Params:
    """New parameters ``p + u`` (in ``p``'s dtype); the inputs are not modified."""
    return tuple(p + _as_dtype_of(u, p) for p, u in zip(params, updates, strict=True))


def scale_by_learning_rate(learning_rate: LearningRate) -> GradientTransformation:
    """``scale(-lr)`` for a number, ``scale_by_schedule(-lr(count))`` for a schedule."""
    if callable(learning_rate):
        return scale_by_schedule(lambda count: -learning_rate(count))
    return scale(-check_positive(learning_rate, "learning_rate"))


def sgd(
    learning_rate: LearningRate = 0.01, momentum: float = 0.0, nesterov: bool = False
) -> GradientTransformation:
    """Stochastic gradient descent, with optional (Nesterov) momentum.

    ``W -= lr * g`` without momentum; ``v = momentum * v + g; W -= lr * v`` with it.

    Args:
        learning_rate: step size ``lr > 0`` or a schedule ``count -> lr``.
        momentum: decay of the velocity in ``[0, 1)``; 0 keeps no velocity state.
        nesterov: use the Nesterov look-ahead ``g + momentum * v``.

    Example:
        >>> params = (np.array([1.0]),)
        >>> tx = sgd(0.5, momentum=0.9)
        >>> updates, state = tx.update((np.array([1.0]),), tx.init(params), params)
        >>> updates[0].tolist()
        [-0.5]
    """
    momentum = check_fraction(momentum, "momentum", high_open=True)
    if nesterov and momentum == 0:
        raise ValueError("nesterov=True needs momentum > 0, got momentum=0.0")
    steps = [trace(momentum, nesterov)] if momentum > 0 else []
    return chain(*steps, scale_by_learning_rate(learning_rate))


def gd(
    learning_rate: LearningRate = 0.01, momentum: float = 0.0, nesterov: bool = False
) -> GradientTransformation:
    """Full-batch gradient descent: the :func:`sgd` update, applied by the loop to all samples at once.

    Example:
        >>> params = (np.array([4.0]),)
        >>> tx = gd(0.25)
        >>> apply_updates(params, tx.update((2 * params[0],), tx.init(params), params)[0])[0].tolist()
        [2.0]
    """
    return sgd(learning_rate, momentum, nesterov)


def adam(
    learning_rate: LearningRate = 0.001, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    """Adam: ``W -= lr * m_hat / (sqrt(v_hat) + eps)`` (see :func:`scale_by_adam`).

    Example:
        >>> params = (np.array([1.0, -1.0]),)
        >>> tx = adam(0.1)
        >>> updates, _ = tx.update((np.array([5.0, -0.01]),), tx.init(params), params)
        >>> np.round(updates[0], 6).tolist()
        [-0.1, 0.1]
    """
    return chain(scale_by_adam(b1, b2, eps), scale_by_learning_rate(learning_rate))
