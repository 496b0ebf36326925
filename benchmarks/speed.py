"""Speed suites: an SGD epoch against the machine's limit, a batch against PyTorch and NumPy, cost growth.

Each ``measure_*`` function runs in a fresh process (one per implementation): an OpenBLAS
call leaves its worker threads spinning for a long while, and on 2 cores they halve the speed
of the next library's threads, so measurements must not share a process.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks import data, machine
from benchmarks.runner import run_worker

N_CLASSES = 10
BATCH_SIZES = (64, 256, 1024, 4096)
BATCH_FEATURES = (784, 3072)


def _objective(X: np.ndarray, loss: str = "softmax", backend: str | None = None):
    from linclass.kernels import get_kernels
    from linclass.objective import Objective
    from linclass.preprocess import fit_transform

    return Objective(
        loss,
        penalty="l2",
        alpha=1e-4,
        transform=fit_transform("center-scale", X),
        kernels=get_kernels(backend),
    )


def _epoch(objective, X: np.ndarray, y: np.ndarray) -> None:
    from linclass.optim import sgd
    from linclass.train import fit

    start = (np.zeros((X.shape[1], N_CLASSES), np.float32), np.zeros(N_CLASSES, np.float32))
    fit(
        objective,
        start,
        X,
        y,
        optimizer=sgd(0.1, momentum=0.9),
        batch_size=256,
        epochs=1,
        random_state=0,
    )


def _speed_task(function: str, quick: bool, **args) -> dict:
    task = {"kind": "speed", "function": function, "args": dict(args, quick=quick)}
    result = run_worker(task, fresh=not quick)
    if "error" in result:
        raise RuntimeError(f"{function}{args} failed: {result['error']}")
    return result


# --------------------------------------------------------------------------- measurements (in a worker)


def measure_limits(quick: bool) -> dict:
    """Read bandwidth (bytes/s) and peak float32 GEMM rate (FLOP/s) of this machine."""
    return {
        "bandwidth": machine.memory_bandwidth(256 if quick else 512, 3 if quick else 5),
        "flops": machine.peak_gemm_flops((2048,) if quick else (2048, 4096), 3 if quick else 5),
        "one thread": machine.one_thread_rates(3 if quick else 5),
    }


def measure_epochs(quick: bool, backend: str) -> dict:
    """An SGD epoch on Fashion-MNIST stored as uint8 and as float32, and the epoch's batches alone."""
    X_uint8, y, _, _ = data.load("fashion")
    rows = []
    for stored in ("uint8", "float32"):
        X = X_uint8 if stored == "uint8" else X_uint8.astype(np.float32)
        objective = _objective(X, backend=backend)
        _epoch(objective, X[:512], y[:512])
        epoch = machine.best_time(lambda objective=objective, X=X: _epoch(objective, X, y), 3, 1.0)
        params = (np.zeros((X.shape[1], N_CLASSES), np.float32), np.zeros(N_CLASSES, np.float32))
        order = np.random.default_rng(0).permutation(len(X))
        batches = [(X[order[i : i + 256]], y[order[i : i + 256]]) for i in range(0, len(X), 256)]

        def batches_alone(objective=objective, params=params, batches=batches) -> None:
            for Xb, yb in batches:
                objective.batch(params, Xb, yb)

        rows.append(
            {
                "X stored as": stored,
                "backend": backend,
                "epoch s": epoch,
                "bytes": X.nbytes,
                "batches alone s": machine.best_time(batches_alone, 3, 0.5),
            }
        )
    return {"rows": rows, "shape": list(X_uint8.shape)}


def measure_batches(quick: bool, implementation: str) -> dict:
    """Seconds of one float32 loss + gradient for each loss, D and batch size, by one implementation.

    ``implementation``: ``"linclass"`` (fused), ``"numpy"`` (linclass's NumPy path) or ``"torch"``
    (``nn.Linear`` forward + loss + backward). PyTorch's MultiMarginLoss is linclass's
    ``"multi_margin"`` (the multiclass hinge divided by C).
    """
    from linclass.kernels import get_kernels
    from linclass.objective import Objective

    budget = 0.03 if quick else 0.3
    rng = np.random.default_rng(0)
    rows = []
    for n_features in BATCH_FEATURES:
        for n in BATCH_SIZES:
            X = rng.normal(size=(n, n_features)).astype(np.float32)
            y = rng.integers(0, N_CLASSES, n)
            W = rng.normal(scale=0.01, size=(n_features, N_CLASSES)).astype(np.float32)
            params = (W, np.zeros(N_CLASSES, np.float32))
            for loss in ("softmax", "svm"):
                if implementation == "torch":
                    step = _torch_step(X, y, loss)
                else:
                    objective = Objective(
                        "softmax" if loss == "softmax" else "multi_margin",
                        penalty=None,
                        kernels=get_kernels("numpy" if implementation == "numpy" else None),
                    )
                    step = _linclass_step(objective, params, X, y)
                seconds = machine.best_time(step, 5, budget)
                rows.append({"loss": loss, "D": n_features, "batch": n, "seconds": seconds})
    return {"rows": rows}


def _linclass_step(objective, params: tuple, X: np.ndarray, y: np.ndarray):
    def step() -> None:
        objective.batch(params, X, y)

    return step


def _torch_step(X: np.ndarray, y: np.ndarray, loss: str):
    import torch

    model = torch.nn.Linear(X.shape[1], N_CLASSES)
    criterion = torch.nn.CrossEntropyLoss() if loss == "softmax" else torch.nn.MultiMarginLoss()
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> None:
        model.zero_grad()
        criterion(model(inputs), targets).backward()

    return step


def measure_scaling(quick: bool) -> dict:
    """Seconds per epoch against N (Fashion-MNIST rows) and against D (random uint8 images)."""
    X, y, _, _ = data.load("fashion")
    objective = _objective(X)
    _epoch(objective, X[:512], y[:512])
    repeats = 2 if quick else 3
    sizes = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
    by_n = [machine.best_time(lambda n=n: _epoch(objective, X[:n], y[:n]), repeats) for n in sizes]
    rng = np.random.default_rng(0)
    n_rows = 5_000 if quick else 20_000
    features = [256, 512, 1024, 2048, 3072]
    by_d = []
    for d in features:
        X_d = rng.integers(0, 256, size=(n_rows, d), dtype=np.uint8)
        y_d = rng.integers(0, N_CLASSES, n_rows)
        objective_d = _objective(X_d)
        by_d.append(machine.best_time(lambda o=objective_d, X_d=X_d, y_d=y_d: _epoch(o, X_d, y_d), repeats))
    return {"n": sizes, "seconds by n": by_n, "d": features, "rows for d": n_rows, "seconds by d": by_d}


# --------------------------------------------------------------------------- suites (in the main process)


def epoch_suite(quick: bool) -> dict:
    """One SGD epoch (batch 256, float32, C = 10) on Fashion-MNIST vs ``max(bytes / BW, 4NDC / FLOP/s)``."""
    limits = [_speed_task("measure_limits", quick)]
    epochs = [_speed_task("measure_epochs", quick, backend=backend) for backend in ("numba", "numpy")]
    limits.append(_speed_task("measure_limits", quick))
    # The strictest limit: the best bandwidth and FLOP rate seen before and after the epochs.
    bandwidth = max(limit["bandwidth"] for limit in limits)
    flops = max(limit["flops"] for limit in limits)
    n, d = epochs[0]["shape"]
    rows = [row for result in epochs for row in result["rows"]]
    for row in rows:
        row["limit s"] = max(row.pop("bytes") / bandwidth, 4 * n * d * N_CLASSES / flops)
        row["ratio to limit"] = row["epoch s"] / row["limit s"]
    return {"bandwidth GB/s": bandwidth / 1e9, "peak GFLOP/s": flops / 1e9, "rows": rows}


def batch_suite(quick: bool) -> dict:
    """Loss + gradient of one float32 batch: linclass (fused) vs PyTorch forward + backward vs NumPy path."""
    seconds = {
        name: _speed_task("measure_batches", quick, implementation=name)["rows"]
        for name in ("linclass", "numpy", "torch")
    }
    rows = []
    for ours, reference, torch_row in zip(
        seconds["linclass"], seconds["numpy"], seconds["torch"], strict=True
    ):
        rows.append(
            {
                "loss": ours["loss"],
                "D": ours["D"],
                "batch": ours["batch"],
                "linclass us": ours["seconds"] * 1e6,
                "torch us": torch_row["seconds"] * 1e6,
                "numpy us": reference["seconds"] * 1e6,
                "torch / linclass": torch_row["seconds"] / ours["seconds"],
                "numpy / linclass": reference["seconds"] / ours["seconds"],
            }
        )
    return {"rows": rows}


def _fit_line(x: list[float], y: list[float]) -> dict:
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((np.asarray(y) - (slope * np.asarray(x) + intercept)) ** 2))
    total = float(np.sum((np.asarray(y) - np.mean(y)) ** 2))
    return {
        "slope": float(slope),
        "intercept": float(intercept),
        "r2": 1 - residual / total if total else 1.0,
    }


def scaling_suite(quick: bool) -> dict:
    """Time per epoch against N and D; memory of ``LinearClassifier.fit`` and of the loop alone against N."""
    result = _speed_task("measure_scaling", quick)
    result["fit by n"] = _fit_line(result["n"], result["seconds by n"])
    result["fit by d"] = _fit_line(result["d"], result["seconds by d"])
    memory_sizes = [10_000, 60_000] if quick else result["n"]
    for label, contender in (("estimator memory MiB", "linclass"), ("loop memory MiB", "linclass_loop")):
        values = []
        for n in memory_sizes:
            task = {
                "contender": contender,
                "dataset": "fashion",
                "loss": "softmax",
                "rows": n,
                "settings": {"epochs": 1},
                "repeats": 1,
            }
            run = run_worker(task)
            values.append(math.nan if "error" in run else run["fit_peak"] - run["rss_before"])
        result[label] = values
    result["memory n"] = memory_sizes
    return result
