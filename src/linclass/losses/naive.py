"""Loop references of the SVM and softmax losses of a linear model, written like the formulas.

They are slow on purpose: each line mirrors a term of the lecture's formula, so a reader can
check the vectorized losses against them (the test suite does). Shapes follow the library:
``W (D, C)``, ``X (N, D)``, ``scores = X @ W``; the loss is the mean data loss plus
``reg * sum(W**2)``. They compute in float64.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_labels, check_positive


def _inputs(
    W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    W = np.asarray(W, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (D, C), got an array of shape {W.shape}")
    if X.ndim != 2 or X.shape[1] != W.shape[0]:
        raise ValueError(f"X must be 2-D (N, D) with D = {W.shape[0]} (rows of W), got shape {X.shape}")
    check_positive(reg, "reg", allow_zero=True)
    return W, X, check_labels(y, X.shape[0], W.shape[1])


def svm_loss_naive(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float) -> tuple[float, np.ndarray]:
    """Multiclass SVM loss with loops: ``L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg R(W)``.

    Args:
        W: weights ``(D, C)``.
        X: samples ``(N, D)``.
        y: class indices ``(N,)``.
        reg: regularization strength ``>= 0`` for ``R(W) = sum(W**2)``.

    Returns:
        ``(loss, dW)`` with ``dW (D, C)``.

    Example:
        >>> loss, dW = svm_loss_naive(np.eye(3), [[3.2, 5.1, -1.7]], [0], reg=0.0)
        >>> round(loss, 2)
        2.9
    """
    W, X, y = _inputs(W, X, y, reg)
    n_samples, n_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(n_samples):
        scores = X[i] @ W
        correct_class_score = scores[y[i]]
        for j in range(n_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1.0
            if margin > 0:
                loss += margin
                dW[:, j] += X[i]
                dW[:, y[i]] -= X[i]
    loss /= n_samples
    dW /= n_samples
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def softmax_loss_naive(W: ArrayLike, X: ArrayLike, y: ArrayLike, reg: float) -> tuple[float, np.ndarray]:
    """Softmax cross-entropy with loops: ``L = 1/N sum_i -ln(e^{s_{y_i}} / sum_j e^{s_j}) + reg R(W)``.

    Scores are shifted by their maximum before ``exp`` (the result is unchanged, overflow is not).

    Args:
        W: weights ``(D, C)``.
        X: samples ``(N, D)``.
        y: class indices ``(N,)``.
        reg: regularization strength ``>= 0`` for ``R(W) = sum(W**2)``.

    Returns:
        ``(loss, dW)`` with ``dW (D, C)``.

    Example:
        >>> loss, dW = softmax_loss_naive(np.eye(3), [[3.2, 5.1, -1.7]], [0], reg=0.0)
        >>> round(loss, 2)
        2.04
    """
    W, X, y = _inputs(W, X, y, reg)
    n_samples, n_classes = X.shape[0], W.shape[1]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(n_samples):
        scores = X[i] @ W
        top = max(scores)
        exp_scores = [math.exp(scores[j] - top) for j in range(n_classes)]
        total = sum(exp_scores)
        loss += -math.log(exp_scores[y[i]] / total)
        for j in range(n_classes):
            prob = exp_scores[j] / total
            dW[:, j] += (prob - (j == y[i])) * X[i]
    loss /= n_samples
    dW /= n_samples
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW
