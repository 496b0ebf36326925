"""The probe benchmark's scikit-learn references, one thread, each under a CPU-time budget.

``python -m benchmarks.probe_reference PART --budget CPU_SECONDS`` runs one reference and
writes ``benchmarks/results/probe/reference-PART.json``; ``python -m benchmarks --only probe``
puts it beside its own runs. A long single-threaded reference runs beside other jobs (under
``nice``), so its time is counted in process CPU seconds, which load does not inflate; a run
stopped by its budget gives a lower bound. Parts (the problems of :mod:`benchmarks.probe`):

- ``one-c``: ``LogisticRegression(C=1, tol=1e-6, max_iter=1000)`` on Fashion-MNIST pixels / 255
  (float64), its objective after every iteration.
- ``cv``: ``LogisticRegressionCV(Cs=10, cv=5, tol=1e-4, max_iter=1000)`` on a stratified subset.
- ``clip``: the probe protocol (:func:`linclass.app.probe.clip_search`) with a
  ``LogisticRegression(C, max_iter=1000)`` fit (scikit-learn's default ``tol=1e-4``) per ``C``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from benchmarks import problems
from benchmarks.budget import one_thread, scipy_deadline

RESULTS = Path(__file__).resolve().parent / "results" / "probe"


def one_c(budget: float, quick: bool = False) -> dict:
    """Time (CPU s) after each iteration, and the final objective evaluated in float64."""
    from sklearn.linear_model import LogisticRegression

    X, y, X_test, y_test, objective = problems.fashion_one_c(quick)
    trace: list = []
    wall = time.perf_counter()
    with one_thread(), scipy_deadline(budget, trace, clock=time.process_time) as stopped:
        model = LogisticRegression(C=1.0, tol=1e-6, max_iter=1000).fit(X, y)
    wall = time.perf_counter() - wall
    params = (model.coef_.T.copy(), model.intercept_.copy())
    return {
        "trace": trace, "cpu_seconds": trace[-1][0] if trace else 0.0, "wall_seconds": wall,
        "n_iter": int(model.n_iter_[0]), "stopped": stopped[0], "n_samples": len(y),
        "final": objective.value(params, X, y), "test accuracy": problems.accuracy(params, X_test, y_test),
    }  # fmt: skip


def cv(budget: float, rows: int) -> dict:
    """``LogisticRegressionCV`` on the stratified subset of :func:`benchmarks.problems.fashion_cv`."""
    from sklearn.linear_model import LogisticRegressionCV

    X, y, X_test, y_test = problems.fashion_cv(rows)
    clock = time.process_time()
    with one_thread(), scipy_deadline(budget, clock=time.process_time) as stopped:
        model = LogisticRegressionCV(Cs=10, cv=5, tol=1e-4, max_iter=1000, l1_ratios=(0,),
                                     use_legacy_attributes=False).fit(X, y)  # fmt: skip
    return {
        "cpu_seconds": time.process_time() - clock, "stopped": stopped[0], "n_samples": len(y),
        "C": float(model.C_), "iterations": int(np.sum(model.n_iter_)),
        "test accuracy": float(model.score(X_test, y_test)),
    }  # fmt: skip


def clip(budget: float, n: int) -> dict:
    """The probe protocol with scikit-learn: each ``C`` a fresh ``LogisticRegression`` fit."""
    from sklearn.linear_model import LogisticRegression

    from linclass.app.probe import clip_search

    X_fit, y_fit, X_val, y_val, X, y = problems.clip_split(n)
    fits: list[dict] = []
    clock = time.process_time()

    def score(exponent: float) -> float:
        if stopped[0]:
            raise TimeoutError
        model = LogisticRegression(C=10.0**exponent, max_iter=1000).fit(X_fit, y_fit)
        fits.append({"C": 10.0**exponent, "accuracy": float(model.score(X_val, y_val)),
                     "iterations": int(model.n_iter_[0]), "cpu_seconds": time.process_time() - clock})
        _write("clip.partial", {"fits": fits, "n_samples": n})  # what a run stopped from outside leaves
        return fits[-1]["accuracy"]

    chosen = None
    with one_thread(), scipy_deadline(budget, clock=time.process_time) as stopped:
        try:
            chosen = clip_search(score)
            LogisticRegression(C=10.0**chosen, max_iter=1000).fit(X, y)  # the refit on train + validation
        except TimeoutError:
            pass
    done = chosen is not None and not stopped[0]
    return {
        "cpu_seconds": time.process_time() - clock, "stopped": not done, "n_samples": n, "fits": fits,
        "C": 10.0**chosen if done else None,
    }  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probe_reference", description=__doc__)
    parser.add_argument("part", choices=["one-c", "cv", "clip"])
    parser.add_argument("--budget", type=float, required=True, help="CPU seconds")
    parser.add_argument("--rows", type=int, default=None, help="cv: 10,000 rows; clip: 50,000")
    parser.add_argument("--quick", action="store_true", help="one-c: 10,000 rows")
    args = parser.parse_args(argv)
    if args.part == "one-c":
        result = one_c(args.budget, args.quick)
    elif args.part == "cv":
        result = cv(args.budget, args.rows or problems.CV_ROWS)
    else:
        result = clip(args.budget, args.rows or problems.CLIP_ROWS)
    result.update(part=args.part, budget=args.budget, threads=1, clock="process CPU time",
                  finished=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))  # fmt: skip
    path = _write(args.part, result)
    print(f"wrote {path}: {result['cpu_seconds']:.0f} CPU s, stopped={result['stopped']}")


def _write(name: str, result: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"reference-{name}.json"
    path.write_text(json.dumps(result, indent=1, default=_plain) + "\n")
    return path


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return None if isinstance(value, float) and math.isnan(value) else value


if __name__ == "__main__":
    main()
