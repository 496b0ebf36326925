"""Gradient checks: compare an analytic gradient with centred finite differences.

    numeric_k = (f(x + h e_k) - f(x - h e_k)) / (2 h)
    rel_error_k = |analytic_k - numeric_k| / max(|analytic_k|, |numeric_k|, tiny)

The functions return a :class:`GradientCheckReport`; they never print. Checks run in float64:
float32 differences of ``h = 1e-5`` lose most of their digits, so float32 input is upcast
with a warning. ``f`` must compute from the array it is given, which is perturbed in place
one coordinate at a time and always restored, even when ``f`` raises.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_int, check_positive, check_random_state

ScalarFunction = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class GradientCheckReport:
    """The outcome of a gradient check.

    Attributes:
        max_rel_error: the largest relative error over the checked coordinates (NaN if any
            gradient value was NaN).
        max_abs_error: the largest ``|analytic - numeric|``.
        argmax: index into ``x`` of the coordinate with the largest relative error.
        analytic: the analytic gradient there.
        numeric: the numerical gradient there.
        threshold: the check passes when ``max_rel_error < threshold``.
        n_checked: number of coordinates compared.
    """

    max_rel_error: float
    max_abs_error: float
    argmax: tuple[int, ...]
    analytic: float
    numeric: float
    threshold: float
    n_checked: int

    @property
    def passed(self) -> bool:
        return bool(self.max_rel_error < self.threshold)

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"gradient check {verdict}: max relative error {self.max_rel_error:.3e} "
            f"(threshold {self.threshold:.1e}) at index {self.argmax}: "
            f"analytic {self.analytic:.10g}, numeric {self.numeric:.10g}; "
            f"{self.n_checked} coordinates checked"
        )


def _centred_difference(f: ScalarFunction, x: np.ndarray, index: tuple[int, ...], h: float) -> float:
    original = x[index]
    try:
        x[index] = original + h
        upper = float(f(x))
        x[index] = original - h
        lower = float(f(x))
    finally:
        x[index] = original
    return (upper - lower) / (2 * h)


def _check_array(x: np.ndarray) -> None:
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        found = type(x).__name__ if not isinstance(x, np.ndarray) else f"dtype {x.dtype}"
        raise TypeError(f"x must be a floating numpy array (it is perturbed in place), got {found}")


def numerical_gradient(f: ScalarFunction, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function at ``x``, one coordinate at a time.

    Args:
        f: ``f(x) -> float``, computed from its argument.
        x: a floating array of any shape; perturbed in place and restored (also if ``f`` raises).
        h: the step, ``> 0``.

    Returns:
        the numerical gradient, shaped as ``x``, in float64.

    Example:
        >>> numerical_gradient(lambda v: float(np.sum(v ** 2)), np.array([1.0, -2.0])).round(6)
        array([ 2., -4.])
    """
    _check_array(x)
    if x.dtype != np.float64:
        warnings.warn(
            f"x has dtype {x.dtype}; centred differences with h={h} are inaccurate below float64",
            UserWarning,
            stacklevel=2,
        )
    h = check_positive(h, "h")
    grad = np.empty(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        grad[index] = _centred_difference(f, x, index, h)
    return grad


def _prepare(
    f: Callable[[np.ndarray], object], x: ArrayLike, analytic: ArrayLike | None
) -> tuple[ScalarFunction, np.ndarray, np.ndarray]:
    """Return the scalar function, ``x`` as float64 (upcast with a warning) and the analytic gradient."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"x must be a real numeric array, got dtype {arr.dtype}")
    if arr.dtype != np.float64:
        if arr.dtype.kind == "f":
            warnings.warn(
                f"x has dtype {arr.dtype}; gradient checks run in float64, so x is upcast for the check",
                UserWarning,
                stacklevel=3,
            )
        arr = arr.astype(np.float64)
    if analytic is None:
        value_and_grad = f

        def value(z: np.ndarray) -> float:
            return float(value_and_grad(z)[0])

        analytic = value_and_grad(arr)[1]
    else:
        value = f
    grad = np.asarray(analytic, dtype=np.float64)
    if grad.shape != arr.shape:
        raise ValueError(f"analytic gradient has shape {grad.shape} but x has shape {arr.shape}")
    return value, arr, grad


def report(
    analytic: np.ndarray,
    numeric: np.ndarray,
    indices: list[tuple[int, ...]],
    threshold: float,
    floor: float = float(np.finfo(np.float64).tiny),
) -> GradientCheckReport:
    """The report of ``analytic`` against ``numeric`` at ``indices``: relative errors
    ``|a - n| / max(|a|, |n|, floor)`` (``floor`` keeps noise on near-zero entries from counting)."""
    abs_error = np.abs(analytic - numeric)
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    rel_error = abs_error / scale
    worst = int(np.argmax(np.where(np.isnan(rel_error), np.inf, rel_error)))
    return GradientCheckReport(
        max_rel_error=float(rel_error[worst]),
        max_abs_error=float(np.max(abs_error)),
        argmax=indices[worst],
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        threshold=threshold,
        n_checked=len(indices),
    )


def check_gradient(
    f: Callable[[np.ndarray], object],
    x: ArrayLike,
    analytic: ArrayLike | None = None,
    *,
    h: float = 1e-5,
    threshold: float = 1e-7,
) -> GradientCheckReport:
    """Compare an analytic gradient with the numerical gradient at every coordinate of ``x``.

    Args:
        f: ``f(x) -> float`` when ``analytic`` is given; ``f(x) -> (value, grad)`` when it is None.
        x: the point, any shape; float64 arrays are perturbed in place and restored, other
            dtypes are checked on a float64 copy (float32 with a ``UserWarning``).
        analytic: the analytic gradient at ``x``, shaped as ``x``; None takes it from ``f``.
        h: the finite-difference step.
        threshold: the check passes when the maximum relative error is below it.

    Returns:
        a :class:`GradientCheckReport`.

    Example:
        >>> report = check_gradient(lambda v: (float(np.sum(v ** 2)), 2 * v), np.array([1.0, -2.0]))
        >>> report.passed
        True
    """
    threshold = check_positive(threshold, "threshold")
    value, arr, grad = _prepare(f, x, analytic)
    numeric = numerical_gradient(value, arr, h)
    indices = list(np.ndindex(arr.shape))
    return report(grad.ravel(), numeric.ravel(), indices, threshold)


def check_gradient_sparse(
    f: Callable[[np.ndarray], object],
    x: ArrayLike,
    analytic: ArrayLike | None = None,
    *,
    k: int = 10,
    h: float = 1e-5,
    threshold: float = 1e-7,
    random_state: int | np.random.Generator | None = None,
) -> GradientCheckReport:
    """Like :func:`check_gradient` on ``k`` distinct random coordinates (all if ``x`` has fewer).

    Use it when ``x`` is large (a CIFAR-10 ``W`` has 30,730 entries, and each costs two
    evaluations of ``f``).

    Args:
        f, x, analytic, h, threshold: as in :func:`check_gradient`.
        k: the number of coordinates to check, ``>= 1``.
        random_state: seed or ``numpy.random.Generator`` choosing the coordinates.

    Returns:
        a :class:`GradientCheckReport` whose ``n_checked`` is ``min(k, x.size)``.
    """
    k = check_int(k, "k")
    threshold = check_positive(threshold, "threshold")
    h = check_positive(h, "h")
    rng = check_random_state(random_state)
    value, arr, grad = _prepare(f, x, analytic)
    flat = rng.choice(arr.size, size=min(k, arr.size), replace=False)
    indices = [tuple(int(i) for i in np.unravel_index(j, arr.shape)) for j in flat]
    numeric = np.array([_centred_difference(value, arr, index, h) for index in indices])
    analytic_values = np.array([grad[index] for index in indices])
    return report(analytic_values, numeric, indices, threshold)
