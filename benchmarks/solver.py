"""The exact full-batch solver against scikit-learn's L-BFGS: time to the same optimum.

Fashion-MNIST pixels / 255 (60,000 x 784; 10,000 rows with ``--quick``), softmax with L2 at
``C = 1`` (``alpha = 1 / (2 C N)``, the objective scikit-learn's ``LogisticRegression``
minimizes). Every run records its objective after each iteration; the reference is the lowest
final objective of all runs (the tightly converged linclass run, ``tol = 1e-9``), and each
run's *time to 1e-6* is when its objective first came within 1e-6 relative of it.
scikit-learn's trajectory is read from its own L-BFGS-B through a callback added to the
``scipy.optimize.minimize`` call it makes (nothing else about the fit changes).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from benchmarks import data

RELATIVE_GAP = 1e-6
C = 1.0


def _sklearn_run(X, y, max_iter: int) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    from benchmarks.budget import scipy_deadline

    trace: list = []
    clock = time.perf_counter()
    with scipy_deadline(float("inf"), trace), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=C, max_iter=max_iter, tol=1e-6).fit(X, y)
    seconds = time.perf_counter() - clock
    params = (model.coef_.T.copy(), model.intercept_.copy())
    return {"trace": trace, "seconds": seconds, "n_iter": int(model.n_iter_[0]), "passes": None,
            "params": params, "converged": int(model.n_iter_[0]) < max_iter}


def _linclass_run(X, y, objective, precondition: str, max_iter: int, tol: float) -> dict:
    from linclass.optim import solve

    trace: list = []
    clock = time.perf_counter()
    result = solve(objective, X, y, tol=tol, max_iter=max_iter, memory=50, precondition=precondition,
                   callback=lambda k, value, params: trace.append((time.perf_counter() - clock, value)))
    return {"trace": trace, "seconds": result.seconds, "n_iter": result.n_iter, "passes": result.n_passes,
            "params": result.params, "converged": result.converged}


def solver_suite(quick: bool) -> dict:
    """Runs of each solver on the same problem; see the module docstring."""
    from linclass.objective import Objective

    X_train, y_train, _, _ = data.load("fashion", quick=quick)
    X = X_train.astype(np.float64) / 255.0
    X32 = X.astype(np.float32)
    y = y_train.astype(np.int64)
    objective = Objective("softmax", penalty="l2", alpha=1.0 / (2.0 * C * len(y)))
    budget, cap = (100, 0.2) if quick else (1000, 1.0)
    runs = {
        "linclass L-BFGS, whitened + per-class scales (auto), float64": _linclass_run(
            X, y, objective, "auto", int(2000 * cap), 1e-9),
        "linclass L-BFGS, whitened + per-class scales (auto), float32": _linclass_run(
            X32, y, objective, "auto", int(1500 * cap), 1e-9),
        "linclass L-BFGS, diagonal scales, float64": _linclass_run(
            X, y, objective, "diagonal", int(600 * cap), 1e-9),
        "linclass L-BFGS, raw parameters, float64": _linclass_run(
            X, y, objective, "none", int(300 * cap), 1e-9),
        f"scikit-learn LogisticRegression(lbfgs), max_iter={budget}": _sklearn_run(X, y, budget),
    }
    finals = {name: objective.value(tuple(np.asarray(p, np.float64) for p in run["params"]), X, y)
              for name, run in runs.items()}
    reference = min(finals.values())
    target = reference * (1 + RELATIVE_GAP)
    rows = []
    for name, run in runs.items():
        reached = next((t for t, value in run["trace"] if value <= target), None)
        rows.append({
            "solver": name, "iterations": run["n_iter"], "passes": run["passes"], "seconds": run["seconds"],
            "final gap": (finals[name] - reference) / reference, "time to 1e-6": reached,
            "converged": run["converged"],
        })
    return {"rows": rows, "reference": reference, "n_samples": len(y), "budget": budget}


def solver_section(results: dict) -> str:
    from benchmarks.report import table

    sklearn_row = results["rows"][-1]
    baseline = sklearn_row["time to 1e-6"] or sklearn_row["seconds"]
    lines = []
    for row in results["rows"]:
        reached = row["time to 1e-6"]
        lines.append([
            row["solver"], row["iterations"], "-" if row["passes"] is None else row["passes"],
            f"{row['seconds']:.1f}", f"{row['final gap']:.1e}",
            "never" if reached is None else f"{reached:.1f}",
            "-" if reached is None else f"{baseline / reached:.1f}x",
        ])
    header = ["solver", "iterations", "passes", "seconds", "final gap", "s to 1e-6", "speed-up"]
    note = (f"\n\nReference objective {results['reference']:.10f} ({results['n_samples']} rows); speed-up = "
            "scikit-learn's time to 1e-6 (its whole run when it never gets there) / the row's time to 1e-6.")
    return table(header, lines) + note


def solver_target(results: dict) -> list:
    rows = results["rows"]
    ours = rows[0]
    sklearn_row = rows[-1]
    baseline = sklearn_row["time to 1e-6"] or sklearn_row["seconds"]
    reached = ours["time to 1e-6"]
    speedup = 0.0 if reached is None else baseline / reached
    return ["6. exact solver, Fashion-MNIST C = 1",
            "within 1e-6 of the optimum >= 30x sooner than scikit-learn",
            f"{speedup:.1f}x ({reached if reached is None else round(reached, 1)} s vs {baseline:.1f} s)",
            speedup >= 30]
