"""Gradient check of the full training objective, over both ``W`` and ``b``.

    L(W, b) = (1 / N) sum_i L_i(x_i @ W + b, y_i) + alpha * R(W)

``Objective.value_and_grad`` gives the analytic ``(dW, db)``; each coordinate is compared with
the centred difference of ``Objective.value`` (``linclass.gradcheck.numerical_gradient``),
in float64. The relative error of a coordinate is

    |analytic - numeric| / max(|analytic|, |numeric|, floor),    floor = 1e-9 * max(1, |L|) / threshold

Centred differences with ``h = 1e-5`` carry an absolute error near ``1e-10 * max(1, |L|)``
(rounding ``eps * |L| / h`` plus truncation), so a coordinate whose true gradient is about that
small cannot agree to 7 digits; the floor judges such coordinates by their absolute error
instead of failing a correct gradient.

Thresholds: ``1e-7`` for smooth losses (softmax, squared hinge), ``1e-4`` for the hinge-type
ones (svm, multi_margin, crammer_singer). A hinge has kinks, where the gradient jumps and a
finite difference that straddles one is off by up to half the jump. Random data keeps away from
them: a margin lands within ``h`` of a kink with probability about ``1e-5``. L1 and elastic net
have their kink at ``W = 0``, so the random ``W`` here has entries of magnitude at least
``0.5 / sqrt(D)``, far from 0.

    >>> check = check_objective_gradient(Objective(loss="svm", penalty="l2", alpha=0.1),
    ...                                  *random_problem(random_state=0))
    >>> check.passed, check.threshold
    (True, 0.0001)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from linclass._validation import check_int, check_positive, check_random_state
from linclass.gradcheck.numerical import GradientCheckReport, numerical_gradient, report
from linclass.losses import LossSpec
from linclass.objective import Objective, Params
from linclass.preprocess import standardize

SMOOTH_THRESHOLD = 1e-7
KINK_THRESHOLD = 1e-4
# Absolute error of centred differences (h = 1e-5) on an objective of size 1.
FINITE_DIFFERENCE_NOISE = 1e-9


def default_threshold(loss: LossSpec) -> float:
    """``1e-7`` for a smooth loss, ``1e-4`` for a hinge-type loss (one with kinks)."""
    return SMOOTH_THRESHOLD if loss.smooth else KINK_THRESHOLD


@dataclass(frozen=True)
class ObjectiveCheck:
    """Gradient check reports of an objective for ``W`` and ``b``.

    Attributes:
        objective: the checked objective.
        W: report for ``dW`` (indices ``(feature, class)``).
        b: report for ``db`` (indices ``(class,)``).
        value: the objective's value at the checked point.
        n_samples: number of examples the objective was evaluated on.
    """

    objective: Objective
    W: GradientCheckReport
    b: GradientCheckReport
    value: float
    n_samples: int

    @property
    def passed(self) -> bool:
        return self.W.passed and self.b.passed

    @property
    def threshold(self) -> float:
        return self.W.threshold

    def to_dict(self) -> dict:
        """Plain Python values for JSON."""

        def as_dict(r: GradientCheckReport) -> dict:
            return {
                "max_rel_error": r.max_rel_error,
                "max_abs_error": r.max_abs_error,
                "argmax": list(r.argmax),
                "analytic": r.analytic,
                "numeric": r.numeric,
                "n_checked": r.n_checked,
                "passed": r.passed,
            }

        return {
            "loss": self.objective.loss.name,
            "penalty": self.objective.penalty.name,
            "alpha": self.objective.alpha,
            "value": self.value,
            "n_samples": self.n_samples,
            "threshold": self.threshold,
            "W": as_dict(self.W),
            "b": as_dict(self.b),
            "passed": self.passed,
        }


def random_problem(
    n_samples: int = 20,
    n_features: int = 10,
    n_classes: int = 5,
    random_state: int | np.random.Generator | None = None,
) -> tuple[Params, np.ndarray, np.ndarray]:
    """A random point and data for a gradient check, in float64.

    ``X ~ N(0, 1)`` ``(N, D)``, labels uniform over ``C`` classes, ``W`` with random signs and
    magnitudes in ``[0.5, 1.5] / sqrt(D)`` (so scores are of order 1: some hinge margins are
    active and some are not, and no weight is near the L1 kink at 0), ``b ~ N(0, 0.5^2)``.

    Returns:
        ``((W (D, C), b (C,)), X (N, D), y (N,))``.
    """
    n_samples = check_int(n_samples, "n_samples")
    n_features = check_int(n_features, "n_features")
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    rng = check_random_state(random_state)
    X = rng.standard_normal((n_samples, n_features))
    y = rng.integers(n_classes, size=n_samples)
    return random_params(n_features, n_classes, rng), X, y


def random_params(n_features: int, n_classes: int, random_state) -> Params:
    """``W (D, C)`` with random signs and magnitudes in ``[0.5, 1.5] / sqrt(D)``; ``b ~ N(0, 0.5^2)``."""
    rng = check_random_state(random_state)
    signs = rng.choice([-1.0, 1.0], size=(n_features, n_classes))
    W = signs * rng.uniform(0.5, 1.5, size=(n_features, n_classes)) / np.sqrt(n_features)
    b = 0.5 * rng.standard_normal(n_classes)
    return W, b


def data_problem(
    X: np.ndarray, y: np.ndarray, n_classes: int, random_state=None
) -> tuple[Params, np.ndarray, np.ndarray, object]:
    """A random point for checking on real examples ``X (N, D)``, ``y (N,)``.

    Returns ``(params, X as float64, y, transform)``, where ``transform`` standardizes ``X`` (as
    training does by default) and is meant to be folded into the objective, so the check covers
    the fold as well.
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    params = random_params(X.shape[1], n_classes, random_state)
    return params, X, np.asarray(y, dtype=np.int64), standardize(X)


def check_objective_gradient(
    objective: Objective,
    params: Params,
    X: np.ndarray,
    y: np.ndarray,
    *,
    k: int | None = None,
    h: float = 1e-5,
    threshold: float | None = None,
    random_state: int | np.random.Generator | None = None,
) -> ObjectiveCheck:
    """Compare ``objective.value_and_grad`` with centred differences of ``objective.value``.

    Args:
        objective: the objective (loss, penalty, alpha, transform).
        params: ``(W (D, C), b (C,))``; not modified (the check works on float64 copies).
        X, y: inputs ``(N, D)`` and class indices ``(N,)``.
        k: check ``k`` random coordinates of each of ``W`` and ``b`` (all of them when the
            parameter has fewer); None checks every coordinate.
        h: the finite-difference step.
        threshold: pass when every relative error is below it; default
            :func:`default_threshold` of the loss.
        random_state: seed or Generator choosing the ``k`` coordinates.

    Returns:
        an :class:`ObjectiveCheck`.
    """
    threshold = (
        default_threshold(objective.loss) if threshold is None else check_positive(threshold, "threshold")
    )
    h = check_positive(h, "h")
    if k is not None:
        k = check_int(k, "k")
    rng = check_random_state(random_state)
    W = np.array(params[0], dtype=np.float64)
    b = np.array(params[1], dtype=np.float64)
    value, (dW, db) = objective.value_and_grad((W, b), X, y)
    floor = FINITE_DIFFERENCE_NOISE * max(1.0, abs(value)) / threshold
    reports = []
    for point, analytic in ((W, dW), (b, db)):
        flat = point.reshape(-1)
        chosen = (
            np.arange(flat.size)
            if k is None or k >= flat.size
            else np.sort(rng.choice(flat.size, size=k, replace=False))
        )
        original = flat[chosen].copy()

        def value_at(coordinates: np.ndarray, flat=flat, chosen=chosen) -> float:
            flat[chosen] = coordinates
            return objective.value((W, b), X, y)

        try:
            numeric = numerical_gradient(value_at, original.copy(), h)
        finally:
            flat[chosen] = original
        expected = np.asarray(analytic, dtype=np.float64).reshape(-1)[chosen]
        indices = [tuple(int(i) for i in np.unravel_index(c, point.shape)) for c in chosen]
        reports.append(report(expected, numeric, indices, threshold, floor))
    return ObjectiveCheck(objective, reports[0], reports[1], float(value), int(X.shape[0]))

