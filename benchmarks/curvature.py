"""Passes over the data to the optimum for better-conditioned methods than the solver's L-BFGS.

``python -m benchmarks.curvature [--rows N] [--methods NAME,...]`` on Fashion-MNIST pixels / 255
at ``C = 1`` (softmax + L2, ``alpha = 1 / (2 N)``, float64), printing for each method the passes,
their floating-point cost in passes and the CPU seconds until the objective is within 1e-6
relative of the optimum. The methods lost to :func:`linclass.optim.solve` (see README,
Performance), so they live here, as the measurement, and not in ``linclass.optim``:

- ``solve``: linclass's L-BFGS in whitened coordinates with per-class diagonal scales (the baseline);
- ``block-lbfgs``: L-BFGS with the initial inverse Hessian ``M⁻¹``, ``M`` block diagonal with per-class
  blocks ``H_c = X̃ᵀ diag(p_c (1 - p_c)) X̃ / n + 2 alpha I`` on a row sample (``X̃ = [X, 1]``),
  Cholesky-factored, refitted at the current point every ``refit`` iterations;
- ``newton-cg``: truncated Newton (conjugate gradients to a relative residual
  ``min(0.5, sqrt(|g| / |g0|))``, then a backtracking line search), preconditioned by the
  whitening (``M`` at zero scores) or by the block Hessian refitted every Newton step,
  Hessian-vector products over all rows or over the row sample.

Pass accounting: a value and gradient, or a Hessian-vector product, over all ``N`` rows is one pass;
over the ``n``-row sample ``n / N``; fitting the block preconditioner reads the sample once (``n / N``)
but costs ``C`` Gram matrices of ``(D+1)²``, ``(D + 1) / 2`` passes' worth of multiply-adds per
sample pass: ``flop passes`` counts that.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import scipy.linalg

SAMPLE_ROWS = 10_000
TARGET = 1e-6
FASHION_OPTIMUM = 0.3498928057  # C = 1 on all 60,000 rows, the probe benchmark's reference


class Softmax:
    """``f(T) = mean_i CE(x̃_i T, y_i) + alpha ||W||²`` with ``T = [W; b]`` ``(D+1, C)``, counting passes."""

    def __init__(self, X: np.ndarray, y: np.ndarray, alpha: float, sample_rows: int = SAMPLE_ROWS) -> None:
        self.N, self.D = X.shape
        self.C = int(y.max()) + 1
        self.X = np.hstack([np.asarray(X, np.float64), np.ones((self.N, 1))])
        self.y, self.alpha = y, alpha
        self.onehot = np.eye(self.C)[y]
        self.pen = np.ones((self.D + 1, 1))
        self.pen[-1] = 0.0
        picked = np.unique(np.linspace(0, self.N - 1, min(self.N, sample_rows)).round().astype(np.intp))
        self.sample = self.X[picked]
        self.fraction = len(picked) / self.N
        self.passes = self.flop_passes = 0.0

    def _probabilities(self, X: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        S = X @ T
        S -= S.max(axis=1, keepdims=True)
        E = np.exp(S)
        Z = E.sum(axis=1, keepdims=True)
        return S, E / Z

    def value_grad(self, T: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Value, gradient ``(D+1, C)`` and the probabilities ``(N, C)`` (one pass)."""
        self._count(1.0)
        P = self._probabilities(self.X, T)[1]
        return self.value(T), self.X.T @ (P - self.onehot) / self.N + 2.0 * self.alpha * T * self.pen, P

    def value(self, T: np.ndarray) -> float:
        """The objective alone (not counted: the evaluation of another solver's points)."""
        S = self._probabilities(self.X, T)[0]
        loss = np.log(np.exp(S).sum(axis=1)) - S[np.arange(self.N), self.y]
        return float(loss.mean()) + self.alpha * float(np.sum((T * self.pen) ** 2))

    def sample_probabilities(self, T: np.ndarray) -> np.ndarray:
        """The probabilities on the sample rows (a sample pass)."""
        self._count(self.fraction)
        return self._probabilities(self.sample, T)[1]

    def hessian_times(self, V: np.ndarray, P: np.ndarray, sampled: bool = False) -> np.ndarray:
        """``H V = X̃ᵀ (P ⊙ (X̃V - rowsum(P ⊙ X̃V))) / n + 2 alpha V`` on all rows or the sample
        (``P`` the probabilities on those rows)."""
        X = self.sample if sampled else self.X
        self._count(self.fraction if sampled else 1.0)
        S = X @ V
        R = P * (S - (P * S).sum(axis=1, keepdims=True))
        return X.T @ R / X.shape[0] + 2.0 * self.alpha * V * self.pen

    def block(self, T: np.ndarray | None) -> list:
        """Cholesky factors of the per-class blocks ``H_c`` at ``T`` (None: zero scores, one shared block)."""
        n = self.sample.shape[0]
        ridge = 2.0 * self.alpha * self.pen[:, 0] + 1e-10
        if T is None:
            self._count(self.fraction, (self.D + 1) / (2.0 * self.C))
            H = self.sample.T @ self.sample * (1.0 / self.C) * (1.0 - 1.0 / self.C) / n
            H[np.diag_indices_from(H)] += ridge
            return [scipy.linalg.cho_factor(H, lower=True)] * self.C
        P = self.sample_probabilities(T)
        self.flop_passes += self.fraction * ((self.D + 1) / 2.0 - 1.0)
        weights, factors = P * (1.0 - P), []
        for c in range(self.C):
            H = (self.sample * weights[:, c:c + 1]).T @ self.sample / n
            H[np.diag_indices_from(H)] += ridge
            factors.append(scipy.linalg.cho_factor(H, lower=True))
        return factors

    def _count(self, passes: float, flop_factor: float = 1.0) -> None:
        self.passes += passes
        self.flop_passes += passes * flop_factor


def solve_blocks(factors: list, G: np.ndarray) -> np.ndarray:
    """``M⁻¹ G``, column ``c`` through block ``c``."""
    return np.column_stack([scipy.linalg.cho_solve(factors[c], G[:, c]) for c in range(G.shape[1])])


def _backtrack(problem: Softmax, T, value, G, d):
    """Armijo backtracking from the unit step: ``(step, value, gradient, P)`` at ``T + step d``."""
    slope, step = float(np.sum(G * d)), 1.0
    while True:
        new_value, new_G, P = problem.value_grad(T + step * d)
        if new_value <= value + 1e-4 * step * slope or step < 1e-10:
            return step, new_value, new_G, P
        step *= 0.5


def block_lbfgs(problem: Softmax, max_iter: int, refit: int = 10, memory: int = 50, trace=None) -> np.ndarray:
    """L-BFGS whose two-loop recursion starts from ``gamma M⁻¹`` (block preconditioner, refitted)."""
    T = np.zeros((problem.D + 1, problem.C))
    factors = problem.block(None)
    value, G, _ = problem.value_grad(T)
    _record(trace, problem, value)
    pairs: list = []
    for k in range(max_iter):
        if k and k % refit == 0:
            factors = problem.block(T)
        q, coefficients = G.copy(), []
        for s, yv in reversed(pairs):
            rho = 1.0 / np.sum(s * yv)
            a = rho * np.sum(s * q)
            coefficients.append((a, rho))
            q -= a * yv
        r = solve_blocks(factors, q)
        if pairs:
            s, yv = pairs[-1]
            r *= np.sum(s * yv) / np.sum(yv * solve_blocks(factors, yv))
        for (s, yv), (a, rho) in zip(pairs, reversed(coefficients), strict=True):
            r += s * (a - rho * np.sum(yv * r))
        step, value_new, G_new, _ = _backtrack(problem, T, value, G, -r)
        s, yv = -step * r, G_new - G
        if np.sum(s * yv) > 1e-12 * np.sum(yv * yv):
            pairs = (pairs + [(s, yv)])[-memory:]
        T, value, G = T + s, value_new, G_new
        _record(trace, problem, value)
        if np.abs(G).max() < 1e-11:
            break
    return T


def newton_cg(problem: Softmax, max_iter: int, precondition: str = "whiten", sampled: bool = False,
              max_cg: int = 100, trace=None) -> np.ndarray:
    """Truncated Newton, preconditioned conjugate gradients on ``H d = -g``, then backtracking."""
    T = np.zeros((problem.D + 1, problem.C))
    factors = problem.block(None)
    value, G, P = problem.value_grad(T)
    _record(trace, problem, value)
    first = math.sqrt(np.sum(G * G))
    for _ in range(max_iter):
        if precondition == "block":
            factors = problem.block(T)
        P_hessian = problem.sample_probabilities(T) if sampled else P
        norm = math.sqrt(np.sum(G * G))
        tolerance = min(0.5, math.sqrt(norm / first)) * norm
        d, r = np.zeros_like(G), -G
        z = solve_blocks(factors, r)
        p, rz = z, np.sum(r * z)
        for _ in range(max_cg):
            Hp = problem.hessian_times(p, P_hessian, sampled)
            a = rz / np.sum(p * Hp)
            d, r = d + a * p, r - a * Hp
            if math.sqrt(np.sum(r * r)) <= tolerance:
                break
            z = solve_blocks(factors, r)
            rz, rz_old = np.sum(r * z), rz
            p = z + (rz / rz_old) * p
        step, value, G, P = _backtrack(problem, T, value, G, d)
        T = T + step * d
        _record(trace, problem, value)
        if np.abs(G).max() < 1e-11:
            break
    return T


def _record(trace, problem: Softmax, value: float) -> None:
    if trace is not None:
        trace.append((problem.passes, problem.flop_passes, value, time.process_time()))


def linclass_solve(X: np.ndarray, y: np.ndarray, alpha: float, mixed: bool, max_iter: int,
                   trace: list) -> None:
    """:func:`linclass.optim.solve` (tol 1e-9), each iteration's passes counted, its value in float64."""
    from linclass.objective import Objective
    from linclass.optim import solve

    passes = [0]

    class Counted(Objective):
        def data_batch(self, params, X, y):  # every pass, the solver's and batch's
            passes[0] += 1
            return super().data_batch(params, X, y)

    points = []
    solve(Counted("softmax", penalty="l2", alpha=alpha), X, y, tol=1e-9, max_iter=max_iter, mixed=mixed,
          callback=lambda n, v, params: points.append((passes[0], time.process_time(),
                                                         tuple(np.array(p, np.float64) for p in params))))
    problem = Softmax(X, y, alpha, sample_rows=1)
    for count, cpu, (W, b) in points:
        trace.append((float(count), float(count), problem.value(np.vstack([W, b[None]])), cpu))


METHODS = {  # name: (function, keyword arguments); newton-cg's iterations are Newton steps
    "solve (mixed)": (linclass_solve, {"mixed": True}),
    "solve (float64)": (linclass_solve, {"mixed": False}),
    "block-lbfgs (refit 10)": (block_lbfgs, {"refit": 10}),
    "block-lbfgs (refit 20)": (block_lbfgs, {"refit": 20}),
    "newton-cg (whiten)": (newton_cg, {}),
    "newton-cg (whiten; sampled Hv)": (newton_cg, {"sampled": True}),
    "newton-cg (block)": (newton_cg, {"precondition": "block"}),
}


def run(name: str, X: np.ndarray, y: np.ndarray, alpha: float, max_iter: int, trace: list) -> None:
    """Run method ``name`` for at most ``max_iter`` iterations (a tenth as many Newton steps)."""
    function, options = METHODS[name]
    if function is linclass_solve:
        linclass_solve(X, y, alpha, max_iter=max_iter, trace=trace, **options)
    else:
        steps = max_iter // 10 if function is newton_cg else max_iter
        function(Softmax(X, y, alpha), steps, trace=trace, **options)


def compare(X: np.ndarray, y: np.ndarray, names, max_iter: int = 1000,
            optimum: float | None = None) -> list[dict]:
    """One row per method: passes, flop passes and CPU seconds to within :data:`TARGET` of the optimum
    (``optimum``, else the lowest value any method reached) and the lowest value reached."""
    alpha = 1.0 / (2.0 * len(y))
    traces = {}
    for name in names:
        trace: list = []
        start = time.process_time()
        run(name, X, y, alpha, max_iter, trace)
        traces[name] = [(p, f, v, cpu - start) for p, f, v, cpu in trace]
    best = optimum if optimum is not None else min(v for t in traces.values() for _, _, v, _ in t)
    rows = []
    for name, trace in traces.items():
        hit = next(((p, f, cpu) for p, f, v, cpu in trace if v <= best * (1.0 + TARGET)), None)
        rows.append({"method": name, "passes": hit and hit[0], "flop_passes": hit and hit[1],
                     "cpu_seconds": hit and hit[2], "total_passes": trace[-1][0],
                     "lowest": min(v for _, _, v, _ in trace), "optimum": best})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| method | passes to 1e-6 | flop passes | CPU s | passes run | lowest value |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        reached = r["passes"] is not None
        cells = ([f"{r['passes']:.1f}", f"{r['flop_passes']:.0f}", f"{r['cpu_seconds']:.1f}"] if reached
                 else ["-"] * 3)
        cells += [f"{r['total_passes']:.0f}", f"{r['lowest']:.10f}"]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="Fashion-MNIST rows (a seeded subset)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated: " + ", ".join(METHODS))
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--optimum", type=float, help="the optimum (default: known at 60,000 rows, else the "
                        "lowest value reached)")
    args = parser.parse_args(argv)
    from benchmarks.problems import fashion_one_c

    X, y, _, _, _ = fashion_one_c()
    if args.rows < len(y):
        keep = np.sort(np.random.default_rng(0).choice(len(y), args.rows, replace=False))
        X, y = X[keep], y[keep]
    optimum = args.optimum or (FASHION_OPTIMUM if len(y) == 60_000 else None)
    names = args.methods.split(",")
    if optimum is None:
        print(table(compare(X, y, names, args.max_iter)))
        return
    print(table([]))
    for name in names:  # a row as soon as it is measured
        print(table(compare(X, y, [name], args.max_iter, optimum)).splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
