"""Suite ``dask``: full-batch training on a local Dask cluster, 1 vs 2 workers, vs one machine and dask-ml.

About 600 MB of float32 data (300,000 x 500, 10 classes from a linear teacher) is written to a
``.npy`` file and streamed from it by the workers (``linclass.datasets.chunked.npy_chunks``),
never loaded whole; the file is deleted afterwards. Each worker has one thread, as the
one-machine runs have the machine's cores.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from benchmarks.machine import best_time, compare_times

N_FEATURES = 500
N_CLASSES = 10
LBFGS_ITERATIONS = 10
ALPHA = 1e-4
CHUNK_BYTES = 32 * 2**20


def write_data(folder: Path, n_rows: int, seed: int = 0) -> tuple[Path, np.ndarray]:
    """``X.npy`` (float32, written block by block) and the labels of a noisy linear teacher."""
    rng = np.random.default_rng(seed)
    teacher = rng.normal(size=(N_FEATURES, N_CLASSES)).astype(np.float32)
    path = folder / "X.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES))
    y = np.empty(n_rows, np.int64)
    for start in range(0, n_rows, 20_000):
        block = rng.normal(size=(min(20_000, n_rows - start), N_FEATURES)).astype(np.float32)
        X[start : start + block.shape[0]] = block
        noise = rng.gumbel(scale=4.0, size=(block.shape[0], N_CLASSES))
        y[start : start + block.shape[0]] = (block @ teacher + noise).argmax(axis=1)
    X.flush()
    del X
    return path, y


def _classifier(**options):
    """L-BFGS for ``LBFGS_ITERATIONS`` iterations (a fixed budget: its ConvergenceWarning is expected)."""
    from linclass import LinearClassifier

    return LinearClassifier(
        loss="softmax",
        optimizer="lbfgs",
        max_iter=LBFGS_ITERATIONS,
        alpha=ALPHA,
        preprocess="none",
        dtype="float32",
        **options,
    )


def _params(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return (
        rng.normal(scale=0.01, size=(N_FEATURES, N_CLASSES)).astype(np.float32),
        np.zeros(N_CLASSES, np.float32),
    )


def _cluster(n_workers: int):
    from distributed import LocalCluster

    return LocalCluster(n_workers=n_workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None)


def evaluation_times(path: Path, y: np.ndarray, worker_counts: tuple[int, ...], rounds: int) -> dict:
    """Best time of one full-batch evaluation on a ``LocalCluster`` of each worker count.

    The clusters run side by side and take turns (``compare_times``: 3 evaluations on one, then
    3 on the next, ``rounds`` times), so a change in the shared machine's load reaches every
    worker count alike.
    """
    import dask.array as da
    from distributed import Client

    from linclass.datasets.chunked import npy_chunks
    from linclass.kernels.cluster import DaskKernels

    X = npy_chunks(path, chunk_bytes=CHUNK_BYTES)
    W, b = _params(len(y))
    with contextlib.ExitStack() as stack:
        evaluations = {}
        for n_workers in worker_counts:
            cluster = stack.enter_context(_cluster(n_workers))
            client = stack.enter_context(Client(cluster, set_as_default=False))
            kernels = DaskKernels(client)
            y_chunks = client.persist(da.from_array(y, chunks=(X.chunks[0],)))
            evaluations[n_workers] = partial(kernels.linear_loss, X, y_chunks, W, b, loss=_loss_spec())
            evaluations[n_workers]()  # the workers load the compiled kernels
        return compare_times(evaluations, rounds=rounds, budget=0)


def cluster_runs(path: Path, y: np.ndarray, n_workers: int, evaluation: float) -> dict:
    """linclass L-BFGS and dask-ml L-BFGS on a fresh ``LocalCluster`` of ``n_workers``."""
    import dask.array as da
    from distributed import Client

    from linclass.datasets.chunked import npy_chunks

    with _cluster(n_workers) as cluster, Client(cluster):
        X = npy_chunks(path, chunk_bytes=CHUNK_BYTES)
        y_chunks = da.from_array(y, chunks=(X.chunks[0],))
        start = time.perf_counter()
        model = _classifier().fit(X, y_chunks)
        fit_time = time.perf_counter() - start
        binary = (y < N_CLASSES // 2).astype(np.int64)
        y_binary = da.from_array(binary, chunks=(X.chunks[0],))
        start = time.perf_counter()
        ours_binary = _classifier().fit(X, y_binary)
        binary_time = time.perf_counter() - start
        dask_ml = _dask_ml_binary(X, y_binary, len(y))
        accuracy = float(model.score(X, y_chunks))
        binary_accuracy = float(ours_binary.score(X, y_binary))
    return {
        "workers": n_workers,
        "evaluation s": evaluation,
        "lbfgs s": fit_time,
        "lbfgs evaluations": int(model.history_["n_evaluations"][-1]),
        "accuracy": accuracy,
        "binary lbfgs s": binary_time,
        "binary accuracy": binary_accuracy,
        "coef": model.coef_,
        "dask-ml": dask_ml,
    }


def _loss_spec():
    from linclass.losses import LOSSES

    return LOSSES["softmax"]


def _dask_ml_binary(X, y_binary, n_rows: int) -> dict:
    """dask-ml's LogisticRegression (binary only) with L-BFGS and the same regularization."""
    try:
        from dask_ml.linear_model import LogisticRegression
    except ImportError as exc:
        return {"error": f"dask-ml is not installed ({exc})"}
    # dask-ml minimizes sum(loss) + ||w||^2 / (2C); linclass mean(loss) + alpha ||W||^2.
    model = LogisticRegression(solver="lbfgs", max_iter=LBFGS_ITERATIONS, C=1.0 / (2 * ALPHA * n_rows))
    start = time.perf_counter()
    model.fit(X, y_binary)
    elapsed = time.perf_counter() - start
    return {"time": elapsed, "accuracy": float((model.predict(X) == y_binary).mean().compute())}


def local_runs(path: Path, y: np.ndarray, repeats: int) -> dict:
    """The same evaluation and fit on one machine, from a memory map of the same file."""
    from linclass import kernels
    from linclass.losses import LOSSES

    X = np.load(path, mmap_mode="r")
    W, b = _params(len(y))
    rows = {}
    for name in ("numba", "numpy"):
        local = kernels.KERNELS[name]()
        local.linear_loss(X[:1000], y[:1000], W, b, loss=LOSSES["softmax"])
        rows[name] = best_time(
            lambda local=local: local.linear_loss(X, y, W, b, loss=LOSSES["softmax"]), repeats
        )
    start = time.perf_counter()
    model = _classifier().fit(X, y)
    return {
        "evaluation s": rows,
        "lbfgs s": time.perf_counter() - start,
        "coef": model.coef_,
        "accuracy": float(model.score(X, y)),
    }


def dask_suite(quick: bool) -> dict:
    n_rows = 30_000 if quick else 300_000
    repeats = 2 if quick else 3
    from linclass.estimator._compat import ConvergenceWarning

    folder = Path(tempfile.mkdtemp(prefix="linclass-dask-bench-"))
    try:
        warnings.simplefilter("ignore", ConvergenceWarning)  # the L-BFGS runs have a fixed budget
        path, y = write_data(folder, n_rows)
        size = path.stat().st_size
        local = local_runs(path, y, repeats)
        evaluations = evaluation_times(path, y, (1, 2), repeats)
        runs = [cluster_runs(path, y, n_workers, evaluations[n_workers]) for n_workers in (1, 2)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    reference = local.pop("coef")
    coefs = [run.pop("coef") for run in runs]
    scale = float(np.abs(reference).max())
    return {
        "rows": n_rows,
        "bytes": size,
        "local": local,
        "cluster": runs,
        "bit identical 1 vs 2 workers": bool(np.array_equal(coefs[0], coefs[1])),
        "max difference to one machine": float(np.abs(coefs[1] - reference).max() / scale),
    }


def dask_section(result: dict) -> str:
    from benchmarks.report import table

    local, runs = result["local"], result["cluster"]
    one = runs[0]["evaluation s"]
    rows = [
        [f"one machine, {name} kernels", "–", seconds, "–", local["lbfgs s"] if name == "numba" else "", ""]
        for name, seconds in local["evaluation s"].items()
    ]
    rows += [
        [
            f"Dask, {run['workers']} worker{'s' if run['workers'] > 1 else ''}",
            run["workers"],
            run["evaluation s"],
            one / run["evaluation s"],
            run["lbfgs s"],
            run["accuracy"],
        ]
        for run in runs
    ]
    full = table(
        ["linclass", "workers", "evaluation s", "speed-up vs 1 worker", "L-BFGS fit s", "train accuracy"],
        rows,
    )
    binary = [
        ["linclass (softmax, 2 classes)", run["workers"], run["binary lbfgs s"], run["binary accuracy"]]
        for run in runs
    ]
    for run in runs:
        theirs = run["dask-ml"]
        binary.append(
            [
                "dask-ml LogisticRegression",
                run["workers"],
                theirs.get("time", float("nan")),
                theirs.get("accuracy", theirs.get("error", "")),
            ]
        )
    identical, difference = result["bit identical 1 vs 2 workers"], result["max difference to one machine"]
    return (
        f"{result['rows']:,} rows x {N_FEATURES} float32 features ({result['bytes'] / 1e6:.0f} MB), "
        f"10 classes; L-BFGS {LBFGS_ITERATIONS} iterations, alpha = {ALPHA}.\n\n"
        + full
        + f"\n\nFitted weights bit-identical on 1 and 2 workers: {'yes' if identical else 'NO'}; "
        f"largest difference to the one-machine fit {difference:.1e} of the largest weight "
        "(float32: rounding of a different summation order, grown over the iterations).\n\n"
        "Binary problem (classes 0-4 against 5-9), the only kind dask-ml's LogisticRegression fits:\n\n"
        + table(["contender", "workers", "L-BFGS fit s", "train accuracy"], binary)
    )


def targets(result: dict) -> list[list]:
    one, two = (run["evaluation s"] for run in result["cluster"])
    return [
        [
            "7. Dask: 2 workers vs 1 (evaluation)",
            "≥ 1.4x",
            f"{one / two:.2f}x ({one:.2f} s vs {two:.2f} s)",
            one / two >= 1.4,
        ],
        [
            "7. Dask: weights on 1 vs 2 workers",
            "bit-identical",
            "bit-identical" if result["bit identical 1 vs 2 workers"] else "different",
            result["bit identical 1 vs 2 workers"],
        ],
    ]
