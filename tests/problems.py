"""Random linear-model problems shared by the kernel tests (NumPy, Numba and torch backends),
class-clustered uint8 rows for the estimator tests, and an objective that stops a fit like Ctrl-C (training and L-BFGS tests)."""

import numpy as np


def linear_problem(loss, x_dtype, w_dtype, n=53, n_features=19, n_classes=4, seed=0, weighted=False):
    """``(X, y, W, b, class_weight)``: uint8 or real inputs, labels (targets for squared error)."""
    rng = np.random.default_rng(seed)
    if np.dtype(x_dtype) == np.uint8:
        X = rng.integers(0, 256, size=(n, n_features), dtype=np.uint8)
        W = rng.normal(scale=2e-3, size=(n_features, n_classes)).astype(w_dtype)
    else:
        X = rng.normal(size=(n, n_features)).astype(x_dtype)
        W = rng.normal(scale=0.3, size=(n_features, n_classes)).astype(w_dtype)
    b = rng.normal(scale=0.5, size=n_classes).astype(w_dtype)
    if loss == "squared_error":
        y = rng.normal(size=(n, n_classes)).astype(w_dtype)
    else:
        y = rng.integers(0, n_classes, size=n)
    class_weight = rng.uniform(0.2, 2.0, size=n_classes) if weighted else None
    return X, y, W, b, class_weight


def clustered_images(n, n_features, n_classes=4, seed=0, noise=30.0):
    """``(X, y)``: uint8 rows scattered by ``noise`` around ``n_classes`` random centres near 128."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    centres = rng.normal(scale=40.0, size=(n_classes, n_features))
    X = np.clip(centres[y] + rng.normal(scale=noise, size=(n, n_features)) + 128, 0, 255).astype(np.uint8)
    return X, y


class InterruptAfter:
    """An objective that raises KeyboardInterrupt on its ``limit + 1``-th evaluation, like Ctrl-C."""

    def __init__(self, objective, limit):
        self.objective, self.limit, self.calls = objective, limit, 0

    def _count(self) -> None:
        self.calls += 1
        if self.calls > self.limit:
            raise KeyboardInterrupt

    def batch(self, params, X, y):
        self._count()
        return self.objective.batch(params, X, y)

    def data_batch(self, params, X, y):  # the full-batch solver's pass
        self._count()
        return self.objective.data_batch(params, X, y)

    def __getattr__(self, name):
        return getattr(self.objective, name)
