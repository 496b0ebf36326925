"""``LinearClassifierCV``: the regularization strength chosen by cross-validation.

As scikit-learn's ``LogisticRegressionCV``: for every fold the classifier is solved exactly
(preconditioned L-BFGS, :func:`linclass.optim.solve`) along a grid of strengths, each point
warm-started from the one before; the strength with the best mean validation accuracy over the
folds is refitted on all the data.

scikit-learn states the problem as ``C * sum_i L_i + ½ ||W||²``; divided by ``C N`` it is
linclass's ``(1/N) sum_i L_i + alpha * sum(W²)`` with

    alpha = 1 / (2 C N)                          (3 or more classes: one softmax column each)
    alpha = 1 / (C N)                            (2 classes)

For two classes scikit-learn fits one vector ``v``; the softmax's optimum has the centred
columns ``∓v/2``, whose penalty is ``alpha ||v||² / 2``, hence the factor 2. ``N`` is the rows
each fit sees (a fold's training rows, then all rows), as in scikit-learn; class weights do not
change the mapping (scikit-learn's weighted mean and linclass's ``1/N`` differ by a constant
factor of the whole objective).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from linclass._arrays import cast, numpy_dtype
from linclass._devices import on_device_of, to_host
from linclass.calibration import fit_platt
from linclass.estimator._checks import check_feature_names, check_is_fitted, column_or_1d, validate_X
from linclass.estimator.classifier import LinearClassifier
from linclass.hyperparameters import Hyperparameter, _bool
from linclass.losses import get_loss, loss_names
from linclass.objective import Objective
from linclass.optim.precondition import resolve, spectrum
from linclass.optim.solver import solve
from linclass.preprocess import fit_transform


def c_to_alpha(C: ArrayLike, n_samples: int, n_classes: int) -> np.ndarray:
    """linclass's ``alpha`` for scikit-learn's ``C`` on ``n_samples`` rows (see the module docstring)."""
    factor = 1.0 if n_classes == 2 else 2.0
    return 1.0 / (factor * np.asarray(C, dtype=np.float64) * n_samples)


def alpha_to_c(alpha: ArrayLike, n_samples: int, n_classes: int) -> np.ndarray:
    """Inverse of :func:`c_to_alpha`."""
    return c_to_alpha(alpha, n_samples, n_classes)  # the map is its own inverse: C * alpha = 1 / (f N)


# The one-vs-rest squared hinge is smooth too, but for two classes its two mirrored problems
# double the penalty, so the C <-> alpha map above would not hold for it.
_NOT_CROSS_VALIDATED = ("ovr_squared_hinge",)


def _smooth_losses() -> list[str]:
    return [
        name
        for name in loss_names("classification")
        if get_loss(name).smooth and name not in _NOT_CROSS_VALIDATED
    ]


def _check_loss(value, name: str):
    if value not in _smooth_losses():
        raise ValueError(f"{name}={value!r} is not supported; expected one of {_smooth_losses()}")
    return value


def _check_grid(value, name: str):
    """An int >= 1 (that many points) or a non-empty 1-D list of finite numbers > 0."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"{name} must be an integer >= 1 or a list of numbers > 0, got {value!r}")
        return value
    if isinstance(value, str):
        raise TypeError(f"{name} must be an integer or a list of numbers > 0, got {value!r}")
    grid = np.asarray(value, dtype=np.float64) if np.ndim(value) == 1 else None
    if grid is None or grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid <= 0):
        raise ValueError(
            f"{name} must be an integer >= 1 or a non-empty list of finite numbers > 0, got {value!r}"
        )
    return value


def _check_alphas(value, name: str):
    if value is None:
        return value
    if isinstance(value, numbers.Number):
        raise TypeError(f"{name} must be None or a list of numbers > 0, got {value!r}")
    return _check_grid(value, name)


def _check_cv(value, name: str):
    if value is None or hasattr(value, "split"):
        return value
    if hasattr(value, "__iter__") and not isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
        return value
    raise TypeError(
        f"{name} must be None, an integer >= 2, a splitter or an iterable of (train, test), got {value!r}"
    )


_CV_HYPERPARAMETERS = (
    Hyperparameter("loss", "softmax", "loss", validate=_check_loss,
                   allowed="a smooth classification loss (softmax or squared_hinge)", option=False),
    Hyperparameter("Cs", 10, "grid of inverse strengths C", validate=_check_grid,
                   allowed="an int (np.logspace(-4, 4, Cs)) or a list of numbers > 0", option=False),
    Hyperparameter("alphas", None, "grid of strengths alpha", validate=_check_alphas,
                   allowed="None or a list of numbers > 0 (replaces Cs)", option=False),
    Hyperparameter("cv", None, "cross-validation folds", validate=_check_cv, option=False,
                   allowed="None (5 folds), an int >= 2, a splitter or an iterable of (train, test)"),
    Hyperparameter("refit", True, "refit on all data at the best strength", validate=_bool,
                   allowed="True or False", option=False),
)  # fmt: skip


class LinearClassifierCV(LinearClassifier):
    """Softmax (or squared-hinge) classifier with an L2 penalty whose strength is cross-validated.

    Args:
        loss: ``"softmax"`` (``LogisticRegressionCV``'s multinomial model) or ``"squared_hinge"``.
        Cs: scikit-learn's grid of inverse strengths: an int ``k`` is ``np.logspace(-4, 4, k)``;
            each ``C`` becomes ``alpha = 1 / (2 C N)`` (``1 / (C N)`` for two classes) on the
            ``N`` rows of each fit. The path follows the grid in the order given.
        alphas: a grid of linclass strengths instead (used as given on every fold).
        cv: None (5 folds), an int (stratified folds, unshuffled, as scikit-learn's
            ``StratifiedKFold``), a scikit-learn splitter or an iterable of ``(train, test)``
            index arrays. ``fit(..., validation_data=(X_val, y_val))`` uses that split instead.
        refit: True: refit on all the data (with ``validation_data``: ``X`` and ``X_val``) at the
            strength of best mean validation accuracy, warm-started from the folds' mean. False:
            average the folds' coefficients at each fold's best strength (``C_`` their mean).
        tol, max_iter: the solver's gradient tolerance (max |grad| <= tol) and iteration limit.
        class_weight, preprocess, dtype, backend, device, verbose, random_state: as
            ``LinearClassifier`` (``preprocess="none"`` solves scikit-learn's problem on raw
            inputs; other transforms are fitted on each fold's training rows).

    Attributes:
        Cs_ ``(n_Cs,)``: the grid as C (on all ``N`` rows for an ``alphas`` grid); ``alphas_``
        ``(n_Cs,)``: the same grid as alpha on all rows; ``C_``, ``alpha_``: the chosen strength;
        ``scores_ (n_folds, n_Cs)``: validation accuracy; ``coefs_paths_ (n_folds, n_Cs, K, D + 1)``:
        coefficients on raw inputs, intercept last; ``n_iter_ (n_folds, n_Cs)``: solver iterations;
        ``refit_n_iter_``: those of the refit (0 without); ``coef_``, ``intercept_``, ``classes_``
        as ``LinearClassifier``. The layout is scikit-learn's (``use_legacy_attributes=False``)
        without its ``l1_ratio`` axis; for two classes ``coef_`` keeps the softmax's two rows
        (scikit-learn's single row is ``coef_[1] - coef_[0]``).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = LinearClassifierCV(Cs=[0.01, 1.0, 100.0], preprocess="none").fit(X, y)
        >>> float(clf.C_), clf.scores_.shape
        (100.0, (5, 3))
    """

    _own_hyperparameters = _CV_HYPERPARAMETERS

    def __init__(
        self,
        *,
        loss: str = "softmax",
        Cs: int | ArrayLike = 10,
        alphas: ArrayLike | None = None,
        cv=None,
        refit: bool = True,
        tol: float = 1e-4,
        max_iter: int = 1000,
        class_weight: dict | str | None = None,
        preprocess: str = "none",
        random_state: int | np.random.Generator | None = None,
        dtype: str | None = None,
        verbose: bool = False,
        backend=None,
        device=None,
    ) -> None:
        self.loss = loss
        self.Cs = Cs
        self.alphas = alphas
        self.cv = cv
        self.refit = refit
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.preprocess = preprocess
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.backend = backend
        self.device = device

    @property
    def partial_fit(self):
        raise AttributeError("LinearClassifierCV has no partial_fit: a grid search needs all the data")

    def fit(self, X: ArrayLike, y: ArrayLike, *, validation_data: tuple[ArrayLike, ArrayLike] | None = None):
        """Solve every fold along the grid, choose the strength, refit; returns ``self``.

        ``X (N, D)``, labels ``y (N,)`` of any type; ``validation_data=(X_val, y_val)`` is the
        one validation split (no folds).
        """
        self._check_hyperparameters()
        check_feature_names(self, X, reset=True)
        X, y_idx, classes = self._validate_training_data(X, y, classes=None)
        self.classes_, self.n_features_in_ = classes, X.shape[1]
        n_classes = len(classes)
        X_val = y_val = None
        if validation_data is not None:
            X_val = validate_X(validation_data[0], name="X_val", n_features=X.shape[1], c_order=True)
            y_val = self._encode(column_or_1d(validation_data[1], "y_val"))
            folds = [(None, None)]  # all of X trains, X_val validates
        else:
            folds = _folds(self.cv, X, y_idx)
        kernels = self._kernels_for(X)
        place = getattr(kernels, "place", lambda array: array)
        X_dev, y_dev = place(X), place(y_idx)
        template = Objective(
            loss=get_loss(self.loss, "classification"),
            penalty="l2",
            class_weight=self._class_weights(y_idx, n_classes),
            kernels=kernels,
        )
        dtype = self._compute_dtype(X)

        self.Cs_, self.alphas_ = self._grid(X.shape[0] + (0 if X_val is None else X_val.shape[0]), n_classes)
        n_folds, n_grid = len(folds), len(self.Cs_)
        self.scores_ = np.zeros((n_folds, n_grid))
        self.n_iter_ = np.zeros((n_folds, n_grid), dtype=np.int64)
        self.coefs_paths_ = np.zeros((n_folds, n_grid, n_classes, X.shape[1] + 1))
        # One spectrum of the inputs (and the rescaling sample the first solve adds to it) for
        # every fold and the refit: it picks the solver's coordinates, never the optimum, and the
        # folds' rows share most of their moments (5 folds and the refit: one eigendecomposition, not 6).
        known = spectrum(resolve("auto", X.shape[1]), X_dev, fit_transform(self.preprocess, X))
        X_dev = _rows_in(X_dev, dtype)
        fold_params = []
        for k, (train, test) in enumerate(folds):
            if train is None:
                X_fit, y_fit, X_test, y_test, X_host = X_dev, y_dev, place(X_val), y_val, X
            else:
                X_fit, y_fit = X_dev[on_device_of(X_dev, train)], y_dev[on_device_of(y_dev, train)]
                X_test, y_test, X_host = X_dev[on_device_of(X_dev, test)], y_idx[test], X[train]
            objective = replace(template, transform=fit_transform(self.preprocess, X_host))
            path = regularization_path(
                objective, X_fit, y_fit, self._fold_alphas(X_host.shape[0], n_classes), X_test, y_test,
                known=known, tol=float(self.tol), max_iter=int(self.max_iter), n_classes=n_classes,
                dtype=dtype,
            )  # fmt: skip
            known = path[-1].spectrum
            for j, point in enumerate(path):
                self.n_iter_[k, j], self.scores_[k, j] = point.n_iter, point.score
                host_params = tuple(np.asarray(to_host(p)) for p in point.params)  # the path's record
                W_raw, b_raw = objective.effective_params(host_params)
                self.coefs_paths_[k, j] = np.hstack([W_raw.T, b_raw[:, None]])
            fold_params.append([point._replace(spectrum=None, evaluation=None, curvature=None)
                                for point in path])  # fmt: skip

        if self.refit:
            best = int(np.argmax(self.scores_.sum(axis=0)))
            self.C_, self.alpha_ = float(self.Cs_[best]), float(self.alphas_[best])
            self._refit(template, X, y_idx, X_val, y_val, fold_params, best, dtype, place, known, X_dev)
        else:
            best_each = np.argmax(self.scores_, axis=1)
            self.C_, self.alpha_ = float(self.Cs_[best_each].mean()), float(self.alphas_[best_each].mean())
            coefs = self.coefs_paths_[np.arange(n_folds), best_each].mean(axis=0)
            # the averaged coefficients act on raw inputs
            self.objective_ = replace(template, alpha=self.alpha_, transform=fit_transform("none", X))
            self.refit_n_iter_ = 0
            self._set_fitted((coefs[:, :-1].T.astype(dtype), coefs[:, -1].astype(dtype)), None, 0)
        if not self.objective_.loss.probabilistic:
            self.probability_slope_ = fit_platt(self.objective_.scores(self.params_, X), y_idx)
        return self

    def save(self, path) -> None:
        """Write the chosen model as a ``LinearClassifier`` model file (``linclass.load`` reads it)."""
        from linclass.estimator.persist import save

        save(self.chosen_classifier(), path)

    def chosen_classifier(self) -> LinearClassifier:
        """The fitted model as a ``LinearClassifier`` at ``alpha_`` (same weights, no copy)."""
        check_is_fitted(self)
        model = LinearClassifier(
            loss=self.loss, alpha=self.alpha_, optimizer="lbfgs", tol=self.tol, max_iter=self.max_iter,
            class_weight=self.class_weight, preprocess=self.objective_.transform.name, dtype=self.dtype,
        )  # fmt: skip
        fitted = ("classes_", "n_features_in_", "feature_names_in_", "objective_", "params_", "coef_",
                  "intercept_", "probability_slope_")  # fmt: skip
        for name in fitted:
            if hasattr(self, name):
                setattr(model, name, getattr(self, name))
        model.history_, model.n_iter_, model.optimizer_ = {}, self.refit_n_iter_, "lbfgs"
        return model

    def _grid(self, n_samples: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """``(Cs_, alphas_)`` on ``n_samples`` rows."""
        if self.alphas is not None:
            alphas = np.asarray(self.alphas, dtype=np.float64)
            return alpha_to_c(alphas, n_samples, n_classes), alphas
        if isinstance(self.Cs, numbers.Integral):
            Cs = np.logspace(-4, 4, self.Cs)
        else:
            Cs = np.asarray(self.Cs, dtype=np.float64)
        return Cs, c_to_alpha(Cs, n_samples, n_classes)

    def _fold_alphas(self, n_train: int, n_classes: int) -> np.ndarray:
        """The grid as alpha for a fit on ``n_train`` rows (an ``alphas`` grid is used as given)."""
        return self.alphas_ if self.alphas is not None else c_to_alpha(self.Cs_, n_train, n_classes)

    def _refit(self, template, X, y_idx, X_val, y_val, fold_params, best: int, dtype, place, known,
               X_dev) -> None:  # fmt: skip
        """Solve on all rows (``X`` with ``X_val`` when given) at the chosen strength (``known``:
        the folds' spectrum; ``X_dev``: ``X`` as the folds solved on it)."""
        if X_val is not None:
            X, y_idx = np.concatenate([X, np.asarray(X_val, dtype=X.dtype)]), np.concatenate([y_idx, y_val])
            X_dev = _rows_in(place(X), dtype)
        chosen = [tuple(to_host(p) for p in path[best].params) for path in fold_params]
        start = tuple(np.mean([params[i] for params in chosen], axis=0).astype(dtype) for i in (0, 1))
        objective = replace(
            template,
            alpha=self._fold_alphas(X.shape[0], len(self.classes_))[best],
            transform=fit_transform(self.preprocess, X),
        )
        result = solve(objective, X_dev, place(y_idx), start, tol=float(self.tol),
                       max_iter=int(self.max_iter), known=known)  # fmt: skip
        self.objective_, self.refit_n_iter_ = objective, result.n_iter
        self._set_fitted(result.params, None, 0)


class PathPoint(NamedTuple):
    """One strength of a regularization path: its solution and validation accuracy (and the
    training rows' spectrum, for further solves on them)."""

    alpha: float
    params: tuple[np.ndarray, np.ndarray]
    score: float
    n_iter: int
    spectrum: object = None
    evaluation: object = None  # the solve's evaluation at params (linclass.optim.solver.Evaluation)
    curvature: object = None  # its last rescaling's (linclass.optim.solver.Curvature)


def regularization_path(
    objective: Objective,
    X: np.ndarray,
    y: np.ndarray,
    alphas: ArrayLike,
    X_val: np.ndarray,
    y_val: np.ndarray,
    *,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    known=None,
    evaluation=None,
    curvature=None,
    tol: float = 1e-4,
    max_iter: int = 1000,
    n_classes: int | None = None,
    dtype=None,
) -> list[PathPoint]:
    """Solve ``objective`` on ``X (N, D)``, ``y (N,)`` at each of ``alphas`` in order, each warm
    started (the first from ``start``, or zeros), scored by accuracy on ``X_val``, ``y_val``.

    A warm start is the solution before when that already meets ``tol`` at the new strength
    (the weak end of a grid), else the secant through the two solutions before, extended in
    ``log alpha`` by at most one step — a predictor, as in continuation methods: on the
    Fashion-MNIST grid of 10 strengths it cut the iterations by a third. ``tol``, ``max_iter``,
    ``n_classes``, ``dtype``, ``known`` (the spectrum of ``X``, as a ``PathPoint`` holds it),
    ``evaluation`` and ``curvature`` (those of ``start``, as a ``PathPoint`` holds them) are
    :func:`linclass.optim.solve`'s: the eigendecomposition of the inputs' covariance is computed
    once for the whole path, a start at the solution before takes its first value and gradient
    from that solve, without a pass, and each start's coordinates are scaled to the curvature the
    solve before measured last.
    """
    path, params, previous = [], start, None
    alphas = np.asarray(alphas, dtype=np.float64)
    for i, alpha in enumerate(alphas):
        fitted = replace(objective, alpha=float(alpha))
        begin = params
        if previous is not None and not (evaluation is not None and evaluation.meets(fitted, X, params, tol)):
            begin = _secant(previous, params, alphas[i - 2], alphas[i - 1], alpha)
        result = solve(fitted, X, y, begin, tol=tol, max_iter=max_iter, n_classes=n_classes, dtype=dtype,
                       known=known, evaluation=evaluation, curvature=curvature)  # fmt: skip
        previous, params, known, evaluation = params, result.params, result.spectrum, result.evaluation
        curvature = result.curvature or curvature
        score = _accuracy(fitted, params, X_val, y_val)
        path.append(PathPoint(float(alpha), params, score, result.n_iter, known, evaluation, curvature))
    return path


def _secant(before: tuple, last: tuple, alpha_before: float, alpha_last: float, alpha: float) -> tuple:
    """``last + r (last - before)``, the solutions at ``alpha_before`` and ``alpha_last``, with ``r``
    the ratio of the steps to ``alpha`` and to ``alpha_last`` in ``log alpha``, kept to ``[0, 1]``:
    no further than one step past the last solution, never back towards the one before."""
    step_before = math.log(alpha_last / alpha_before)
    # a Python float: a NumPy float64 would promote float32 solutions, and every solve after them,
    # to float64 (NumPy 2's promotion rules)
    r = min(max(math.log(alpha / alpha_last) / step_before, 0.0), 1.0) if step_before else 0.0
    if r == 0.0:
        return last
    return tuple(a + r * (a - b) for a, b in zip(last, before, strict=True))


def _rows_in(X, dtype):
    """``X`` in float32 when it is float64 and the computation float32 (each pass then reads half
    the bytes; one copy of all rows, from which the folds gather theirs), else ``X`` itself
    (integer pixels stay so)."""
    return cast(X, dtype) if numpy_dtype(X.dtype) == np.float64 and numpy_dtype(dtype) == np.float32 else X


def _accuracy(objective: Objective, params, X: np.ndarray, y: np.ndarray) -> float:
    """Share of rows of ``X`` whose highest score is their label ``y``."""
    scores = np.asarray(to_host(objective.scores(params, X)))
    return float(np.mean(scores.argmax(axis=1) == np.asarray(to_host(y))))


def _folds(cv, X: np.ndarray, y_idx: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index pairs: scikit-learn's ``check_cv`` (stratified for classifiers)."""
    try:
        from sklearn.model_selection import check_cv
    except ImportError as exc:
        raise ImportError(
            "LinearClassifierCV needs scikit-learn for cv folds; pass validation_data "
            "(X_val, y_val) to fit without it"
        ) from exc
    splitter = check_cv(cv, y_idx, classifier=True)
    return [(np.asarray(train), np.asarray(test)) for train, test in splitter.split(X, y_idx)]
