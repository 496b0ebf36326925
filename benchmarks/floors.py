"""The floor under the speed targets: the bare operations of a step, measured in the same run.

For each batch size of the epoch rows, and for the full batch, on Fashion-MNIST's shape
(D = 784, C = 10):

- the two float32 matrix products of a gradient step done by NumPy's BLAS, ``S = Xb @ W``
  ``(B, D) x (D, C)`` and ``dW = Xb.T @ G`` ``(D, B) x (B, C)``, on rows already gathered and
  converted (no gather, no loss, no update, no Python loop around them), on one thread and
  on all threads;
- the fused kernel's gradient alone (:func:`linclass.kernels.fused.loss_rows` on the uint8
  rows: conversion, both products and the softmax), on one thread: on the same cached rows every
  call (the arithmetic alone), and on fresh rows, the next batch of a permutation as an epoch's
  steps read them (:func:`_fresh_gradients`), over all the columns and over the first half of
  them, a core's share of a step whose columns are split between two cores (each core's half
  of every row and its partial scores, and the loss once, with nothing moving between them).

Each against the step's share of the limit (``4 B D C / peak GEMM FLOP/s``), so the table can
say how far even the bare products of a step are from the limit on this machine.

And the least a step split over two cores moves between them besides its arithmetic
(:func:`measure_exchange`): the caller writes the step's new weights ``(C, D)`` float32 and
raises a flag, a helper thread spinning on it reads them and writes its partial gradient of the
same size, and the caller reads that back — per step, with no products and no update rule.
Also for half the classes' rows: what each core moves when the step's finishing runs in slices
of classes (:func:`linclass.kernels.epoch.run_steps`), both cores at once.

The same step floors for CIFAR-10's shape (D = 3,072, :func:`measure_cifar_floors`), on random
uint8 pixels of that shape (the costs do not depend on the values).
"""

from __future__ import annotations

import threading
import time

import numpy as np

from benchmarks import data, machine

N_CLASSES = 10
REPEATS = 50


def _per_call(function, repeats: int = REPEATS) -> float:
    """Best seconds of one ``function()`` (``repeats`` calls per timing, to amortize the clock)."""

    def many() -> None:
        for _ in range(repeats):
            function()

    return machine.best_time(many, 3, 0.3) / repeats


def measure_floors(quick: bool, batches: tuple[int, ...]) -> dict:
    """Seconds of the bare BLAS products and of the fused gradient, per batch and for the full batch."""
    X, y, _, _ = data.load("fashion", quick=quick)
    rng = np.random.default_rng(0)
    rows = [_step_floors(X, y, batch, rng) for batch in (*batches, X.shape[0])]
    return {
        "rows": rows,
        "shape": list(X.shape),
        "per row": _per_row_cost(X, y.astype(np.int64), rng),
        "exchange s": measure_exchange(X.shape[1], N_CLASSES),
        "exchange half s": measure_exchange(X.shape[1], -(-N_CLASSES // 2)),
        "cifar": measure_cifar_floors(quick),
    }


CIFAR_SHAPE = (50_000, 3_072)
CIFAR_BATCHES = (64, 256)


def measure_cifar_floors(quick: bool) -> dict:
    """:func:`measure_floors`'s step floors (and the exchange) for CIFAR-10's shape, random pixels."""
    n = 10_000 if quick else CIFAR_SHAPE[0]
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(n, CIFAR_SHAPE[1]), dtype=np.uint8)
    y = rng.integers(0, N_CLASSES, size=n)
    return {
        "rows": [_step_floors(X, y, batch, rng) for batch in CIFAR_BATCHES],
        "shape": list(X.shape),
        "exchange s": measure_exchange(X.shape[1], N_CLASSES),
        "exchange half s": measure_exchange(X.shape[1], -(-N_CLASSES // 2)),
    }


def _step_floors(X: np.ndarray, y: np.ndarray, batch: int, rng: np.random.Generator) -> dict:
    """One batch size's floors: the BLAS pair on one and on all threads, the fused gradient on cached
    rows, and (for a minibatch) on fresh rows, all columns and half of them."""
    from threadpoolctl import threadpool_limits

    from linclass.kernels import fused

    W = rng.normal(scale=1e-3, size=(X.shape[1], N_CLASSES)).astype(np.float32)
    Wt, b = np.ascontiguousarray(W.T), np.zeros(N_CLASSES, np.float32)
    labels, weight = y.astype(np.int64), np.ones(N_CLASSES)
    targets = np.zeros((0, N_CLASSES), np.float32)
    Xb = X[:batch].astype(np.float32)
    G = rng.normal(size=(batch, N_CLASSES)).astype(np.float32)
    repeats = max(1, REPEATS * 64 // batch)

    def products() -> None:
        Xb @ W
        Xb.T @ G

    dWt, db = np.zeros_like(Wt), np.zeros_like(b)

    def fused_gradient() -> None:
        fused.loss_rows(X, fused.NO_ROWS, labels, targets, Wt, b, weight, 0, True, 0, batch, dWt, db)

    fused_gradient()
    with threadpool_limits(1):
        one_thread = _per_call(products, repeats)
    row = {
        "batch": batch,
        "blas one thread": one_thread,
        "blas all threads": _per_call(products, repeats),
        "fused one thread": _per_call(fused_gradient, repeats),
    }
    if batch < X.shape[0]:
        row["fused fresh one thread"], row["fused fresh half one thread"] = _fresh_gradients(
            X, labels, batch, rng, repeats
        )
    return row


def _fresh_gradients(
    X: np.ndarray, labels: np.ndarray, batch: int, rng: np.random.Generator, repeats: int
) -> tuple[float, float]:
    """Seconds of one step's fused gradient on fresh rows (the next ``batch`` positions of a
    permutation each call, prefetching as the compiled loop's steps do), one thread: over all of
    ``X``'s columns, and over its first half (a contiguous copy: the narrower rows a core reads in
    a feature split, at their cheapest)."""
    from linclass.kernels import fused

    order = rng.permutation(X.shape[0]).astype(np.int64)
    ys = labels[order]
    steps = X.shape[0] // batch
    b, weight = np.zeros(N_CLASSES, np.float32), np.ones(N_CLASSES)
    db, targets = np.zeros_like(b), np.zeros((0, N_CLASSES), np.float32)
    seconds = []
    for width in (X.shape[1], -(-X.shape[1] // 2)):
        Xw = X if width == X.shape[1] else np.ascontiguousarray(X[:, :width])
        Wt = rng.normal(scale=1e-3, size=(N_CLASSES, width)).astype(np.float32)
        dWt = np.zeros_like(Wt)
        step = [0]

        def gradient(Xw=Xw, Wt=Wt, dWt=dWt, step=step) -> None:
            start = step[0] * batch
            step[0] = (step[0] + 1) % steps
            fused.loss_rows(Xw, order, ys, targets, Wt, b, weight, 0, True, start, start + batch, dWt, db)

        gradient()
        seconds.append(_per_call(gradient, repeats))
    return seconds[0], seconds[1]


def _exchange_kernels():
    """The two sides of :func:`measure_exchange`, compiled on first use."""
    import numba

    from linclass.kernels import atomics

    flag, done = 0, 8  # words on their own cache lines

    # reassociated, so the sums that read the arrays run in vector lanes, not one long chain
    @numba.njit(nogil=True, fastmath={"reassoc"})
    def caller(ctl, Wt, dWt, first, steps):
        total = 0.0
        for step in range(first, first + steps):
            for c in range(Wt.shape[0]):
                for j in range(Wt.shape[1]):
                    Wt[c, j] = step  # the step's new weights
            atomics.store(ctl, flag, step)
            while atomics.load(ctl, done) < step:
                pass
            for c in range(dWt.shape[0]):
                for j in range(dWt.shape[1]):
                    total += dWt[c, j]  # the helper's partial gradient
        return total

    @numba.njit(nogil=True, fastmath={"reassoc"})
    def helper(ctl, Wt, dWt):
        seen = 0
        while True:
            step = atomics.load(ctl, flag)
            if step < 0:
                return
            if step != seen:
                seen = step
                total = 0.0
                for c in range(Wt.shape[0]):
                    for j in range(Wt.shape[1]):
                        total += Wt[c, j]
                for c in range(dWt.shape[0]):
                    for j in range(dWt.shape[1]):
                        dWt[c, j] = total
                atomics.store(ctl, done, step)

    return caller, helper, flag


def measure_exchange(n_features: int, n_classes: int, steps: int = 2000) -> float:
    """Best seconds per step of the two-core exchange described in the module docstring."""
    from linclass.kernels.vectors import aligned_zeros

    caller, helper, flag = _exchange_kernels()
    ctl = np.zeros(16, np.int64)
    Wt, dWt = (aligned_zeros((n_classes, n_features), np.float32) for _ in range(2))
    running = spinning(helper, ctl, Wt, dWt)
    try:
        caller(ctl, Wt, dWt, 1, 100)  # compiled, and the helper spinning
        first, best = 101, float("inf")
        for _ in range(5):
            start = time.perf_counter()
            caller(ctl, Wt, dWt, first, steps)
            best = min(best, (time.perf_counter() - start) / steps)
            first += steps
    finally:
        ctl[flag] = -1
        running.join()
    return best


def spinning(helper, *args) -> threading.Thread:
    """``helper(*args)`` started on a thread of its own (not a pool's, where it could wait behind
    other work while the caller spins for it)."""
    thread = threading.Thread(target=helper, args=args, daemon=True)
    thread.start()
    return thread


def _per_row_cost(X: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict:
    """The fused gradient's seconds per row as ``a + b D``, from its time at the full width and at 1/8."""
    from linclass.kernels import fused

    n = min(X.shape[0], 8192)
    seconds = {}
    b, weight = np.zeros(N_CLASSES, np.float32), np.ones(N_CLASSES)
    db, targets = np.zeros_like(b), np.zeros((0, N_CLASSES), np.float32)
    for width in (X.shape[1] // 8, X.shape[1]):
        Xw = np.ascontiguousarray(X[:n, :width])
        Wt = rng.normal(scale=1e-3, size=(N_CLASSES, width)).astype(np.float32)
        dWt = np.zeros_like(Wt)

        def gradient(Xw=Xw, Wt=Wt, dWt=dWt) -> None:
            fused.loss_rows(Xw, fused.NO_ROWS, labels, targets, Wt, b, weight, 0, True, 0, n, dWt, db)

        gradient()
        seconds[width] = _per_call(gradient, 3) / n
    narrow, wide = sorted(seconds)
    per_feature = (seconds[wide] - seconds[narrow]) / (wide - narrow)
    return {"per row s": seconds[wide] - per_feature * wide, "per feature s": per_feature, "width": wide}


def floors_table(result: dict, flops: float) -> str:
    """Markdown: per batch, microseconds of each floor and its multiple of the step's limit."""
    from benchmarks.report import table

    n, d = result["shape"]
    body = []
    for row in result["rows"]:
        limit = 4 * row["batch"] * d * N_CLASSES / flops
        cells = [f"{row['batch']:,}" + (" (full batch)" if row["batch"] == n else ""), limit * 1e6]
        for key in ("blas one thread", "blas all threads", "fused one thread", "fused fresh one thread",
                    "fused fresh half one thread"):  # fmt: skip
            seconds = row.get(key, float("nan"))
            cells += [seconds * 1e6, seconds / limit]
        body.append(cells)
    note = ""
    if "per row" in result:
        cost = result["per row"]
        fixed = cost["per row s"] / (cost["per row s"] + cost["per feature s"] * cost["width"])
        note = (
            f"The fused gradient costs {cost['per row s'] * 1e9:.0f} ns per row (loss, argmax, the sums of "
            f"the score accumulators) plus {cost['per feature s'] * 1e12:.0f} ps per feature (one thread, "
            f"from its time at D = {cost['width'] // 8} and {cost['width']}): at D = {cost['width']} the "
            f"part per row is {100 * fixed:.0f} % of the gradient.\n\n"
        )
    return note + table(
        [
            "rows per step",
            "limit µs",
            "BLAS pair, 1 thread µs",
            "× limit",
            "BLAS pair, all threads µs",
            "× limit",
            "fused gradient, cached rows µs",
            "× limit",
            "fresh rows µs",
            "× limit",
            f"fresh rows, {-(-d // 2)} columns µs",
            "× limit",
        ],
        body,
    )
