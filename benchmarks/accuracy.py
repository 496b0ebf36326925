"""Time-to-accuracy suites: Fashion-MNIST against the usual tools, CIFAR-10 raw pixels, every optimizer."""

from __future__ import annotations

import time

import numpy as np

from benchmarks import data
from benchmarks.competitors import built_optimizer
from benchmarks.runner import run_worker

# (label, task, numpy_reference) per loss; each run in a fresh process (in this one with --quick).
FASHION_CONTENDERS = {
    "softmax": [
        ("linclass", {"contender": "linclass", "loss": "softmax"}, False),
        ("linclass, NumPy path", {"contender": "linclass", "loss": "softmax"}, True),
        ("scikit-learn LogisticRegression(lbfgs)", {"contender": "sklearn_logistic"}, False),
        ("PyTorch Linear + CrossEntropyLoss, SGD", {"contender": "torch", "loss": "softmax"}, False),
        ("plain NumPy minibatch loop", {"contender": "numpy_loop", "loss": "softmax"}, False),
    ],
    "svm": [
        ("linclass", {"contender": "linclass", "loss": "svm"}, False),
        ("linclass, NumPy path", {"contender": "linclass", "loss": "svm"}, True),
        ("scikit-learn SGDClassifier(hinge), 20 epochs", {"contender": "sklearn_sgd"}, False),
        ("PyTorch Linear + MultiMarginLoss, SGD", {"contender": "torch", "loss": "svm"}, False),
        ("plain NumPy minibatch loop", {"contender": "numpy_loop", "loss": "svm"}, False),
    ],
}


def fashion_suite(quick: bool) -> dict:
    """Fashion-MNIST test accuracy and training time of each contender, softmax and SVM."""
    results = {}
    for loss, contenders in FASHION_CONTENDERS.items():
        rows = []
        for label, task, numpy_reference in contenders:
            if quick and task["contender"] == "sklearn_logistic":
                task = dict(task, settings={"max_iter": 100})
            task = dict(task, dataset="fashion", quick=quick, repeats=1 if quick else 3)
            result = run_worker(task, numpy_reference=numpy_reference, fresh=not quick)
            rows.append(dict(result, contender=label))
        results[loss] = rows
    return results


def cifar_suite(quick: bool) -> dict:
    """CIFAR-10 raw pixels: linclass softmax and SVM, time, accuracy and peak memory.

    Once through ``LinearClassifier.fit`` and once through ``linclass.train.fit`` alone (the
    preprocessing fitted before the measured window), which separates the memory of the kernels
    and the loop from that of the estimator's preprocessing and validation split.
    """
    if not data.cifar_available():
        return {"skipped": f"{data.CIFAR10_ARCHIVE} not found (set LINCLASS_CIFAR10)"}
    rows = []
    for contender, label in (("linclass", "LinearClassifier.fit"), ("linclass_loop", "training loop alone")):
        for loss in ("softmax", "svm"):
            task = {"contender": contender, "dataset": "cifar", "loss": loss, "quick": quick, "repeats": 1}
            result = run_worker(task, fresh=not quick)
            rows.append(dict(result, loss=loss, what=label))
    return {"rows": rows}


# Hyperparameters per optimizer: searches spend a fixed number of loss evaluations
# (n_candidates x epochs), gradient methods a number of epochs (L-BFGS: iterations).
OPTIMIZER_SETTINGS = {
    "random_search": dict(learning_rate=0.01, epochs=100, n_candidates=10),
    "random_local_search": dict(learning_rate=0.01, epochs=100, n_candidates=10),
    "genetic": dict(learning_rate=0.01, epochs=50, population_size=20),
    "gd": dict(learning_rate=0.5, momentum=0.9, epochs=100),
    "sgd": dict(learning_rate=0.1, momentum=0.9, schedule="cosine", batch_size=256, epochs=10),
    "adam": dict(learning_rate=0.003, schedule="cosine", batch_size=256, epochs=10),
    "lbfgs": dict(epochs=100),
}
# Fashion-MNIST budgets: a loss evaluation is a pass over 60,000 images there.
FASHION_BUDGETS = {"random_search": 20, "random_local_search": 20, "genetic": 10, "gd": 50, "lbfgs": 100}


def _fit_optimizer(name: str, settings: dict, arrays, preprocess: str) -> dict:
    from linclass.objective import Objective
    from linclass.preprocess import fit_transform
    from linclass.train import fit

    X_train, y_train, X_test, y_test = arrays
    optimizer, batch, epochs = built_optimizer(name, settings, len(y_train))
    objective = Objective("softmax", penalty="l2", alpha=1e-4, transform=fit_transform(preprocess, X_train))
    n_classes = int(y_train.max()) + 1
    start = (np.zeros((X_train.shape[1], n_classes), np.float32), np.zeros(n_classes, np.float32))
    clock = time.perf_counter()
    result = fit(
        objective, start, X_train, y_train, optimizer=optimizer, epochs=epochs, batch_size=batch or 200,
        random_state=0,
    )
    elapsed = time.perf_counter() - clock
    return {
        "optimizer": name,
        "time": elapsed,
        "accuracy": objective.accuracy(result.params, X_test, y_test),
        "evaluations": result.history["n_evaluations"][-1],
    }


def optimizers_suite(quick: bool) -> dict:
    """Time and test accuracy of every optimizer (softmax objective) on digits and Fashion-MNIST."""
    results = {}
    for name, preprocess in (("digits", "standardize"), ("fashion", "center-scale")):
        arrays = data.load(name, quick=quick)
        _fit_optimizer(
            "sgd", dict(OPTIMIZER_SETTINGS["sgd"], epochs=1), arrays, preprocess
        )  # loads the kernels
        rows = []
        for optimizer, settings in OPTIMIZER_SETTINGS.items():
            settings = dict(settings)
            if name == "fashion" and optimizer in FASHION_BUDGETS:
                settings["epochs"] = FASHION_BUDGETS[optimizer]
            if quick:
                settings["epochs"] = max(1, settings["epochs"] // 5)
            rows.append(
                dict(_fit_optimizer(optimizer, settings, arrays, preprocess), epochs=settings["epochs"])
            )
        results[name] = rows
    return results
