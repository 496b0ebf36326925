"""Penalties (regularizers) on the weights: pure functions ``(W) -> (value, grad)``.

The full objective is ``L = data_loss + alpha * R(W)``. Penalties see only ``W``: the bias is
never regularized. The value is a scalar and the gradient an array of ``W``'s floating dtype
(float32 stays float32).

``PENALTIES`` maps the estimator's ``penalty=`` names to functions ``(W, l1_ratio) -> (value,
grad)``; ``l1_ratio`` only matters for ``"elasticnet"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_fraction, check_positive
from linclass.registry import Registry

PenaltyResult = tuple[np.floating, np.ndarray]


def _as_weights(W: ArrayLike) -> np.ndarray:
    arr = np.asarray(W)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"W must be a real numeric array, got dtype {arr.dtype}")
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def l2(W: ArrayLike) -> PenaltyResult:
    """L2 penalty ``R(W) = sum_kl W_kl^2`` with gradient ``2 W``.

    Example:
        >>> value, grad = l2([[1.0, -2.0]])
        >>> float(value), grad.tolist()
        (5.0, [[2.0, -4.0]])
    """
    W = _as_weights(W)
    return W.dtype.type(np.vdot(W, W)), 2 * W


def l1(W: ArrayLike) -> PenaltyResult:
    """L1 penalty ``R(W) = sum_kl |W_kl|`` with subgradient ``sign(W)`` (0 where ``W`` is 0).

    Example:
        >>> value, grad = l1([[1.0, -2.0, 0.0]])
        >>> float(value), grad.tolist()
        (3.0, [[1.0, -1.0, 0.0]])
    """
    W = _as_weights(W)
    return W.dtype.type(np.abs(W).sum()), np.sign(W)


def elastic_net(W: ArrayLike, beta: float = 1.0) -> PenaltyResult:
    """The lecture's elastic net ``R(W) = sum_kl beta W_kl^2 + |W_kl|``, gradient ``2 beta W + sign(W)``.

    Args:
        W: weights, any shape.
        beta: weight of the squared term, ``>= 0``.

    Example:
        >>> value, grad = elastic_net([[1.0, -2.0]], beta=0.5)
        >>> float(value), grad.tolist()
        (5.5, [[2.0, -3.0]])
    """
    beta = check_positive(beta, "beta", allow_zero=True)
    W = _as_weights(W)
    grad = np.sign(W)
    grad += 2 * beta * W
    return W.dtype.type(beta * np.vdot(W, W) + np.abs(W).sum()), grad


def elasticnet_mix(W: ArrayLike, l1_ratio: float) -> PenaltyResult:
    """scikit-learn's mixing ``R(W) = l1_ratio * sum|W| + (1 - l1_ratio) * sum W^2``.

    ``l1_ratio = 0`` is :func:`l2`, ``l1_ratio = 1`` is :func:`l1`.

    Example:
        >>> value, grad = elasticnet_mix([[1.0, -2.0]], l1_ratio=0.5)
        >>> float(value), grad.tolist()
        (4.0, [[1.5, -2.5]])
    """
    l1_ratio = check_fraction(l1_ratio, "l1_ratio")
    W = _as_weights(W)
    grad = np.sign(W)
    grad *= l1_ratio
    grad += 2 * (1 - l1_ratio) * W
    value = l1_ratio * np.abs(W).sum() + (1 - l1_ratio) * np.vdot(W, W)
    return W.dtype.type(value), grad


def no_penalty(W: ArrayLike) -> PenaltyResult:
    """No penalty: value 0 and a zero gradient."""
    W = _as_weights(W)
    return W.dtype.type(0), np.zeros_like(W)


def _ignoring_l1_ratio(
    penalty: Callable[[ArrayLike], PenaltyResult],
) -> Callable[[ArrayLike, float], PenaltyResult]:
    def entry(W: ArrayLike, l1_ratio: float) -> PenaltyResult:
        return penalty(W)

    entry.__name__ = penalty.__name__
    entry.__doc__ = penalty.__doc__
    return entry


PENALTIES: Registry[Callable[[ArrayLike, float], PenaltyResult]] = Registry("penalty")
PENALTIES.register("l2", _ignoring_l1_ratio(l2))
PENALTIES.register("l1", _ignoring_l1_ratio(l1))
PENALTIES.register("elasticnet", elasticnet_mix)
PENALTIES.register("none", _ignoring_l1_ratio(no_penalty))
