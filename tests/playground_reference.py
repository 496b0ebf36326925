"""The playground's numbers computed by linclass in Python: the golden values of the browser tests,
and where the page draws a data point (its plot shows [-3, 3] on both axes, x1 up, 480 x 480 px).

The page uses the lecture's layout, ``s = W x + b`` with ``W (C, 2)``; linclass's losses take
the scores ``X @ W.T + b (N, C)``. The data loss is the mean over the points and the penalty
``reg * R(W)`` sees W only.

The one-vs-all SVM has no linclass function, so it is written here from binary hinge terms:
each class j is a binary problem with target ``t_ij = +1`` if ``j = y_i`` else ``-1``, and

    L_i = sum_j max(0, margin - t_ij * s_ij),    dL_i/ds_ij = -t_ij * [margin - t_ij * s_ij > 0]
"""

from __future__ import annotations

import numpy as np

from linclass import penalties
from linclass.losses import crammer_singer_hinge, multiclass_hinge, softmax_cross_entropy

VIEW_MIN, VIEW_MAX, CANVAS = -3.0, 3.0, 480

PENALTIES = {
    "l2": penalties.l2,
    "l1": penalties.l1,
    "elasticnet": lambda W: penalties.elasticnet_mix(W, 0.5),
    "none": lambda W: (0.0, np.zeros_like(W)),
}


def one_vs_all_hinge(scores: np.ndarray, y: np.ndarray, margin: float, reduction: str):
    t = np.where(np.arange(scores.shape[1]) == y[:, None], 1.0, -1.0)
    hinge = margin - t * scores
    per_sample = np.maximum(hinge, 0).sum(axis=1)
    dscores = -t * (hinge > 0)
    if reduction == "none":
        return per_sample, dscores
    return per_sample.mean(), dscores / len(y)


def data_loss(loss: str, scores: np.ndarray, y: np.ndarray, margin: float, reduction: str = "mean"):
    if loss == "svm":
        return multiclass_hinge(scores, y, margin=margin, reduction=reduction)
    if loss == "structured":
        return crammer_singer_hinge(scores, y, margin=margin, reduction=reduction)
    if loss == "softmax":
        return softmax_cross_entropy(scores, y, reduction=reduction)
    return one_vs_all_hinge(scores, y, margin, reduction)


def objective(points, W, b, loss: str, reg: float, margin: float, penalty: str = "l2") -> dict:
    """dataLoss, regLoss, totalLoss, dW (C, 2), db (C,) and per-example L_i, as the page names them."""
    P = np.asarray(points, dtype=float).reshape(-1, 3)
    X, y = P[:, :2], P[:, 2].astype(int)
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    scores = X @ W.T + b
    value, dscores = data_loss(loss, scores, y, margin)
    per_example, _ = data_loss(loss, scores, y, margin, reduction="none")
    reg_value, reg_grad = PENALTIES[penalty](W)
    return {
        "dataLoss": float(value),
        "regLoss": reg * float(reg_value),
        "totalLoss": float(value) + reg * float(reg_value),
        "dW": dscores.T @ X + reg * reg_grad,
        "db": dscores.sum(axis=0),
        "perExample": per_example,
        "scores": scores,
    }


def gradient_descent(points, W, b, loss, reg, margin, step_size, steps, penalty="l2"):
    """``steps`` steps of W -= step_size dW, b -= step_size db; returns W, b and the totals."""
    W, b = np.asarray(W, dtype=float), np.asarray(b, dtype=float)
    totals = [objective(points, W, b, loss, reg, margin, penalty)["totalLoss"]]
    for _ in range(steps):
        r = objective(points, W, b, loss, reg, margin, penalty)
        W, b = W - step_size * r["dW"], b - step_size * r["db"]
        totals.append(objective(points, W, b, loss, reg, margin, penalty)["totalLoss"])
    return W, b, totals


def seeded_state(seed: int, classes: int = 3, n: int = 12) -> dict:
    """Random points, W and b (no point sits on a hinge kink or a tie, almost surely)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.5, 2.5, size=(n, 2))
    y = rng.integers(0, classes, size=n)
    return {
        "points": [[float(a), float(c), int(label)] for (a, c), label in zip(X, y, strict=True)],
        "W": rng.normal(0, 0.8, size=(classes, 2)).tolist(),
        "b": rng.normal(0, 0.5, size=classes).tolist(),
    }


def to_pixel(x0: float, x1: float) -> tuple[float, float]:
    """The plot's canvas pixel (x to the right, y down) of data point (x0, x1)."""
    scale = CANVAS / (VIEW_MAX - VIEW_MIN)
    return (x0 - VIEW_MIN) * scale, (VIEW_MAX - x1) * scale
