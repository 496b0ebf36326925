"""L-BFGS for full-batch smooth objectives, through ``scipy.optimize.minimize(method="L-BFGS-B")``.

The parameters ``(W, b)`` are flattened into one float64 vector for scipy and unflattened,
in their own dtypes, for every objective evaluation. scipy is imported when ``minimize`` runs,
so ``import linclass`` needs numpy alone.

L-BFGS assumes a gradient that is continuous: the hinge losses and the L1 penalty are
not differentiable everywhere, and :func:`check_smooth` refuses them with a message that
points to ``'sgd'``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from linclass._validation import check_int, check_positive

Params = tuple[np.ndarray, ...]
ValueAndGrad = Callable[[Params], tuple[float, Params]]
IterationCallback = Callable[[Params, float], bool | None]


class LBFGSResult(NamedTuple):
    params: Params
    value: float
    n_iter: int
    n_evaluations: int
    converged: bool
    message: str


def check_smooth(objective) -> None:
    """Raise ValueError unless ``objective`` (a :class:`linclass.objective.Objective`) is smooth."""
    if objective.smooth:
        return
    if not objective.loss.smooth:
        reason = f"loss={objective.loss.name!r} is not differentiable everywhere"
    else:
        reason = f"penalty={objective.penalty.name!r} is not differentiable at 0"
    raise ValueError(f"optimizer='lbfgs' needs a smooth objective; {reason} — use 'sgd'")


@dataclass(frozen=True)
class LBFGS:
    """Limited-memory BFGS with scipy's line search.

    Attributes:
        max_iter: most quasi-Newton iterations.
        tol: stop when the largest gradient component is below ``tol`` (scipy's ``gtol``);
            scipy's relative-decrease test uses ``ftol = 64 * machine epsilon``, as
            scikit-learn's LogisticRegression does.
        memory: number of curvature pairs kept (scipy's ``maxcor``).
    """

    max_iter: int = 100
    tol: float = 1e-4
    memory: int = 10

    def minimize(
        self, fun: ValueAndGrad, params: Params, callback: IterationCallback | None = None
    ) -> LBFGSResult:
        """Minimize ``fun(params) -> (value, grads)`` from ``params``.

        Args:
            fun: objective value and gradients, shaped like ``params``.
            params: the start, a tuple of arrays.
            callback: ``callback(params, value)`` after every iteration; returning False stops.

        Returns:
            the final parameters (in the dtypes of ``params``), value, iteration and evaluation
            counts, whether scipy reported convergence, and its message.
        """
        from scipy.optimize import minimize

        shapes = [p.shape for p in params]
        dtypes = [p.dtype for p in params]
        sizes = [p.size for p in params]
        splits = np.cumsum(sizes)[:-1]

        def unflatten(x: np.ndarray) -> Params:
            return tuple(
                part.reshape(shape).astype(dtype)
                for part, shape, dtype in zip(np.split(x, splits), shapes, dtypes, strict=True)
            )

        n_evaluations = 0

        def flat_fun(x: np.ndarray) -> tuple[float, np.ndarray]:
            nonlocal n_evaluations
            n_evaluations += 1
            value, grads = fun(unflatten(x))
            return float(value), np.concatenate([g.ravel() for g in grads]).astype(np.float64)

        def flat_callback(intermediate_result) -> None:
            if callback is None:
                return
            if callback(unflatten(intermediate_result.x), float(intermediate_result.fun)) is False:
                raise StopIteration

        x0 = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in params])
        result = minimize(
            flat_fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            callback=flat_callback,
            options={
                "maxiter": self.max_iter,
                "maxfun": max(15000, 2 * self.max_iter),
                "gtol": self.tol,
                "ftol": 64 * np.finfo(np.float64).eps,
                "maxcor": self.memory,
            },
        )
        return LBFGSResult(
            unflatten(result.x), float(result.fun), int(result.nit), n_evaluations, bool(result.success),
            str(result.message),
        )


def lbfgs(max_iter: int = 100, tol: float = 1e-4, memory: int = 10) -> LBFGS:
    """An :class:`LBFGS` minimizer with validated settings.

    Example:
        >>> f = lambda p: (float(np.sum((p[0] - 3.0) ** 2)), (2 * (p[0] - 3.0),))
        >>> result = lbfgs(tol=1e-8).minimize(f, (np.zeros(4),))
        >>> np.allclose(result.params[0], 3.0)
        True
    """
    return LBFGS(
        max_iter=check_int(max_iter, "max_iter"),
        tol=check_positive(tol, "tol", allow_zero=True),
        memory=check_int(memory, "memory"),
    )
