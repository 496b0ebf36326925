"""The probe benchmark's problems, shared by its own runs and by its scikit-learn references.

- one C: Fashion-MNIST pixels / 255 in float64, softmax + L2 at ``C = 1``
  (``alpha = 1 / (2 C N)``, the objective scikit-learn's ``LogisticRegression`` minimizes);
- cross-validation: a stratified subset of ``CV_ROWS`` Fashion-MNIST training rows
  (``LogisticRegressionCV`` on all 60,000 rows would need hours of CPU);
- CLIP-style probe: ``CLIP_ROWS x 2048`` synthetic class-clustered features, 100 classes,
  split as :func:`linclass.app.probe.probe` splits them (20 % validation, stratified, seed 0).
"""

from __future__ import annotations

import numpy as np

from benchmarks import data

CV_ROWS = 10_000
CLIP_ROWS = 50_000


def fashion_one_c(quick: bool = False):
    """``(X (N, 784) float64, y, X_test, y_test, objective)`` for the one-C part."""
    from linclass.objective import Objective

    X_train, y_train, X_test, y_test = data.load("fashion", quick=quick)
    X, y = X_train.astype(np.float64) / 255.0, y_train.astype(np.int64)
    objective = Objective("softmax", penalty="l2", alpha=1.0 / (2.0 * len(y)))
    return X, y, X_test.astype(np.float64) / 255.0, y_test, objective


def fashion_cv(rows: int):
    """``(X, y, X_test, y_test)``: ``rows`` training rows, stratified (seed 0), in their file order."""
    X_train, y_train, X_test, y_test = data.load("fashion")
    if rows < len(y_train):
        from sklearn.model_selection import train_test_split

        keep, _ = train_test_split(np.arange(len(y_train)), train_size=rows, stratify=y_train, random_state=0)
        keep = np.sort(keep)
        X_train, y_train = X_train[keep], y_train[keep]
    X, X_test = X_train.astype(np.float64) / 255.0, X_test.astype(np.float64) / 255.0
    return X, y_train.astype(np.int64), X_test, y_test


def synthetic_features(n: int, seed: int, d: int = 2048, k: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Class-clustered non-negative float32 features ``relu(0.1 * mu_y + noise)``, ``mu`` fixed by seed 42."""
    centers = np.random.default_rng(42).normal(size=(k, d)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return np.maximum(0.1 * centers[y] + rng.normal(size=(n, d)).astype(np.float32), 0.0), y


def clip_data(n: int):
    """``(X, y, X_test, y_test)``: ``n`` training rows and ``n // 5`` test rows."""
    X, y = synthetic_features(n, 0)
    X_test, y_test = synthetic_features(n // 5, 1)
    return X, y, X_test, y_test


def clip_split(n: int):
    """``(X_fit, y_fit, X_val, y_val, X, y)``: the probe's split of :func:`clip_data`'s training rows."""
    from linclass.splits import split_indices

    X, y, _, _ = clip_data(n)
    fit, val = split_indices(y, 0.2, stratify=True, random_state=0)
    return X[fit], y[fit], X[val], y[val], X, y


def accuracy(params, X: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose highest score ``X W + b`` is their label."""
    W, b = (np.asarray(p, np.float64) for p in params)
    return float(np.mean((X @ W + b).argmax(axis=1) == y))
