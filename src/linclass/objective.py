"""The training objective: linear model + data loss + penalty, with its gradient.

    L(W, b) = (1 / N) * sum_i w_i * L_i(x_i @ W + b, y_i) + alpha * R(W)

``w_i`` is the class weight of sample i's label (1 without ``class_weight``); the bias is never
regularized. Parameters travel as the tuple ``params = (W, b)`` with ``W (D, C)`` and ``b (C,)``.

dtype policy: the computation runs in the dtype of ``W`` (float32 or float64). Inputs of any
real dtype (uint8 images included) are converted one chunk of rows at a time, never as a
whole, and a preprocessing ``Affine`` transform is folded into ``W, b`` instead of being applied
to the data (see ``linclass.preprocess``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from linclass import losses as losses_module
from linclass.penalties import PENALTIES
from linclass.preprocess import Affine

Params = tuple[np.ndarray, np.ndarray]

# Rows converted to float at once: bounds the temporary memory of full-batch passes over uint8
# data (8192 x 3072 float32 = 100 MB) while keeping each matrix product large enough for BLAS.
CHUNK_ROWS = 8192


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
        W, b = self.effective_params(params)
        out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
        for start in range(0, X.shape[0], CHUNK_ROWS):
            chunk = _as_float(X[start : start + CHUNK_ROWS], W.dtype)
            np.matmul(chunk, W, out=out[start : start + CHUNK_ROWS])
        out += b
        return out

    def _data_term(self, scores: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses ``(n,)`` and the gradient of their sum w.r.t. ``scores``."""
        if self.is_regression:
            target = y.reshape(scores.shape).astype(scores.dtype, copy=False)
            return losses_module.squared_error(scores, target, reduction="none")
        spec = losses_module.LOSSES.get(self.loss)
        return spec.fn(scores, y, weight=self.class_weight, reduction="none")

    def batch(self, params: Params, X: np.ndarray, y: np.ndarray) -> BatchResult:
        """Value, gradients and correct-prediction count on ``X (N, D)``, ``y (N,)``."""
        W, b = params
        W_raw, b_raw = self.effective_params(params)
        n = X.shape[0]
        total = 0.0
        n_correct = 0
        dW_raw = np.zeros_like(W_raw)
        db_raw = np.zeros_like(b_raw)
        for start in range(0, n, CHUNK_ROWS):
            chunk = _as_float(X[start : start + CHUNK_ROWS], W.dtype)
            y_chunk = y[start : start + CHUNK_ROWS]
            scores = chunk @ W_raw
            scores += b_raw
            sample_losses, dscores = self._data_term(scores, y_chunk)
            total += float(sample_losses.sum(dtype=np.float64))
            if not self.is_regression:
                n_correct += int(np.count_nonzero(scores.argmax(axis=1) == y_chunk))
            dW_raw += chunk.T @ dscores
            db_raw += dscores.sum(axis=0)
        dW_raw /= n
        db_raw /= n
        dW, db = (dW_raw, db_raw) if self.transform is None else self.transform.fold_grad(dW_raw, db_raw)
        value = total / n
        if self.penalty not in (None, "none") and self.alpha > 0:
            reg, dreg = PENALTIES.get(self.penalty)(W, self.l1_ratio)
            value += self.alpha * float(reg)
            dW = dW + self.alpha * dreg
        return BatchResult(value, (dW, db), n_correct)

    def value_and_grad(self, params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
        """Objective value and ``(dW, db)`` on ``X (N, D)``, ``y (N,)``."""
        result = self.batch(params, X, y)
        return result.value, result.grads

    def value(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Objective value only (used by the gradient-free searches)."""
        W, _ = params
        scores = self.scores(params, X)
        value = float(self._data_term(scores, y)[0].sum(dtype=np.float64)) / X.shape[0]
        if self.penalty not in (None, "none") and self.alpha > 0:
            value += self.alpha * float(PENALTIES.get(self.penalty)(W, self.l1_ratio)[0])
        return value

    def accuracy(self, params: Params, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X`` whose highest score is the label ``y`` (classification)."""
        return float(np.mean(self.scores(params, X).argmax(axis=1) == y))


def _as_float(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return X if X.dtype == dtype else X.astype(dtype)
