"""Floors of a full-batch pass over Fashion-MNIST (60,000 x 784), on all threads, measured in the run.

For the data stored as uint8 and as float32, in one Numba ``prange`` over row parts (one per
thread, both cores):

- **read**: every element widened to float32 and added into a per-part vector of D sums (the
  data read once, one add per element: what the memory system allows for this array);
- **read + scores**: every row's 10 dot products with ``W (C, D)`` (the read and the forward
  product, ``2 N D C`` flops: half of a value and gradient's arithmetic, none of its loss or
  backward product).

The defaults suite sets the full-batch value and gradient beside them, so a miss of the
limit can be told apart from a kernel that is slower than its own data's read.
"""

from __future__ import annotations

import numpy as np

from benchmarks import data, machine

N_CLASSES = 10


def _kernels():
    import numba

    @numba.njit(parallel=True, fastmath=True)
    def read(X, parts):
        n, d = X.shape
        sums = np.zeros((parts, d), np.float32)
        step = -(-n // parts)
        for part in numba.prange(parts):
            acc = sums[part]
            for i in range(part * step, min(n, (part + 1) * step)):
                for j in range(d):
                    acc[j] += np.float32(X[i, j])
        return sums.sum()

    @numba.njit(parallel=True, fastmath=True)
    def scores(X, Wt, parts):
        n, d = X.shape
        sums = np.zeros(parts, np.float32)
        step = -(-n // parts)
        for part in numba.prange(parts):
            total = np.float32(0)
            for i in range(part * step, min(n, (part + 1) * step)):
                for c in range(Wt.shape[0]):
                    s = np.float32(0)
                    for j in range(d):
                        s += np.float32(X[i, j]) * Wt[c, j]
                    total += s
            sums[part] = total
        return sums.sum()

    return read, scores


def measure_pass_floors(quick: bool) -> dict:
    """Best seconds of the read and read + scores passes per stored dtype, on all threads."""
    import numba

    read, scores = _kernels()
    X, _, _, _ = data.load("fashion", quick=quick)
    Wt = np.random.default_rng(0).normal(scale=1e-3, size=(N_CLASSES, X.shape[1])).astype(np.float32)
    parts = numba.get_num_threads()
    rows = []
    for stored in ("uint8", "float32"):
        X_stored = X if stored == "uint8" else X.astype(np.float32)
        read(X_stored[:64], parts), scores(X_stored[:64], Wt, parts)  # compile
        rows.append(
            {
                "stored": stored,
                "bytes": int(X_stored.nbytes),
                "read": machine.best_time(lambda Xs=X_stored: read(Xs, parts), 5, 0.5),
                "scores": machine.best_time(lambda Xs=X_stored: scores(Xs, Wt, parts), 5, 0.5),
            }
        )
    return {"rows": rows, "threads": parts, "shape": list(X.shape)}


def pass_floors_table(floors: dict, full_batch: list[dict]) -> str:
    """Markdown: per stored dtype, the passes' milliseconds, the read's GB/s, and the value and
    gradient as a multiple of each floor."""
    from benchmarks.report import table

    seconds = {row["stored"]: row["seconds"] for row in full_batch}
    body = []
    for row in floors["rows"]:
        full = seconds.get(row["stored"], float("nan"))
        body.append([row["stored"], row["read"] * 1e3, row["bytes"] / row["read"] / 1e9, row["scores"] * 1e3,
                     full * 1e3, full / row["read"], full / row["scores"]])  # fmt: skip
    return table(
        ["X stored", "read ms", "read GB/s", "read + scores ms", "value + gradient ms", "÷ read",
         "÷ read + scores"],
        body,
    )  # fmt: skip
