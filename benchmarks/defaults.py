"""Speed at the defaults: what a user gets from ``LinearClassifier()`` and ``optimizer="sgd"``.

Rows, all in one run and each against the machine's limit for its arithmetic (measured in the
same run: peak float32 GEMM FLOP/s and read bandwidth, before and after the other rows):

- the default estimator and ``LinearClassifier(optimizer="sgd")`` (batch 64, 20 epochs) on
  Fashion-MNIST stored as uint8 and as float32, with the compiled loop and with the Python
  reference loop (``LINCLASS_PYTHON_LOOP=1``), against scikit-learn's ``LogisticRegression()``
  with its defaults and a PyTorch loop at the same batch size and epochs;
- one SGD epoch (momentum 0.9, ``center-scale``) at batch 16, 64, 256 and 1,024: compiled loop,
  Python loop and PyTorch;
- one full-batch value and gradient over all 60,000 rows (uint8 and float32), beside the floors
  of a pass over the same data on all threads (:mod:`benchmarks.passes`: reading it, and reading
  it with the forward product);
- each speed target beside those floors and the bare operations of one step
  (:mod:`benchmarks.floors`), all as multiples of the same limit (:func:`floor_rows`).

Limit of a run = ``max(bytes of X read / bandwidth, 4 N D C / peak FLOP/s)`` per epoch (a
forward and a backward product of 2 N D C flops each), times the epochs.
"""

from __future__ import annotations

import os
import time

import numpy as np

from benchmarks import competitors, data, machine
from benchmarks.floors import floors_table
from benchmarks.passes import pass_floors_table
from benchmarks.runner import run_worker

N_CLASSES = 10
EPOCH_BATCHES = (16, 64, 256, 1024)
DEFAULT_EPOCHS, DEFAULT_BATCH = 20, 64
# The CIFAR-10 target: raw pixels with the defaults, >= 0.39 test accuracy in under 1.0 s at batch 256.
CIFAR_BATCH, CIFAR_ACCURACY, CIFAR_SECONDS = 256, 0.39, 1.0


def _task(function: str, quick: bool, module: str = "defaults", **args) -> dict:
    task = {"kind": "speed", "module": module, "function": function, "args": dict(args, quick=quick)}
    result = run_worker(task, fresh=not quick, timeout=1800)
    if "error" in result:
        raise RuntimeError(f"{function}{args} failed: {result['error']}")
    return result


def _stored(X: np.ndarray, stored: str) -> np.ndarray:
    return X if stored == "uint8" else X.astype(np.float32)


# --------------------------------------------------------------------------- measurements (in a worker)


def measure_estimator(
    quick: bool, stored: str, optimizer: str, python_loop: bool, dataset: str = "fashion", **settings
) -> dict:
    """``LinearClassifier(optimizer=..., **settings)``, other settings the defaults: fit seconds, accuracy."""
    import linclass

    X, y, X_test, y_test = data.load(dataset, quick=quick)
    X = _stored(X, stored)
    previous = os.environ.get("LINCLASS_PYTHON_LOOP", "")
    os.environ["LINCLASS_PYTHON_LOOP"] = "1" if python_loop else ""
    try:
        every = max(1, X.shape[0] // 1000)  # rows of every class (CIFAR-10's folder order is by class)
        # compile, load the caches
        linclass.LinearClassifier(optimizer="sgd", epochs=1).fit(X[::every], y[::every])
        start = time.perf_counter()
        clf = linclass.LinearClassifier(optimizer=optimizer, **settings).fit(X, y)
        seconds = time.perf_counter() - start
    finally:
        os.environ["LINCLASS_PYTHON_LOOP"] = previous
    return {
        "time": seconds,
        "accuracy": float(clf.score(X_test, y_test)),
        "optimizer_": clf.optimizer_,
        "epochs": int(clf.n_iter_),
        "batch": int(clf.batch_size),
        "n": int(X.shape[0]),
        "d": int(X.shape[1]),
        "bytes": int(X.nbytes),
    }


def measure_epochs(quick: bool, loop: str) -> dict:
    """Seconds of one SGD epoch (uint8 input, momentum 0.9, center-scale) per batch size."""
    from linclass.objective import Objective
    from linclass.optim import sgd
    from linclass.preprocess import fit_transform
    from linclass.train import fit

    X, y, _, _ = data.load("fashion", quick=quick)
    objective = Objective("softmax", "l2", alpha=1e-4, transform=fit_transform("center-scale", X))
    start = (np.zeros((X.shape[1], N_CLASSES), np.float32), np.zeros(N_CLASSES, np.float32))

    def epoch(batch: int, rows: int | None = None) -> None:
        fit(
            objective,
            start,
            X[:rows],
            y[:rows],
            optimizer=sgd(0.01, momentum=0.9),
            batch_size=batch,
            epochs=1,
            random_state=0,
            loop=loop,
        )

    rows = []
    for batch in EPOCH_BATCHES:
        epoch(batch, 2048)
        rows.append({"batch": batch, "seconds": machine.best_time(lambda b=batch: epoch(b), 2, 1.0)})
    return {"rows": rows, "shape": list(X.shape), "bytes": int(X.nbytes)}


def measure_full_batch(quick: bool) -> dict:
    """Seconds of one value and gradient over all of Fashion-MNIST's training rows."""
    from linclass.objective import Objective
    from linclass.preprocess import fit_transform

    X, y, _, _ = data.load("fashion", quick=quick)
    rng = np.random.default_rng(0)
    params = (
        rng.normal(scale=1e-3, size=(X.shape[1], N_CLASSES)).astype(np.float32),
        np.zeros(N_CLASSES, np.float32),
    )
    rows = []
    for stored in ("uint8", "float32"):
        X_stored = _stored(X, stored)
        objective = Objective("softmax", "l2", alpha=1e-4, transform=fit_transform("center-scale", X_stored))
        objective.value_and_grad(params, X_stored[:512], y[:512])
        seconds = machine.best_time(lambda o=objective, Xs=X_stored: o.value_and_grad(params, Xs, y), 5, 1.0)
        rows.append({"stored": stored, "seconds": seconds, "bytes": int(X_stored.nbytes)})
    return {"rows": rows, "shape": list(X.shape)}


def _one_torch_thread() -> None:
    """PyTorch on one thread, as the compiled loop runs (on a loaded 2-core machine its default
    two spinning threads run several times slower)."""
    import torch

    torch.set_num_threads(1)


def measure_torch_epochs(quick: bool) -> dict:
    """PyTorch (``nn.Linear``, SGD with momentum) epoch seconds per batch size, float32 input."""
    _one_torch_thread()
    arrays = data.load("fashion", quick=quick)
    competitors.fit_torch(tuple(a[:2048] for a in arrays), "softmax", epochs=1, batch_size=64)
    rows = []
    for batch in EPOCH_BATCHES:
        seconds = min(
            competitors.fit_torch(arrays, "softmax", epochs=1, batch_size=batch)["time"] for _ in range(2)
        )
        rows.append({"batch": batch, "seconds": seconds})
    return {"rows": rows}


def measure_competitors(quick: bool) -> dict:
    """scikit-learn's ``LogisticRegression()`` (defaults) and PyTorch at batch 64 for 20 epochs."""
    _one_torch_thread()
    arrays = data.load("fashion", quick=quick)
    return {
        "sklearn": competitors.fit_sklearn_logistic(arrays, max_iter=100),
        "torch": competitors.fit_torch(arrays, "softmax", epochs=DEFAULT_EPOCHS, batch_size=DEFAULT_BATCH),
    }


# --------------------------------------------------------------------------- the suite (in the main process)


def _limits(quick: bool) -> dict:
    from benchmarks.speed import _speed_task

    return _speed_task("measure_limits", quick)


def defaults_suite(quick: bool) -> dict:
    limits = [_limits(quick)]
    fits = []
    for stored in ("uint8", "float32"):
        for optimizer, python_loop in (("auto", False), ("sgd", False), ("sgd", True)):
            row = _task(
                "measure_estimator", quick, stored=stored, optimizer=optimizer, python_loop=python_loop
            )
            fits.append(
                dict(
                    row,
                    stored=stored,
                    estimator=f'optimizer="{optimizer}"',
                    loop="Python" if python_loop else "compiled",
                )
            )
    epochs = {loop: _task("measure_epochs", quick, loop=loop) for loop in ("compiled", "python")}
    torch_epochs = _task("measure_torch_epochs", quick)
    full = _task("measure_full_batch", quick)
    others = _task("measure_competitors", quick)
    floors = _task("measure_floors", quick, module="floors", batches=list(EPOCH_BATCHES))
    pass_floors = _task("measure_pass_floors", quick, module="passes")
    cifar = []
    if data.cifar_available():
        for settings in ({}, {"batch_size": CIFAR_BATCH}):
            row = _task("measure_estimator", quick, stored="uint8", optimizer="auto", python_loop=False,
                        dataset="cifar", **settings)  # fmt: skip
            cifar.append(dict(row, estimator=f"LinearClassifier({_arguments(settings)})"))
    limits.append(_limits(quick))
    bandwidth = max(limit["bandwidth"] for limit in limits)
    flops = max(limit["flops"] for limit in limits)

    def limit(n: int, d: int, n_bytes: int, passes: int = 1) -> float:
        return passes * max(n_bytes / bandwidth, 4 * n * d * N_CLASSES / flops)

    n, d = full["shape"]
    for row in fits:
        row["limit"] = limit(row["n"], d, row["bytes"], row["epochs"])
    epoch_rows = []
    for compiled, python, torch_row in zip(
        epochs["compiled"]["rows"], epochs["python"]["rows"], torch_epochs["rows"], strict=True
    ):
        epoch_limit = limit(n, d, epochs["compiled"]["bytes"])
        epoch_rows.append(
            {
                "batch": compiled["batch"],
                "compiled": compiled["seconds"],
                "python": python["seconds"],
                "torch": torch_row["seconds"],
                "limit": epoch_limit,
            }
        )
    for row in full["rows"]:
        row["limit"] = limit(n, d, row["bytes"])
    for row in cifar:
        row["limit"] = limit(row["n"], row["d"], row["bytes"], row["epochs"])
    one_thread = {key: max(limit["one thread"][key] for limit in limits) / 1e9 for key in ("gemm", "block")}
    return {
        "bandwidth GB/s": bandwidth / 1e9,
        "peak GFLOP/s": flops / 1e9,
        "one thread GFLOP/s": one_thread,
        "load": os.getloadavg()[0],
        "fits": fits,
        "epochs": epoch_rows,
        "full batch": full["rows"],
        "floors": floors,
        "pass floors": pass_floors,
        "cifar": cifar,
        **others,
    }


def _arguments(settings: dict) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in settings.items())


def defaults_section(result: dict) -> str:
    from benchmarks.report import table

    sklearn, torch = result["sklearn"], result["torch"]
    fit_rows = [
        [
            row["estimator"],
            row["optimizer_"],
            row["stored"],
            row["loop"],
            row["time"],
            row["accuracy"],
            row["limit"],
            row["time"] / row["limit"],
            sklearn["time"] / row["time"],
        ]
        for row in result["fits"]
    ]
    fit_rows.append(
        [
            "scikit-learn LogisticRegression()",
            f"lbfgs, {sklearn['n_iter']} its",
            "float32",
            "",
            sklearn["time"],
            sklearn["accuracy"],
            float("nan"),
            float("nan"),
            1.0,
        ]
    )
    fit_rows.append(
        [
            f"PyTorch SGD, batch {DEFAULT_BATCH}, {DEFAULT_EPOCHS} epochs",
            "sgd",
            "float32",
            "",
            torch["time"],
            torch["accuracy"],
            float("nan"),
            float("nan"),
            sklearn["time"] / torch["time"],
        ]
    )
    epoch_rows = [
        [
            row["batch"],
            row["compiled"] * 1e3,
            row["python"] * 1e3,
            row["torch"] * 1e3,
            row["limit"] * 1e3,
            row["compiled"] / row["limit"],
            row["python"] / row["compiled"],
            row["torch"] / row["compiled"],
        ]
        for row in result["epochs"]
    ]
    full_rows = [
        [row["stored"], row["seconds"] * 1e3, row["limit"] * 1e3, row["seconds"] / row["limit"]]
        for row in result["full batch"]
    ]
    return "\n\n".join(
        [
            f"Machine limits measured in this run: {result['peak GFLOP/s']:.0f} GFLOP/s peak GEMM, "
            f"{result['bandwidth GB/s']:.1f} GB/s read bandwidth; load average {result['load']:.1f} "
            "at the end." + _hardware_note(result.get("one thread GFLOP/s")),
            table(["estimator", "optimizer_", "X stored", "loop", "fit s", "test acc", "limit s", "× limit",
                   "LogisticRegression() / this"], fit_rows),
            table(["batch", "compiled ms", "Python loop ms", "PyTorch ms", "limit ms", "compiled × limit",
                   "Python / compiled", "PyTorch / compiled"], epoch_rows),  # fmt: skip
            table(["full batch, X stored", "value + gradient ms", "limit ms", "× limit"], full_rows),
            *_pass_floors_section(result),
            "The bare operations of one step (`benchmarks/floors.py`): NumPy's BLAS doing only the "
            "two float32 products of a step on rows already gathered and converted, and the fused "
            "kernel's gradient alone (uint8 rows, softmax) on one thread: on the same cached rows every "
            "call, on fresh rows (the next batch of a permutation, as an epoch's steps read them), and "
            "on fresh rows of half the columns (one core's share of a step whose columns are split "
            "between two cores), against the step's share of the limit:",
            floors_table(result["floors"], result["peak GFLOP/s"] * 1e9),
            *_cifar_floors_section(result),
            *_cifar_section(result),
            *_floors_against_targets(result),
        ]
    )


def _floors_against_targets(result: dict) -> list[str]:
    """Markdown: each speed target beside the floors measured in this run, all as multiples of the limit."""
    from benchmarks.report import table

    rows = floor_rows(result)
    if not rows:
        return []
    return [
        "The speed targets against this run's floors, every column a multiple of the same limit. "
        "The BLAS pair is the lower of its one- and all-thread times. The forward product reads every "
        "row with its 10 dot products (the full-batch rows only). The fused gradient on cached rows "
        "is the step's arithmetic alone, and \"÷ 2\" halves it: two cores with nothing else to do, no "
        "step that reads fresh rows gets there. The last three columns are the ways to run a step on "
        "fresh rows: on one core; its rows split over two cores, half the one-core time plus what "
        "such a split must move between the cores each step, measured bare: each core's half of the "
        "classes' rows of the new weights and of the partial gradient, as the compiled loop finishes "
        f"a step in slices of classes ({floor_exchange(result)}); "
        "its columns split over two cores, one core's half of every row (the loss once) with nothing "
        "moving between them. A target is out of reach of what was measured where each way, and the "
        "BLAS pair, is above it:",
        table(["target", "requires", "measured", "BLAS pair", "forward product, all threads",
               "fused gradient, cached rows", "÷ 2", "fresh rows, 1 thread", "rows split: ÷ 2 + the exchange",
               "columns split: half the columns"], rows),  # fmt: skip
    ]


def floor_exchange(result: dict) -> str:
    """The exchange floor in words: the weights out and the partial gradient back, its microseconds."""
    n, d = result["floors"]["shape"]
    nan = float("nan")
    whole, half = result["floors"].get("exchange s", nan), result["floors"].get("exchange half s", nan)
    text = (f"the new weights, {N_CLASSES} × {d} float32, written on one core and read on the other, and "
            f"the partial gradient of the same size back: {whole * 1e6:.1f} µs per step, "
            f"{half * 1e6:.1f} µs for half the classes' rows")  # fmt: skip
    cifar = result["floors"].get("cifar")
    if cifar:
        text += (f"; {cifar['exchange s'] * 1e6:.1f} and {cifar.get('exchange half s', nan) * 1e6:.1f} µs "
                 f"at CIFAR-10's {cifar['shape'][1]:,} features")  # fmt: skip
    return text


def _step_floors(floors: dict, batch: int, flops: float) -> list[float] | None:
    """The floor columns of a step of ``batch`` rows at the shape of ``floors``, in multiples of its limit."""
    row = {row["batch"]: row for row in floors["rows"]}.get(batch)
    if row is None:
        return None
    nan = float("nan")
    limit = 4 * batch * floors["shape"][1] * N_CLASSES / flops
    blas = min(row["blas one thread"], row["blas all threads"])
    fresh = row.get("fused fresh one thread", nan)
    split_rows = fresh / 2 + floors.get("exchange half s", floors.get("exchange s", nan))
    half_columns = row.get("fused fresh half one thread", nan)
    cached = row["fused one thread"]
    return [blas / limit, nan, cached / limit, cached / 2 / limit, fresh / limit, split_rows / limit,
            half_columns / limit]  # fmt: skip


def floor_rows(result: dict) -> list[list]:
    """Rows of :func:`_floors_against_targets`: ``[target, requires, measured, floors...]`` (NaN where
    a floor does not apply), from the run's fits, epochs, full-batch rows, CIFAR-10 fits and floors."""
    floors = result.get("floors")
    if not floors:
        return []
    n, d = floors["shape"]
    flops = result["peak GFLOP/s"] * 1e9
    nan = float("nan")
    sklearn = result["sklearn"]["time"]
    rows = []
    default_step = _step_floors(floors, DEFAULT_BATCH, flops)
    for row in result["fits"]:
        if row["estimator"] == 'optimizer="sgd"' and row["loop"] == "compiled" and default_step:
            fifty = sklearn / 50 / row["limit"]  # 50x LogisticRegression() as a multiple of the limit
            requires = f"≤ {min(3.0, fifty):.2f}× (3× and 50× LogisticRegression())"
            measured = row["time"] / row["limit"]
            rows.append([f"defaults: sgd, {row['stored']}", requires, measured, *default_step])
    for row in result["epochs"]:
        bound = {64: 3.0, 256: 2.0}.get(row["batch"])
        step = _step_floors(floors, row["batch"], flops)
        if bound and step:
            rows.append([f"SGD epoch, batch {row['batch']}", f"≤ {bound:g}×", row["compiled"] / row["limit"],
                         *step])  # fmt: skip
    forward = {row["stored"]: row["scores"] for row in result.get("pass floors", {}).get("rows", [])}
    full = {row["batch"]: row for row in floors["rows"]}.get(n)
    for row in result["full batch"]:
        blas = min(full["blas one thread"], full["blas all threads"]) / row["limit"] if full else nan
        rows.append([f"full-batch value + gradient, {row['stored']}", "≤ 1.5×", row["seconds"] / row["limit"],
                     blas, forward.get(row["stored"], nan) / row["limit"], *[nan] * 5])  # fmt: skip
    for row in result.get("cifar", []):
        step = _step_floors(floors["cifar"], row["batch"], flops) if floors.get("cifar") else None
        if row["batch"] == CIFAR_BATCH and step:
            requires = f"< {CIFAR_SECONDS:g} s: ≤ {CIFAR_SECONDS / row['limit']:.2f}×"
            rows.append([f"CIFAR-10, {row['estimator']}", requires, row["time"] / row["limit"], *step])
    return rows


def _hardware_note(one_thread: dict | None) -> str:
    """How the GEMM peak behind every limit compares with linclass's own forward block."""
    if not one_thread:
        return ""
    gemm, block = one_thread["gemm"], one_thread["block"]
    return (
        f" On one thread NumPy's GEMM ran at {gemm:.0f} GFLOP/s and linclass's forward block (4 rows x 5 "
        f"classes, a cache-resident 16 x 784 tile) at {block:.0f} GFLOP/s ({block / gemm:.2f}x): "
        + ("the limits below use the GEMM rate, so where the block is faster they are the BLAS "
           "library's limits rather than the hardware's, and the hardware's are lower by up to that "
           "factor." if block > gemm else "the GEMM rate is the higher one.")
    )


def _pass_floors_section(result: dict) -> list[str]:
    if not result.get("pass floors"):
        return []
    threads = result["pass floors"]["threads"]
    return [
        f"The full-batch pass against its own data's floors (`benchmarks/passes.py`, one Numba prange "
        f"over {threads} threads): reading every element once (widened to float32 and summed), and "
        "reading it with each row's 10 dot products (the forward product only):",
        pass_floors_table(result["pass floors"], result["full batch"]),
    ]


def _cifar_floors_section(result: dict) -> list[str]:
    cifar = result["floors"].get("cifar")
    if not cifar:
        return []
    return [
        f"The same floors at CIFAR-10's shape ({cifar['shape'][0]:,} × {cifar['shape'][1]:,} random uint8 "
        "pixels: the costs do not depend on the values):",
        floors_table(cifar, result["peak GFLOP/s"] * 1e9),
    ]


def _cifar_section(result: dict) -> list[str]:
    from benchmarks.report import table

    if not result.get("cifar"):
        return ["CIFAR-10: not measured (the JPEG archive is not present)."]
    rows = [
        [row["estimator"], row["optimizer_"], row["batch"], row["epochs"], row["time"], row["accuracy"],
         row["limit"], row["time"] / row["limit"]]
        for row in result["cifar"]
    ]  # fmt: skip
    return [
        "CIFAR-10 raw pixels (50,000 × 3,072 uint8), every other setting the default:",
        table(["estimator", "optimizer_", "batch", "epochs", "fit s", "test acc", "limit s", "× limit"],
              rows),  # fmt: skip
    ]


def targets(result: dict | None) -> list[list]:
    """The issue's targets for the defaults: ``[target, requirement, measured, met]`` rows."""
    if not result:
        return []
    rows = []
    sklearn = result["sklearn"]["time"]
    for row in result["fits"]:
        if row["estimator"] == 'optimizer="sgd"' and row["loop"] == "compiled":
            ratio, speedup = row["time"] / row["limit"], sklearn / row["time"]
            rows.append(
                [
                    f"defaults: sgd, {row['stored']}",
                    "≤ 3× limit, ≥ 50× LogisticRegression(), acc ≥ 0.84",
                    f"{ratio:.2f}× limit, {speedup:.1f}× faster, acc {row['accuracy']:.4f}",
                    ratio <= 3 and speedup >= 50 and row["accuracy"] >= 0.84,
                ]
            )
    for row in result["epochs"]:
        bound = {64: 3.0, 256: 2.0}.get(row["batch"])
        if bound:
            ratio = row["compiled"] / row["limit"]
            rows.append(
                [f"SGD epoch, batch {row['batch']}", f"≤ {bound:g}× limit", f"{ratio:.2f}×", ratio <= bound]
            )
    for row in result["full batch"]:
        ratio = row["seconds"] / row["limit"]
        rows.append(
            [f"full-batch value + gradient, {row['stored']}", "≤ 1.5× limit", f"{ratio:.2f}×", ratio <= 1.5]
        )
    for row in result.get("cifar", []):
        if row["batch"] == CIFAR_BATCH:
            rows.append(
                [
                    f"CIFAR-10 raw pixels, {row['estimator']}",
                    f"test acc ≥ {CIFAR_ACCURACY}, fit < {CIFAR_SECONDS} s",
                    f"acc {row['accuracy']:.4f}, {row['time']:.2f} s",
                    row["accuracy"] >= CIFAR_ACCURACY and row["time"] < CIFAR_SECONDS,
                ]
            )
    return rows
