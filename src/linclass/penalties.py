"""Penalties (regularizers) on the weights: pure functions ``(W) -> (value, grad)``.

The full objective is ``L = data_loss + alpha * R(W)``. Penalties see only ``W``: the bias is
never regularized. The value is a scalar and the gradient an array of ``W``'s floating dtype
(float32 stays float32).

``PENALTIES`` maps the estimator's ``penalty=`` names to :class:`Penalty` entries, whose
``fn(W, l1_ratio) -> (value, grad)`` is None for ``"none"``; ``l1_ratio`` only matters for
``"elasticnet"``. :func:`get_penalty` turns a name (or None) into its entry, once, at the
estimator or command-line boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def _mixed(W: np.ndarray, l2_weight: float, l1_weight: float) -> PenaltyResult:
    """``l2_weight * sum W^2 + l1_weight * sum |W|`` and its (sub)gradient: the one elastic net."""
    grad = np.sign(W)
    grad *= l1_weight
    grad += 2 * l2_weight * W
    return W.dtype.type(l2_weight * np.vdot(W, W) + l1_weight * np.abs(W).sum()), grad


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
    return _mixed(_as_weights(W), beta, 1.0)


def elasticnet_mix(W: ArrayLike, l1_ratio: float) -> PenaltyResult:
    """scikit-learn's mixing ``R(W) = l1_ratio * sum|W| + (1 - l1_ratio) * sum W^2``.

    The same penalty as the lecture's :func:`elastic_net`, scaled: for ``0 < l1_ratio``,
    ``alpha * elasticnet_mix(W, l1_ratio) = (alpha * l1_ratio) * elastic_net(W, beta)`` with
    ``beta = (1 - l1_ratio) / l1_ratio``; conversely the lecture's ``lambda * sum(beta W^2 + |W|)``
    is ``alpha = lambda * (1 + beta)``, ``l1_ratio = 1 / (1 + beta)``. ``l1_ratio = 0`` is
    :func:`l2`, ``l1_ratio = 1`` is :func:`l1`.

    Example:
        >>> value, grad = elasticnet_mix([[1.0, -2.0]], l1_ratio=0.5)
        >>> float(value), grad.tolist()
        (4.0, [[1.5, -2.5]])
    """
    l1_ratio = check_fraction(l1_ratio, "l1_ratio")
    return _mixed(_as_weights(W), 1 - l1_ratio, l1_ratio)


@dataclass(frozen=True)
class Penalty:
    """A regularizer as the objective sees it.

    Attributes:
        name: the registry key (the estimator's ``penalty=`` value; None means ``"none"``).
        fn: ``fn(W, l1_ratio) -> (value, grad)`` (``l1_ratio`` only matters for the elastic
            net), or None for no penalty.
        smooth: differentiable everywhere, so L-BFGS applies.
    """

    name: str
    fn: Callable[[ArrayLike, float], PenaltyResult] | None
    smooth: bool


def _l2_entry(W: ArrayLike, l1_ratio: float) -> PenaltyResult:
    return l2(W)


def _l1_entry(W: ArrayLike, l1_ratio: float) -> PenaltyResult:
    return l1(W)


PENALTIES: Registry[Penalty] = Registry("penalty")
PENALTIES.register("l2", Penalty("l2", _l2_entry, smooth=True))
PENALTIES.register("l1", Penalty("l1", _l1_entry, smooth=False))
PENALTIES.register("elasticnet", Penalty("elasticnet", elasticnet_mix, smooth=False))
PENALTIES.register("none", Penalty("none", None, smooth=True))


def get_penalty(penalty: str | Penalty | None) -> Penalty:
    """The :class:`Penalty` named ``penalty`` (None is ``"none"``; a spec passes through)."""
    if isinstance(penalty, Penalty):
        return penalty
    return PENALTIES.resolve("none" if penalty is None else penalty)
