"""The score function ``f(x, W) = Wx + b`` and the bias trick.

linclass stores ``W`` as ``(D, C)`` so that a batch is scored as ``scores = X @ W + b`` with
``X (N, D)``; the lecture writes ``Wx`` with ``W (C, D)``, the transpose of ours.

The bias trick appends a constant 1 to every input so that ``b`` becomes the last row of an
extended weight matrix: ``[X, 1] @ [[W], [b]] == X @ W + b``. CIFAR-10's 3,072 pixels become
3,073 features that way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def linear_scores(X: ArrayLike, W: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    """Class scores ``X @ W + b``.

    Args:
        X: inputs, shape ``(N, D)``.
        W: weights, shape ``(D, C)``.
        b: biases, shape ``(C,)``, or None for no bias.

    Returns:
        scores, shape ``(N, C)``.

    Example:
        >>> linear_scores([[1.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]], [0.5, -0.5])
        array([[1.5, 1.5]])
    """
    X = np.asarray(X)
    W = np.asarray(W)
    if X.ndim != 2 or W.ndim != 2:
        raise ValueError(f"X and W must be 2-D, got X of shape {X.shape} and W of shape {W.shape}")
    if X.shape[1] != W.shape[0]:
        raise ValueError(f"X has {X.shape[1]} features but W has {W.shape[0]} rows; expected equal")
    scores = X @ W
    if b is not None:
        b = np.asarray(b)
        if b.shape != (W.shape[1],):
            raise ValueError(f"b must have shape ({W.shape[1]},) to match W, got {b.shape}")
        scores += b
    return scores


def add_bias_column(X: ArrayLike) -> np.ndarray:
    """Append a column of ones: ``(N, D) -> (N, D + 1)`` (the bias trick)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got an array of shape {X.shape}")
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def fold_bias(W: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Stack ``b`` under ``W``: ``(D, C), (C,) -> (D + 1, C)``, for use with ``add_bias_column``."""
    W = np.asarray(W)
    b = np.asarray(b)
    if W.ndim != 2 or b.shape != (W.shape[1],):
        raise ValueError(f"expected W (D, C) and b (C,), got W {W.shape} and b {b.shape}")
    return np.vstack([W, b[None, :]])


def unfold_bias(W_ext: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Split an extended ``(D + 1, C)`` matrix back into ``W (D, C)`` and ``b (C,)``."""
    W_ext = np.asarray(W_ext)
    if W_ext.ndim != 2 or W_ext.shape[0] < 2:
        raise ValueError(f"W_ext must be 2-D with at least 2 rows, got shape {W_ext.shape}")
    return W_ext[:-1], W_ext[-1]
