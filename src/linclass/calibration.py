"""Probabilities from margin classifiers: Platt scaling.

An SVM's scores are not probabilities. Platt scaling fits a sigmoid to held-out scores; its
multiclass form here is

    p(k | x) = softmax(A * s(x))_k,         A > 0,

fitted by minimizing the cross-entropy on held-out data. With two classes this is Platt's
sigmoid ``1 / (1 + exp(-A (s_1 - s_0)))`` with the offset fixed at 0, which keeps the
most probable class equal to the predicted one. As Platt recommends, the targets are smoothed
(the true class gets ``1 - eps``, the rest share ``eps`` with ``eps = 1 / (n + 2)``), so ``A``
stays finite on separable data.
"""

from __future__ import annotations

import numpy as np

from linclass.losses import softmax


def fit_platt(scores: np.ndarray, y: np.ndarray, max_iter: int = 100, tol: float = 1e-10) -> float:
    """Fit the Platt slope ``A`` for ``scores (N, C)`` and class indices ``y (N,)`` by Newton's method."""
    scores = np.asarray(scores, dtype=np.float64)
    n, n_classes = scores.shape
    eps = 1.0 / (n + 2)
    targets = np.full((n, n_classes), eps / (n_classes - 1))
    targets[np.arange(n), y] = 1.0 - eps
    target_score = float(np.mean(np.sum(targets * scores, axis=1)))

    def objective(slope: float) -> tuple[float, float, float]:
        z = slope * scores
        top = z.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
        p = softmax(z)
        mean_s = np.sum(p * scores, axis=1)
        var_s = np.sum(p * scores**2, axis=1) - mean_s**2
        return (
            float(lse.mean()) - slope * target_score,
            float(mean_s.mean()) - target_score,
            float(var_s.mean()),
        )

    slope = 1.0
    value, grad, hess = objective(slope)
    for _ in range(max_iter):
        step = grad / hess if hess > 1e-12 else grad
        candidate = max(slope - step, slope / 10)
        while True:
            new_value, new_grad, new_hess = objective(candidate)
            if new_value <= value + 1e-12 or abs(candidate - slope) < 1e-12:
                break
            candidate = 0.5 * (candidate + slope)
        converged = abs(candidate - slope) <= tol * max(1.0, slope)
        slope, value, grad, hess = candidate, new_value, new_grad, new_hess
        if converged:
            break
    return float(slope)


def platt_probabilities(scores: np.ndarray, slope: float) -> np.ndarray:
    """``softmax(slope * scores)``, shape ``(N, C)``."""
    return softmax(np.asarray(scores, dtype=np.float64) * slope)
