"""The NumPy reference for the linear-model kernels: readable, vectorized, and the oracle of the fast path.

For raw inputs ``X (N, D)``, weights ``W (D, C)`` and bias ``b (C,)``::

    scores   = X @ W + b                       (N, C)
    L_i, G_i = loss(scores_i, y_i)             per-sample loss and dscores (class weight applied)
    total    = sum_i L_i
    dW       = X.T @ G,   db = sum_i G_i       gradients of ``total``

Rows are converted to the dtype of ``W`` one chunk at a time, so a uint8 data set is never
copied to float as a whole. The losses are those of :mod:`linclass.losses` (with
``reduction="none"``), so their validation and error messages apply unchanged.

    >>> import numpy as np
    >>> X = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    >>> W, b = np.zeros((2, 3), np.float32), np.zeros(3, np.float32)
    >>> result = linear_loss(X, np.array([0, 2]), W, b, loss="softmax")
    >>> round(result.total, 4), result.dW.shape, result.n_correct
    (2.1972, (2, 3), 1)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linclass import losses as losses_module
from linclass.preprocess import Affine

# Bytes of converted rows held at once: bounds the temporary memory of full-batch passes over
# uint8 data (16 MB is 1,365 rows of 3,072 float32 features) while keeping every matrix
# product large enough for BLAS.
CHUNK_BYTES = 16 * 2**20


class LinearLossResult(NamedTuple):
    """Summed loss of a linear model on a set of rows, its gradients and the correct-prediction count.

    Attributes:
        total: ``sum_i L_i`` (class weights applied), a Python float.
        dW: gradient of ``total`` w.r.t. ``W``, ``(D, C)``, or None when not asked for.
        db: gradient of ``total`` w.r.t. ``b``, ``(C,)``, or None when not asked for.
        n_correct: rows whose highest score is their label (0 for regression).
    """

    total: float
    dW: np.ndarray | None
    db: np.ndarray | None
    n_correct: int


def chunk_rows(n_features: int, itemsize: int) -> int:
    """Rows per chunk so that one converted chunk stays within ``CHUNK_BYTES``."""
    return max(1, CHUNK_BYTES // max(1, n_features * itemsize))


def as_float(X: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``X`` itself when it already has ``dtype``, else a converted copy."""
    return X if X.dtype == dtype else X.astype(dtype)


def data_term(
    loss: str, scores: np.ndarray, y: np.ndarray, class_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample losses ``(n,)`` and the gradient of their sum w.r.t. ``scores``.

    ``loss`` is a name in ``linclass.losses.LOSSES`` or ``"squared_error"`` (then ``y`` holds
    real targets of the shape of ``scores``, or ``(n,)`` for one output).
    """
    if loss == "squared_error":
        target = y.reshape(scores.shape).astype(scores.dtype, copy=False)
        return losses_module.squared_error(scores, target, reduction="none")
    spec = losses_module.LOSSES.get(loss)
    return spec.fn(scores, y, weight=class_weight, reduction="none")


def linear_scores(
    X: np.ndarray, W: np.ndarray, b: np.ndarray, *, transform: Affine | None = None
) -> np.ndarray:
    """Scores ``transform(X) @ W + b`` of shape ``(N, C)`` in the dtype of ``W``, converting ``X`` by chunks.

    The transform is folded into ``W, b`` (:meth:`Affine.fold`), never applied to ``X``.
    """
    if transform is not None:
        W, b = transform.fold(W, b)
    out = np.empty((X.shape[0], W.shape[1]), dtype=W.dtype)
    rows = chunk_rows(X.shape[1], W.dtype.itemsize)
    for start in range(0, X.shape[0], rows):
        np.matmul(as_float(X[start : start + rows], W.dtype), W, out=out[start : start + rows])
    out += b
    return out


def linear_loss(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    *,
    loss: str,
    class_weight: np.ndarray | None = None,
    transform: Affine | None = None,
    with_grad: bool = True,
) -> LinearLossResult:
    """Summed loss of ``scores = transform(X) @ W + b``, and its gradients w.r.t. ``W`` and ``b``.

    Args:
        X: raw inputs ``(N, D)`` of any real dtype; converted to ``W``'s dtype by chunks.
        y: class indices ``(N,)``, or real targets ``(N,)``/``(N, K)`` for ``"squared_error"``.
        W, b: ``(D, C)`` and ``(C,)``, float32 or float64.
        loss: a name in ``linclass.losses.LOSSES`` or ``"squared_error"``.
        class_weight: per-class weights ``(C,)`` or None.
        transform: preprocessing folded into ``W, b`` (and the chain rule applied to the
            gradients), or None.
        with_grad: compute ``dW`` and ``db`` (otherwise they are None).

    Returns:
        :class:`LinearLossResult`; the gradients have the dtype of ``W``.
    """
    if transform is not None:
        W, b = transform.fold(W, b)
    regression = loss == "squared_error"
    total = 0.0
    n_correct = 0
    dW = np.zeros_like(W) if with_grad else None
    db = np.zeros_like(b) if with_grad else None
    rows = chunk_rows(X.shape[1], W.dtype.itemsize)
    for start in range(0, X.shape[0], rows):
        chunk = as_float(X[start : start + rows], W.dtype)
        y_chunk = y[start : start + rows]
        scores = chunk @ W
        scores += b
        if not regression:
            n_correct += int(np.count_nonzero(scores.argmax(axis=1) == y_chunk))
        sample_losses, dscores = data_term(loss, scores, y_chunk, class_weight)
        total += float(sample_losses.sum(dtype=np.float64))
        if with_grad:
            dscores = dscores.reshape(scores.shape)
            dW += chunk.T @ dscores
            db += dscores.sum(axis=0)
    if with_grad and transform is not None:
        dW, db = transform.fold_grad(dW, db)
    return LinearLossResult(total, dW, db, n_correct)
