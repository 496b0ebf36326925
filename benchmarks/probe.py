"""Linear probes against scikit-learn and PyTorch: the issue's three targets, side by side.

Three parts on the problems of :mod:`benchmarks.problems` (``--quick``: 10,000 Fashion-MNIST
rows, a 2,000-row cross-validation and a 10,000-row probe):

1. **One C**: linclass's solver (``tol = 1e-9``; float64, and ``mixed=True``: float32 passes
   with a float64 finish), ``torch.optim.LBFGS`` (history 50, strong Wolfe, float64, a wall
   budget) and scikit-learn's ``LogisticRegression(lbfgs, tol=1e-6, max_iter=1000)``. Each
   linclass run records its point after every iteration; the objective there is evaluated
   afterwards in float64 on the float64 data (outside the clocks). The reference is the lowest
   final objective of all runs; *to 1e-6* is when a run first came within 1e-6 relative of it.
2. **Cross-validation**: ``LinearClassifierCV(Cs=10, cv=5)`` against ``LogisticRegressionCV``
   (the same grid ``np.logspace(-4, 4, 10)``, the same unshuffled stratified folds, tol 1e-4,
   max_iter 1000 in both).
3. **CLIP-style probe**: :func:`linclass.app.probe.probe` against the same protocol
   (:func:`linclass.app.probe.clip_search`, tol 1e-4, max_iter 1000) with a
   ``LogisticRegression`` fit per ``C``.

scikit-learn runs one-threaded under a CPU-time budget (:mod:`benchmarks.probe_reference`; its
result file is read when present, else it runs here); a run stopped by its budget gives a lower
bound (≥). linclass and torch run on one thread too (:func:`one_thread_each`) and are timed in
wall and in process CPU seconds; **speed-ups are CPU seconds against CPU seconds** (the same work
counted alike, as load leaves CPU time nearly unchanged), with wall-time ratios beside them.
"""

from __future__ import annotations

import contextlib
import json
import time

import numpy as np

from benchmarks import probe_reference, problems

RELATIVE_GAP = 1e-6
QUICK = {"one-c": 10_000, "cv": 2_000, "clip": 10_000}


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - start[0], cpu - start[1]


def reference(part: str, quick: bool, budget: float) -> dict:
    """scikit-learn's run of ``part``: its result file when it matches the size, else run now."""
    path = probe_reference.RESULTS / f"reference-{part}.json"
    rows = (
        QUICK[part] if quick else {"one-c": 60_000, "cv": problems.CV_ROWS, "clip": problems.CLIP_ROWS}[part]
    )
    if path.is_file():
        found = json.loads(path.read_text())
        if found.get("n_samples") == rows:
            return found
    partial = probe_reference.RESULTS / f"reference-{part}.partial.json"
    if partial.is_file():  # a run stopped from outside: a lower bound, the fits it completed
        found = json.loads(partial.read_text())
        if found.get("n_samples") == rows and found["fits"]:
            return {**found, "cpu_seconds": found["fits"][-1]["cpu_seconds"], "stopped": True, "C": None}
    if part == "one-c":
        return probe_reference.one_c(budget, quick)
    return getattr(probe_reference, part)(budget, rows)


def _linclass_one_c(X, y, objective, mixed: bool) -> dict:
    from linclass.optim import solve

    points: list = []
    start = _clocks()

    def record(n_iter, value, params) -> None:
        points.append((*_since(start), tuple(np.array(p) for p in params)))

    result = solve(objective, X, y, tol=1e-9, max_iter=1000, mixed=mixed, callback=record)
    wall, cpu = _since(start)
    return {
        "points": points,
        "seconds": wall,
        "cpu_seconds": cpu,
        "n_iter": result.n_iter,
        "passes": result.n_passes,
        "single_passes": result.single_passes,
        "params": result.params,
    }


def _torch_lbfgs(X, y, alpha: float, budget: float, max_iter: int = 1000) -> dict:
    """``torch.optim.LBFGS`` (history 50, strong Wolfe) on ``mean CE + alpha ||W||²``, full batch."""
    import torch

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    W = torch.zeros(X.shape[1], int(y.max()) + 1, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(W.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [W, b],
        lr=1,
        max_iter=1,
        history_size=50,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-9,
        tolerance_change=1e-15,
    )
    evaluations = [0]

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(Xt @ W + b, yt) + alpha * (W * W).sum()
        loss.backward()
        evaluations[0] += 1
        return loss

    trace, start = [], _clocks()
    for _ in range(max_iter):
        value = float(optimizer.step(closure).detach())
        trace.append((*_since(start), value))
        if trace[-1][0] > budget:
            break
    wall, cpu = _since(start)
    return {
        "trace": trace,
        "seconds": wall,
        "cpu_seconds": cpu,
        "n_iter": len(trace),
        "passes": evaluations[0],
        "params": (W.detach().numpy().copy(), b.detach().numpy().copy()),
        "stopped": len(trace) < max_iter and wall > budget,
    }


def _first_within(points, value_at, target: float):
    """``(wall, cpu, iteration)`` of the first point whose float64 objective is at most ``target`` (binary
    search: the objective only decreases along an L-BFGS run), or None."""
    lo, hi = 0, len(points)
    while lo < hi:
        mid = (lo + hi) // 2
        if value_at(points[mid][2]) <= target:
            hi = mid
        else:
            lo = mid + 1
    return None if lo == len(points) else (*points[lo][:2], lo + 1)


def one_c(quick: bool, budget: float = 1500.0, torch_budget: float | None = None) -> dict:
    """Part 1; ``budget``: scikit-learn's CPU seconds; ``torch_budget``: torch's wall seconds."""
    X, y, X_test, y_test, objective = problems.fashion_one_c(quick)

    def value_at(params) -> float:
        return objective.value(tuple(np.asarray(p, np.float64) for p in params), X, y)

    ours = {
        "linclass, mixed (float32 passes, float64 finish)": _linclass_one_c(X, y, objective, True),
        "linclass, float64": _linclass_one_c(X, y, objective, False),
    }
    torch_run = _torch_lbfgs(X, y, objective.alpha, torch_budget or (60.0 if quick else 300.0))
    theirs = reference("one-c", quick, budget)
    finals = {name: value_at(run["params"]) for name, run in ours.items()}
    finals["torch"] = value_at(torch_run["params"])
    best = min(min(finals.values()), theirs["final"])
    target = best * (1 + RELATIVE_GAP)
    sk_reached = next((t for t, value in theirs["trace"] if value <= target), None)
    sk_time = sk_reached if sk_reached is not None else theirs["cpu_seconds"]
    rows = []
    for name, run in ours.items():
        reached = _first_within(run["points"], value_at, target)
        rows.append(
            {
                "solver": name,
                "iterations": run["n_iter"],
                "passes": run["passes"],
                "single_passes": run["single_passes"],
                "seconds": run["seconds"],
                "cpu_seconds": run["cpu_seconds"],
                "gap": (finals[name] - best) / best,
                "to 1e-6": reached,
                "stopped": False,
                "test accuracy": problems.accuracy(run["params"], X_test, y_test),
            }
        )
    torch_reached = next((t[:2] for t in torch_run["trace"] if t[2] <= target), None)
    rows.append(
        {
            "solver": "torch.optim.LBFGS (history 50, strong Wolfe)",
            "iterations": torch_run["n_iter"],
            "passes": torch_run["passes"],
            "seconds": torch_run["seconds"],
            "cpu_seconds": torch_run["cpu_seconds"],
            "gap": (finals["torch"] - best) / best,
            "to 1e-6": torch_reached,
            "stopped": torch_run["stopped"],
            "test accuracy": problems.accuracy(torch_run["params"], X_test, y_test),
        }
    )
    rows.append(
        {
            "solver": "scikit-learn LogisticRegression(lbfgs, tol=1e-6), 1 thread",
            "iterations": theirs["n_iter"],
            "passes": None,
            "seconds": None,
            "cpu_seconds": theirs["cpu_seconds"],
            "gap": (theirs["final"] - best) / best,
            "to 1e-6": None if sk_reached is None else (None, sk_reached),
            "stopped": theirs["stopped"],
            "test accuracy": theirs["test accuracy"],
        }
    )
    return {
        "rows": rows,
        "n_samples": len(y),
        "reference": best,
        "sklearn_seconds": sk_time,
        "sklearn_reached": sk_reached is not None,
        "sklearn_stopped": theirs["stopped"],
    }


def cross_validation(quick: bool, budget: float | None = 1200.0) -> dict:
    """Part 2; ``budget``: scikit-learn's CPU seconds (None: linclass alone)."""
    from linclass import LinearClassifierCV

    rows = QUICK["cv"] if quick else problems.CV_ROWS
    X, y, X_test, y_test = problems.fashion_cv(rows)
    ours = {}
    for dtype in ("float64", "float32"):  # float32: the same grid and tol in single precision
        start = _clocks()
        model = LinearClassifierCV(Cs=10, cv=5, tol=1e-4, max_iter=1000, dtype=dtype).fit(X, y)
        wall, cpu = _since(start)
        ours[dtype] = {
            "seconds": wall,
            "cpu_seconds": cpu,
            "C": model.C_,
            "iterations": int(model.n_iter_.sum() + model.refit_n_iter_),
            "test accuracy": model.score(X_test, y_test),
        }
    return {
        "n_samples": rows,
        "theirs": None if budget is None else reference("cv", quick, budget),
        "ours": ours,
    }


def clip_probe(quick: bool, budget: float | None = 2400.0) -> dict:
    """Part 3; ``budget``: scikit-learn's CPU seconds (None: linclass alone)."""
    from linclass.app.probe import probe

    n = QUICK["clip"] if quick else problems.CLIP_ROWS
    X, y, X_test, y_test = problems.clip_data(n)
    start = _clocks()
    report = probe((X, y), (X_test, y_test))
    wall, cpu = _since(start)
    return {
        "n_samples": n,
        "ours": {**report.as_dict(), "wall": wall, "cpu_seconds": cpu},
        "theirs": None if budget is None else reference("clip", quick, budget),
    }


def probe_suite(quick: bool) -> dict:
    """All three parts, every contender on one thread (see :func:`one_thread_each`)."""
    with one_thread_each():
        return {
            "one C": one_c(quick),
            "cross-validation": cross_validation(quick),
            "CLIP probe": clip_probe(quick),
        }


@contextlib.contextmanager
def one_thread_each():
    """linclass's kernels, BLAS and torch on one thread, as the scikit-learn references run:
    CPU seconds then count the same work alike (two threads waiting for a core on a loaded
    machine count their spinning too)."""
    import torch

    from linclass.kernels.threads import limit_threads

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with limit_threads(1):
            yield
    finally:
        torch.set_num_threads(previous)
