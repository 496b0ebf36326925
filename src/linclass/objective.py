"""The training objective: linear model + data loss + penalty, with its gradient.

    L(W, b) = (1 / N) * sum_i w_i * L_i(x_i @ W + b, y_i) + alpha * R(W)  [+ alpha * |b|²]

``w_i`` is the class weight of sample i's label (1 without ``class_weight``); the bias is not
regularized unless ``penalize_intercept`` (L2 only) adds ``alpha * |b|²``: the objective of
liblinear (scikit-learn's ``LinearSVC``) with ``intercept_scaling=1``, whose bias is one more
weight on a constant feature. Parameters travel as the tuple ``params = (W, b)`` with
``W (D, C)`` and ``b (C,)``.

dtype policy: the computation runs in the dtype of ``W`` (float32 or float64). Inputs of any
real dtype (uint8 images included) are converted a few rows at a time, never as a whole, and
a preprocessing ``Affine`` transform is folded into ``W, b`` instead of being applied to the
data (see ``linclass.preprocess``).

The array work is done by the :class:`linclass.kernels.Kernels` the objective holds (by
default the fused Numba kernels when Numba is installed, the NumPy reference otherwise): they
return the data term's sums, which the objective divides by ``N`` before adding the penalty.

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    >>> params = (np.zeros((2, 2), np.float32), np.zeros(2, np.float32))
    >>> result = Objective("softmax", penalty=None).batch(params, X, np.array([0, 1]))
    >>> round(result.value, 4), result.grads[0].tolist()
    (0.6931, [[0.25, -0.25], [-0.25, 0.25]])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from linclass._arrays import copy
from linclass.kernels import Kernels, default_kernels
from linclass.losses import LossSpec, get_loss
from linclass.penalties import Penalty, get_penalty
from linclass.preprocess import Affine

Params = tuple[np.ndarray, np.ndarray]


def _add(a, b, in_place: bool):
    """``a += b`` into ``a`` itself when ``in_place``, else into a copy of ``a`` (the same rounding
    and dtype either way)."""
    out = a if in_place else copy(a)
    out += b
    return out


class BatchResult(NamedTuple):
    """What one minibatch step needs: objective value, gradients and the number of correct predictions."""

    value: float
    grads: Params
    n_correct: int


@dataclass(frozen=True)
class Objective:
    """Regularized loss of a linear model.

    Args:
        loss: a :class:`linclass.losses.LossSpec` (or its name in ``linclass.losses.LOSSES``,
            resolved once here).
        penalty: a :class:`linclass.penalties.Penalty` (or its name in
            ``linclass.penalties.PENALTIES``; None is ``"none"``).
        alpha: regularization strength (>= 0).
        l1_ratio: mixing for ``penalty="elasticnet"``.
        class_weight: per-class weights ``(C,)`` or None.
        transform: preprocessing folded into ``W, b``, or None.
        penalize_intercept: add ``alpha * |b|²`` (with ``penalty="l2"`` only).
        kernels: the backend doing the array work (default: :func:`linclass.kernels.default_kernels`).
    """

    loss: LossSpec = "softmax"  # type: ignore[assignment]  # a name is resolved in __post_init__
    penalty: Penalty = "l2"  # type: ignore[assignment]
    alpha: float = 1e-4
    l1_ratio: float = 0.15
    class_weight: np.ndarray | None = None
    transform: Affine | None = None
    kernels: Kernels = field(default_factory=default_kernels)
    penalize_intercept: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss", get_loss(self.loss))
        object.__setattr__(self, "penalty", get_penalty(self.penalty))
        if self.penalize_intercept and self.penalty.name != "l2":
            raise ValueError(
                f"penalize_intercept=True needs penalty='l2' (alpha * |b|² beside alpha * |W|²), "
                f"got penalty={self.penalty.name!r}"
            )

    @property
    def is_regression(self) -> bool:
        return self.loss.is_regression

    @property
    def has_penalty(self) -> bool:
        """True when ``alpha * R(W)`` is not identically 0."""
        return self.penalty.fn is not None and self.alpha != 0

    @property
    def smooth(self) -> bool:
        """True where L-BFGS applies: a smooth data loss and a smooth (or absent) penalty."""
        return self.loss.smooth and (self.penalty.smooth or not self.has_penalty)

    def effective_params(self, params: Params) -> Params:
        """``(W, b)`` acting on raw inputs (the transform folded in)."""
        W, b = params
        return (W, b) if self.transform is None else self.transform.fold(W, b)

    def scores(self, params: Params, X: np.ndarray) -> np.ndarray:
        """Scores ``(N, C)`` (or predictions for regression) for raw inputs ``X (N, D)``."""
        W, b = params
        return self.kernels.linear_scores(X, W, b, transform=self.transform)

    def _penalty(self, W: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """``alpha * R(W)`` (``+ alpha * |b|²`` with ``penalize_intercept``) and its gradients
        with respect to ``W`` and ``b`` (None where there is no penalty)."""
        if not self.has_penalty:
            return 0.0, None, None
        reg, dreg = self.kernels.penalty(self.penalty, W, self.l1_ratio)
        if not self.penalize_intercept:
            return self.alpha * float(reg), dreg * self.alpha, None
        return self.alpha * (float(reg) + float((b * b).sum())), dreg * self.alpha, b * (2 * self.alpha)

    def batch(self, params: Params, X: np.ndarray, y: np.ndarray) -> BatchResult:
        """Value, gradients and correct-prediction count on ``X (N, D)``, ``y (N,)``.

        ``with_penalty(params, data_batch(params, X, y))``: the pass over the rows is
        :meth:`data_batch` (which the full-batch solver calls itself), the penalty is added after.
        """
        return self.with_penalty(params, self.data_batch(params, X, y), in_place=True)

    def data_batch(self, params: Params, X: np.ndarray, y: np.ndarray) -> BatchResult:
        """The data term of :meth:`batch` alone: mean loss, its gradients and the correct count.

        It does not depend on the penalty or its strength, so a solve at another ``alpha`` from
        the same point reuses it (:func:`linclass.optim.solve`'s ``evaluation``).
        """
        W, b = params
        sums = self.kernels.linear_loss(
            X, y, W, b, loss=self.loss, class_weight=self.class_weight, transform=self.transform
        )
        dW, db = sums.grad_sums
        inverse_n = 1.0 / sums.n
        dW *= inverse_n
        db *= inverse_n
        return BatchResult(sums.loss_sum / sums.n, (dW, db), sums.n_correct)

    def with_penalty(self, params: Params, data: BatchResult, in_place: bool = False) -> BatchResult:
        """:meth:`batch`'s result from its data term ``data`` at ``params`` (the same numbers bit for
        bit); ``in_place`` adds the penalty's gradient into ``data``'s arrays, else into copies."""
        W, b = params
        dW, db = data.grads
        reg, dreg, dreg_b = self._penalty(W, b)
        if dreg is not None:
            dW = _add(dW, dreg, in_place)
        if dreg_b is not None:
            db = _add(db, dreg_b, in_place)
        return BatchResult(data.value + reg, (dW, db), data.n_correct)

    def value_and_grad(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Objective value and ``(dW, db)`` on ``X (N, D)``, ``y (N,)``."""
        result = self.batch(params, X, y)
        return result.value, result.grads

    def value(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Objective value only (used by the gradient-free searches)."""
        W, b = params
        sums = self.kernels.linear_loss(
            X,
            y,
            W,
            b,
            loss=self.loss,
            class_weight=self.class_weight,
            transform=self.transform,
            with_grad=False,
        )
        return sums.loss_sum / sums.n + self._penalty(W, b)[0]

    def accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X`` whose highest score is the label ``y`` (classification)."""
        return float((self.scores(params, X).argmax(axis=1) == y).sum()) / y.shape[0]
