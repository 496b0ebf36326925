"""The NumPy reference backend: readable, vectorized, and the oracle of the fast paths.

For raw inputs ``X (N, D)``, weights ``W (D, C)`` and bias ``b (C,)``::

    scores   = X @ W + b                       (N, C)
    L_i, G_i = loss(scores_i, y_i)             per-sample loss and dscores (class weight applied)
    loss_sum = sum_i L_i
    dW       = X.T @ G,   db = sum_i G_i       gradients of ``loss_sum``

Rows are converted to the dtype of ``W`` one chunk at a time, so a uint8 data set is never
copied to float as a whole. The losses are the registry's (:mod:`linclass.losses`, with
``reduction="none"``), so their validation and error messages apply unchanged.

    >>> import numpy as np
    >>> from linclass.losses import LOSSES
    >>> X = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    >>> W, b = np.zeros((2, 3), np.float32), np.zeros(3, np.float32)
    >>> sums = NumpyKernels().linear_loss(X, np.array([0, 2]), W, b, loss=LOSSES["softmax"])
    >>> round(sums.loss_sum, 4), sums.grad_sums[0].shape, sums.n, sums.n_correct
    (2.1972, (2, 3), 2, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from linclass.kernels.protocol import ChunkSums
from linclass.losses import LossSpec
from linclass.penalties import Penalty, PenaltyResult
from linclass.preprocess import Affine

# Bytes of converted rows held at once: bounds the temporary memory of full-batch passes over
# uint8 data (16 MB is 1,365 rows of 3,072 float32 features) while keeping every matrix
# product large enough for BLAS.
CHUNK_BYTES = 16 * 2**20


def chunk_rows(n_features: int, itemsize: int) -> int:
    """Rows per chunk so that one converted chunk stays within ``CHUNK_BYTES``."""
    return max(1, CHUNK_BYTES // max(1, n_features * itemsize))


def as_float(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``X`` itself when it already has ``dtype``, else a converted copy."""
    return X if X.dtype == dtype else X.astype(dtype)


@dataclass(frozen=True)
class NumpyKernels:
    """The :class:`linclass.kernels.Kernels` protocol in NumPy: BLAS products and the registry's losses."""

    name: ClassVar[str] = "numpy"

    def linear_loss(
        self,
        X: np.ndarray,
        y: np.ndarray,
        W: np.ndarray,
        b: np.ndarray,
        *,
        loss: LossSpec,
        class_weight: np.ndarray | None = None,
        transform: Affine | None = None,
        with_grad: bool = True,
    ) -> ChunkSums:
        if transform is not None:
            W, b = transform.fold(W, b)
        loss_sum = 0.0
        n_correct = 0
        dW = np.zeros_like(W) if with_grad else None
        db = np.zeros_like(b) if with_grad else None
        rows = chunk_rows(X.shape[1], W.dtype.itemsize)
        for start in range(0, X.shape[0], rows):
            chunk = as_float(X[start : start + rows], W.dtype)
            y_chunk = y[start : start + rows]
            scores = chunk @ W
            scores += b
            if not loss.is_regression:
                n_correct += int(np.count_nonzero(scores.argmax(axis=1) == y_chunk))
            sample_losses, dscores = loss.fn(scores, y_chunk, weight=class_weight, reduction="none")
            loss_sum += float(sample_losses.sum(dtype=np.float64))
            if with_grad:
                dscores = dscores.reshape(scores.shape)
                dW += chunk.T @ dscores
                db += dscores.sum(axis=0)
        if not with_grad:
            return ChunkSums(loss_sum, None, X.shape[0], n_correct)
        if transform is not None:
            dW, db = transform.fold_grad(dW, db)
        return ChunkSums(loss_sum, (dW, db), X.shape[0], n_correct)

    def linear_scores(
        self, X: np.ndarray, W: np.ndarray, b: np.ndarray, *, transform: Affine | None = None
    ) -> np.ndarray:
        if transform is not None:
            W, b = transform.fold(W, b)
        out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
        rows = chunk_rows(X.shape[1], W.dtype.itemsize)
        for start in range(0, X.shape[0], rows):
            np.matmul(as_float(X[start : start + rows], W.dtype), W, out=out[start : start + rows])
        out += b
        return out

    def penalty(self, penalty: Penalty, W: np.ndarray, l1_ratio: float) -> PenaltyResult:
        return penalty.fn(W, l1_ratio)
