"""The linear probe: a softmax classifier on frozen features, its strength chosen on validation.

CLIP's evaluation protocol (Radford et al. 2021, appendix A.3), solved exactly: hold out a
stratified validation split of the training rows; search scikit-learn's ``C`` (the problem
``C * sum_i L_i + ½ ||W||²``, i.e. ``alpha = 1 / (2 C N)``, see :mod:`linclass.estimator.cv`)
on a log grid ``10^-6, 10^-4, ..., 10^6``, then halve the step around the best value until it
is 1/8 of a decade; refit on train + validation at the best ``C``; report test accuracy. Every
solve is warm-started from the nearest ``C`` already solved, and the input covariance's
eigendecomposition (:mod:`linclass.optim.precondition`) is computed once, on the search's rows.

    >>> from linclass.datasets import load_digits
    >>> digits = load_digits().flatten()
    >>> report = probe((digits.X_train / 16.0, digits.y_train), (digits.X_test / 16.0, digits.y_test),
    ...                Cs=[0.1, 1.0, 10.0])
    >>> report.C, [round(point["accuracy"], 3) for point in report.validation_curve]
    (1.0, [0.938, 0.965, 0.965])
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from linclass._devices import to_host
from linclass.app.probe_data import FeatureSplit, ProbeInputError, as_split
from linclass.estimator.cv import c_to_alpha, regularization_path
from linclass.kernels import get_kernels
from linclass.objective import Objective
from linclass.optim.solver import solve
from linclass.splits import split_indices

COARSE_EXPONENTS = np.arange(-6.0, 7.0, 2.0)  # C = 10^-6, 10^-4, ..., 10^6, as CLIP starts
FINEST_STEP = 0.125  # decades: CLIP's eight steps per decade


@dataclass
class ProbeReport:
    """What :func:`probe` found; ``as_dict()`` is the JSON report.

    ``validation_curve``: ``[{"C", "alpha", "accuracy", "iterations"}]`` sorted by ``C``;
    ``per_class_accuracy``: ``{class: share of its test rows predicted right}``; ``seconds``:
    ``{"load", "search", "refit", "total"}``; ``iterations``: ``{"search", "refit"}``.
    """

    C: float
    alpha: float
    validation_accuracy: float
    validation_curve: list[dict]
    test_accuracy: float | None
    per_class_accuracy: dict[str, float] | None
    iterations: dict[str, int]
    seconds: dict[str, float]
    converged: bool
    n_train: int
    n_validation: int
    n_test: int
    n_features: int
    classes: list
    device: str
    plot: str | None = None
    params: tuple = field(default=(), repr=False)  # the refitted (W (D, C), b (C,)), not in the JSON

    def as_dict(self) -> dict:
        report = asdict(self)
        del report["params"]
        return report


def probe(
    train,
    test=None,
    *,
    Cs=None,
    validation_fraction: float = 0.2,
    random_state: int = 0,
    device: str | None = None,
    tol: float = 1e-4,
    max_iter: int = 1000,
    plot: str | Path | None = None,
    names: tuple[str, str] = ("train", "test"),
) -> ProbeReport:
    """Run the probe protocol on ``train`` and report accuracy on ``test``.

    Args:
        train, test: feature files (``.npz`` with arrays ``X``/``y`` or ``features``/``labels``,
            a linclass feature file, or ``"X.npy,y.npy"``; memory-mapped) or ``(X, y)`` pairs;
            a linclass feature file as ``train`` with ``test=None`` brings its own test split.
        Cs: an explicit grid of ``C`` (searched as given, no refinement), or None for CLIP's search.
        validation_fraction: share of ``train`` held out (stratified, seeded by ``random_state``).
        device: a torch device (``"cuda"``) for the PyTorch backend, or None for the CPU kernels.
        tol, max_iter: the solver's gradient tolerance and iteration limit per solve
            (scikit-learn's ``tol`` and CLIP's ``max_iter=1000``).
        plot: a PNG to draw the validation accuracy against ``C`` into.
        names: how errors name the two sources (the command line passes its flags).

    Raises:
        ProbeInputError: a source that cannot be used, named by ``names``.
    """
    clock = time.perf_counter()
    train_split = as_split(train, names[0])
    test_split = as_split(test, names[1]) if test is not None else train_split.own_test
    if test_split is not None:
        test_split = test_split.matched_to(train_split)
    classes, y_all = train_split.classes, train_split.y
    n_classes = len(classes)
    if n_classes < 2:
        raise ProbeInputError(
            f"{train_split.name}: every label is {classes.tolist()[0]!r}; "
            "a classifier needs at least two classes"
        )
    fit_rows, val_rows = split_indices(y_all, validation_fraction, stratify=True, random_state=random_state)
    if not len(val_rows) or len(np.unique(y_all[fit_rows])) < 2:
        raise ProbeInputError(
            f"{train_split.name}: {len(y_all)} rows are too few for a validation split of "
            f"{validation_fraction:g} ({len(val_rows)} rows held out, {len(np.unique(y_all[fit_rows]))} of "
            f"the {n_classes} classes in the other {len(fit_rows)}); expected at least one held-out row "
            "and two classes to fit"
        )
    kernels = get_kernels() if device is None else get_kernels("torch", device=device)
    place = getattr(kernels, "place", lambda array: array)
    X_fit, y_fit = place(np.asarray(train_split.X[fit_rows])), place(y_all[fit_rows])
    X_val, y_val = place(np.asarray(train_split.X[val_rows])), y_all[val_rows]
    objective = Objective("softmax", penalty="l2", kernels=kernels)
    dtype = np.float64 if train_split.X.dtype == np.float64 else np.float32
    loaded = time.perf_counter()

    solved: dict[float, object] = {}  # log10 C -> PathPoint

    def score(exponent: float) -> float:
        nearest = min(solved, key=lambda known: abs(known - exponent), default=None)
        alpha = c_to_alpha(10.0**exponent, len(fit_rows), n_classes)
        near = None if nearest is None else solved[nearest]
        (solved[exponent],) = regularization_path(
            objective, X_fit, y_fit, [alpha], X_val, y_val, start=near and near.params,
            known=near and near.spectrum, evaluation=near and near.evaluation,
            curvature=near and near.curvature, tol=tol, max_iter=max_iter, n_classes=n_classes, dtype=dtype,
        )  # fmt: skip
        return solved[exponent].score

    chosen = clip_search(score, Cs)
    searched = time.perf_counter()

    X_all, y_all_dev = place(np.asarray(train_split.X)), place(y_all)
    alpha = float(c_to_alpha(10.0**chosen, len(y_all), n_classes))
    # the validation rows change the input moments little: the search's spectrum still gives
    # good coordinates (any invertible change of variables leaves the optimum where it is)
    final = solve(replace(objective, alpha=alpha), X_all, y_all_dev, solved[chosen].params, tol=tol,
                  max_iter=max_iter, known=solved[chosen].spectrum)  # fmt: skip
    refitted = time.perf_counter()
    test_accuracy, per_class = (None, None) if test_split is None else _test_metrics(
        objective, final.params, test_split, classes, place
    )  # fmt: skip
    curve = [
        {"C": 10.0**e, "alpha": p.alpha, "accuracy": p.score, "iterations": p.n_iter}
        for e, p in sorted(solved.items())
    ]
    report = ProbeReport(
        C=10.0**chosen, alpha=alpha, validation_accuracy=solved[chosen].score, validation_curve=curve,
        test_accuracy=test_accuracy, per_class_accuracy=per_class,
        iterations={"search": sum(p.n_iter for p in solved.values()), "refit": final.n_iter},
        seconds={"load": loaded - clock, "search": searched - loaded, "refit": refitted - searched,
                 "total": time.perf_counter() - clock},
        converged=final.converged, n_train=len(fit_rows), n_validation=len(val_rows),
        n_test=0 if test_split is None else len(test_split.y), n_features=train_split.X.shape[1],
        classes=[_plain(c) for c in classes], device="cpu" if device is None else str(device),
        plot=None if plot is None else str(plot), params=tuple(np.asarray(to_host(p)) for p in final.params),
    )  # fmt: skip
    if plot is not None:
        from linclass.viz.probe import plot_validation_curve

        title = f"linear probe: {report.n_train:,} training rows, {len(classes)} classes"
        plot_validation_curve([p["C"] for p in curve], [p["accuracy"] for p in curve], plot,
                              chosen=report.C, title=title)  # fmt: skip
    return report


def clip_search(score, Cs=None) -> float:
    """The search of ``log10 C``: ``score(exponent)`` is the validation accuracy at ``C = 10^exponent``,
    asked once per exponent, in the search's order. Returns the best exponent (ties: the smallest).

    Without ``Cs``: ``10^-6, 10^-4, ..., 10^6``, then the step halved around the best until it is
    :data:`FINEST_STEP` decades (7 + 8 = 15 scores); with ``Cs``, those values as given.

        >>> clip_search(lambda exponent: -abs(exponent - 0.3))
        0.25
    """
    scores: dict[float, float] = {}

    def visit(exponents) -> None:
        for exponent in exponents:
            if exponent not in scores:
                scores[exponent] = score(float(exponent))

    def best() -> float:
        return float(max(sorted(scores), key=scores.__getitem__))

    if Cs is not None:
        visit([math.log10(C) for C in Cs])
        return best()
    visit(COARSE_EXPONENTS)
    step = float(COARSE_EXPONENTS[1] - COARSE_EXPONENTS[0])
    while step > FINEST_STEP:
        step /= 2
        visit([best() - step, best() + step])
    return best()


def _test_metrics(objective, params, split: FeatureSplit, classes, place) -> tuple[float, dict[str, float]]:
    """Test accuracy and, per class, the share of its test rows predicted right."""
    predicted = np.asarray(to_host(objective.scores(params, place(np.asarray(split.X))))).argmax(axis=1)
    right = predicted == split.y
    present = [k for k in range(len(classes)) if (split.y == k).any()]
    per_class = {str(_plain(classes[k])): float(right[split.y == k].mean()) for k in present}
    return float(right.mean()), per_class


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
