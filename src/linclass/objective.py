"""The training objective: linear model + data loss + penalty, with its gradient.

    L(W, b) = (1 / N) * sum_i w_i * L_i(x_i @ W + b, y_i) + alpha * R(W)

``w_i`` is the class weight of sample i's label (1 without ``class_weight``); the bias is never
regularized. Parameters travel as the tuple ``params = (W, b)`` with ``W (D, C)`` and ``b (C,)``.

dtype policy: the computation runs in the dtype of ``W`` (float32 or float64). Inputs of any
real dtype (uint8 images included) are converted a few rows at a time, never as a whole, and
a preprocessing ``Affine`` transform is folded into ``W, b`` instead of being applied to the
data (see ``linclass.preprocess``).

The array work happens in :mod:`linclass.kernels`: fused Numba kernels when Numba is
installed, the NumPy reference otherwise (both give the same values to float32 rounding).

    >>> X = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    >>> params = (np.zeros((2, 2), np.float32), np.zeros(2, np.float32))
    >>> result = Objective("softmax", penalty=None).batch(params, X, np.array([0, 1]))
    >>> round(result.value, 4), result.grads[0].tolist()
    (0.6931, [[0.25, -0.25], [-0.25, 0.25]])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from linclass import kernels
from linclass import losses as losses_module
from linclass.penalties import PENALTIES
from linclass.preprocess import Affine

Params = tuple[np.ndarray, np.ndarray]


class BatchResult(NamedTuple):
    """What one minibatch step needs: objective value, gradients and the number of correct predictions."""

    value: float
    grads: Params
    n_correct: int


@dataclass(frozen=True)
class Objective:
    """Regularized loss of a linear model.

    Args:
        loss: a name in ``linclass.losses.LOSSES`` (classification) or ``"squared_error"``.
        penalty: a name in ``linclass.penalties.PENALTIES`` or None.
        alpha: regularization strength (>= 0).
        l1_ratio: mixing for ``penalty="elasticnet"``.
        class_weight: per-class weights ``(C,)`` or None.
        transform: preprocessing folded into ``W, b``, or None.
    """

    loss: str = "softmax"
    penalty: str | None = "l2"
    alpha: float = 1e-4
    l1_ratio: float = 0.15
    class_weight: np.ndarray | None = None
    transform: Affine | None = None

    @property
    def is_regression(self) -> bool:
        return self.loss == "squared_error"

    @property
    def smooth(self) -> bool:
        """True where L-BFGS applies: a smooth data loss and no L1 term."""
        smooth_loss = self.is_regression or losses_module.LOSSES.get(self.loss).smooth
        return smooth_loss and (self.penalty in (None, "none", "l2") or self.alpha == 0)

    def effective_params(self, params: Params) -> Params:
        """``(W, b)`` acting on raw inputs (the transform folded in)."""
        W, b = params
        return (W, b) if self.transform is None else self.transform.fold(W, b)

    def scores(self, params: Params, X: np.ndarray) -> np.ndarray:
        """Scores ``(N, C)`` (or predictions for regression) for raw inputs ``X (N, D)``."""
        W, b = params
        return kernels.linear_scores(X, W, b, transform=self.transform)

    def _penalty(self, W: np.ndarray) -> tuple[float, np.ndarray | None]:
        """``alpha * R(W)`` and its gradient (None without a penalty)."""
        if self.penalty in (None, "none") or self.alpha == 0:
            return 0.0, None
        reg, dreg = PENALTIES.get(self.penalty)(W, self.l1_ratio)
        return self.alpha * float(reg), dreg * self.alpha

    def batch(self, params: Params, X: np.ndarray, y: np.ndarray) -> BatchResult:
        """Value, gradients and correct-prediction count on ``X (N, D)``, ``y (N,)``."""
        W, b = params
        n = X.shape[0]
        result = kernels.linear_loss(
            X, y, W, b, loss=self.loss, class_weight=self.class_weight, transform=self.transform
        )
        inverse_n = W.dtype.type(1.0 / n)
        dW = np.multiply(result.dW, inverse_n, out=result.dW)
        db = np.multiply(result.db, inverse_n, out=result.db)
        reg, dreg = self._penalty(W)
        if dreg is not None:
            dW += dreg
        return BatchResult(result.total / n + reg, (dW, db), result.n_correct)

    def value_and_grad(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Objective value and ``(dW, db)`` on ``X (N, D)``, ``y (N,)``."""
        result = self.batch(params, X, y)
        return result.value, result.grads

    def value(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Objective value only (used by the gradient-free searches)."""
        W, b = params
        result = kernels.linear_loss(
            X,
            y,
            W,
            b,
            loss=self.loss,
            class_weight=self.class_weight,
            transform=self.transform,
            with_grad=False,
        )
        return result.total / X.shape[0] + self._penalty(W)[0]

    def accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X`` whose highest score is the label ``y`` (classification)."""
        return float(np.mean(self.scores(params, X).argmax(axis=1) == y))
