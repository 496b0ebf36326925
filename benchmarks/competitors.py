"""The contenders: each trains a linear classifier on a data set and returns its test accuracy.

linclass gets the raw uint8 pixels (it folds its preprocessing into the weights and fits that
preprocessing inside the timed ``fit``). The other contenders get pixels/255 minus the mean
image as float32, prepared before their clock starts — the same preprocessing as linclass's
``"center-scale"``, and a head start for them.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np

# linclass settings per (data set, loss), chosen by the sweeps described in docs/performance.md.
LINCLASS_SETTINGS: dict[tuple[str, str], dict[str, Any]] = {
    ("fashion", "softmax"): dict(learning_rate=0.1, epochs=10),
    ("fashion", "svm"): dict(learning_rate=0.01, epochs=10),
    ("cifar", "softmax"): dict(learning_rate=0.01, epochs=10),
    ("cifar", "svm"): dict(learning_rate=0.001, epochs=12),
}
COMMON_SETTINGS = dict(
    optimizer="sgd", schedule="cosine", momentum=0.9, batch_size=256, alpha=1e-4, preprocess="center-scale"
)

TORCH_LEARNING_RATE = {"softmax": 0.1, "svm": 0.1}
NUMPY_LEARNING_RATE = {"softmax": 0.1, "svm": 0.01}


def center_scale(X_train: np.ndarray, X_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pixels / 255 minus the mean training image, float32 (linclass's ``"center-scale"``)."""
    mean = X_train.mean(axis=0, dtype=np.float64) / 255.0
    return (
        (X_train / np.float32(255) - mean.astype(np.float32)).astype(np.float32),
        (X_test / np.float32(255) - mean.astype(np.float32)).astype(np.float32),
    )


def linclass_settings(dataset: str, loss: str, **overrides: Any) -> dict[str, Any]:
    settings = dict(COMMON_SETTINGS, loss=loss, random_state=0)
    settings.update(LINCLASS_SETTINGS.get((dataset, loss), {}))
    settings.update(overrides)
    return settings


def warm_up_linclass(data, settings: dict[str, Any]) -> float:
    """Seconds to load (or, the first time ever, compile) the kernels: one epoch on 512 spread-out rows."""
    import linclass

    X_train, y_train, X_test, y_test = data
    rows = np.linspace(0, len(X_train) - 1, 512).astype(np.int64)
    start = time.perf_counter()
    clf = linclass.LinearClassifier(**dict(settings, epochs=1)).fit(X_train[rows], y_train[rows])
    clf.score(X_test, y_test)
    return time.perf_counter() - start


def fit_linclass(data, settings: dict[str, Any]) -> dict[str, float]:
    import linclass

    X_train, y_train, X_test, y_test = data
    clf = linclass.LinearClassifier(**settings)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    return {"time": elapsed, "accuracy": float(clf.score(X_test, y_test))}


def built_optimizer(name: str, settings: dict, n_train: int):
    """``(optimizer, batch_size, epochs)`` from shared hyperparameters and factory options."""
    from linclass.optim import OPTIMIZERS

    spec = OPTIMIZERS[name]
    settings = dict(settings)
    epochs = settings.pop("epochs")
    batch = settings.pop("batch_size", None)
    shared = {key: settings.pop(key) for key in ("learning_rate", "schedule", "momentum") if key in settings}
    if settings:  # the factory's own options (n_candidates, population_size, ...)
        return spec.factory(**{spec.step_size: shared["learning_rate"]}, **settings), batch, epochs
    steps = math.ceil(n_train / min(batch, n_train)) if batch and spec.data == "minibatch" else 1
    return spec.build(**shared, steps_per_epoch=steps, max_iter=epochs), batch, epochs


def loop_fitter(data, settings: dict[str, Any]):
    """A function that times ``linclass.train.fit`` alone: the kernels and the loop, no estimator.

    The preprocessing is fitted and the kernels loaded before the returned function runs.
    """
    from linclass.objective import Objective
    from linclass.preprocess import fit_transform
    from linclass.train import fit

    X_train, y_train, X_test, y_test = data
    objective = Objective(
        settings["loss"],
        penalty="l2",
        alpha=settings["alpha"],
        transform=fit_transform(settings["preprocess"], X_train),
    )
    n_classes = int(y_train.max()) + 1
    start = (np.zeros((X_train.shape[1], n_classes), np.float32), np.zeros(n_classes, np.float32))
    shared = {key: settings[key] for key in ("learning_rate", "schedule", "momentum", "batch_size", "epochs")}

    def options(n_train: int) -> dict:
        optimizer, batch, epochs = built_optimizer(settings["optimizer"], shared, n_train)
        seed = settings["random_state"]
        return dict(optimizer=optimizer, batch_size=batch, epochs=epochs, random_state=seed)

    fit(objective, start, X_train[:512], y_train[:512], **dict(options(512), epochs=1))

    def run() -> dict[str, float]:
        clock = time.perf_counter()
        result = fit(objective, start, X_train, y_train, **options(len(y_train)))
        elapsed = time.perf_counter() - clock
        return {"time": elapsed, "accuracy": objective.accuracy(result.params, X_test, y_test)}

    return run


def fit_sklearn_logistic(data, max_iter: int = 2000) -> dict[str, float]:
    """To convergence (scikit-learn's default tolerance) unless ``max_iter`` stops it first."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    X_train, y_train, X_test, y_test = data
    X_train, X_test = center_scale(X_train, X_test)
    clf = LogisticRegression(solver="lbfgs", max_iter=max_iter)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {
        "time": elapsed,
        "accuracy": float(clf.score(X_test, y_test)),
        "n_iter": int(clf.n_iter_.max()),
        "converged": converged,
    }


def fit_sklearn_sgd(data, epochs: int = 20) -> dict[str, float]:
    from sklearn.linear_model import SGDClassifier

    X_train, y_train, X_test, y_test = data
    X_train, X_test = center_scale(X_train, X_test)
    clf = SGDClassifier(loss="hinge", max_iter=epochs, tol=None, random_state=0)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    elapsed = time.perf_counter() - start
    return {"time": elapsed, "accuracy": float(clf.score(X_test, y_test))}


def fit_torch(data, loss: str, epochs: int = 10, batch_size: int = 256) -> dict[str, float]:
    """nn.Linear + CrossEntropyLoss (softmax) or MultiMarginLoss (svm), SGD with momentum and cosine decay."""
    import torch

    X_train, y_train, X_test, y_test = data
    X_train, X_test = center_scale(X_train, X_test)
    torch.manual_seed(0)
    inputs, targets = torch.from_numpy(X_train), torch.from_numpy(y_train.astype(np.int64))
    n_classes = int(y_train.max()) + 1
    model = torch.nn.Linear(X_train.shape[1], n_classes)
    criterion = torch.nn.CrossEntropyLoss() if loss == "softmax" else torch.nn.MultiMarginLoss()
    steps_per_epoch = math.ceil(len(inputs) / batch_size)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=TORCH_LEARNING_RATE[loss], momentum=0.9, weight_decay=2e-4
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / (epochs * steps_per_epoch)))
    )
    start = time.perf_counter()
    for _ in range(epochs):
        for idx in torch.randperm(len(inputs)).split(batch_size):
            optimizer.zero_grad()
            criterion(model(inputs[idx]), targets[idx]).backward()
            optimizer.step()
            schedule.step()
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        predictions = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return {"time": elapsed, "accuracy": float(np.mean(predictions == y_test))}


def fit_numpy_loop(data, loss: str, epochs: int = 10, batch_size: int = 256) -> dict[str, float]:
    """A plain NumPy minibatch loop: the softmax or multiclass hinge loss, SGD with momentum, cosine decay."""
    X_train, y_train, X_test, y_test = data
    X_train, X_test = center_scale(X_train, X_test)
    rng = np.random.default_rng(0)
    n, n_features = X_train.shape
    n_classes = int(y_train.max()) + 1
    W = np.zeros((n_features, n_classes), np.float32)
    b = np.zeros(n_classes, np.float32)
    velocity_W, velocity_b = np.zeros_like(W), np.zeros_like(b)
    steps = epochs * math.ceil(n / batch_size)
    step = 0
    start = time.perf_counter()
    for _ in range(epochs):
        permutation = rng.permutation(n)
        for first in range(0, n, batch_size):
            idx = permutation[first : first + batch_size]
            Xb, yb = X_train[idx], y_train[idx]
            rows = np.arange(len(idx))
            scores = Xb @ W + b
            if loss == "softmax":
                scores -= scores.max(axis=1, keepdims=True)
                dscores = np.exp(scores)
                dscores /= dscores.sum(axis=1, keepdims=True)
                dscores[rows, yb] -= 1
            else:
                margins = scores - scores[rows, yb][:, None] + 1
                margins[rows, yb] = 0
                dscores = (margins > 0).astype(np.float32)
                dscores[rows, yb] = -dscores.sum(axis=1)
            dscores /= len(idx)
            rate = NUMPY_LEARNING_RATE[loss] * 0.5 * (1 + math.cos(math.pi * step / steps))
            velocity_W = 0.9 * velocity_W + Xb.T @ dscores + 2e-4 * W
            velocity_b = 0.9 * velocity_b + dscores.sum(axis=0)
            W -= rate * velocity_W
            b -= rate * velocity_b
            step += 1
    elapsed = time.perf_counter() - start
    return {"time": elapsed, "accuracy": float(np.mean((X_test @ W + b).argmax(axis=1) == y_test))}
