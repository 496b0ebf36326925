"""The exact full-batch solver for smooth objectives: preconditioned L-BFGS to convergence.

:func:`solve` minimizes an objective (softmax or squared hinge or squared error, L2 or no
penalty) over all training rows, from zeros or from a given ``(W, b)`` (a warm start, as a
path over regularization strengths wants), and says how it went:

    >>> from linclass.objective import Objective
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    >>> result = solve(Objective("softmax", alpha=1e-2), X, np.array([0, 1, 0, 1]), tol=1e-8)
    >>> result.converged, result.n_passes == result.n_evaluations
    (True, True)

Every pass over the data is one ``objective.data_batch(params, X, y)`` call, so the solver runs
on whatever kernels the objective uses; the rest is arithmetic on ``(D, C)`` arrays. The
iterations run in the coordinates of :mod:`linclass.optim.precondition`, which leave the
objective — and so its optimum — unchanged.

A tensor ``X`` keeps the whole solve on its device: the preconditioner's moments and
eigenvectors, the point, the gradient, the L-BFGS memory and the line search's trial points
are tensors there; what comes back to the host per evaluation is numbers (the value, the
largest gradient component, inner products the line search compares), never ``W``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass._arrays import (
    as_float64,
    cast,
    concat,
    equal,
    exp,
    largest,
    largest_abs,
    maximum,
    numpy_dtype,
    row_max,
    sqrt,
    zeros,
)  # fmt: skip
from linclass._devices import is_tensor, on_device_of
from linclass.kernels.threads import one_blas_thread
from linclass.optim.lbfgs import LBFGS, RUNNING, STATUS_MESSAGES, LBFGSState, check_smooth, lbfgs
from linclass.optim.precondition import (
    SAMPLE_MODES,
    Preconditioner,
    Spectrum,
    fit_preconditioner,
    placeholder,
    resolve,
    sample_rows,
    spectrum,
)  # fmt: skip

# refit the coordinates' scales to the current curvature every this many iterations (softmax)
REFIT_EVERY = 10


class SolverState(NamedTuple):
    """An L-BFGS run of ``linclass.train.fit``: its coordinates and its iteration state."""

    preconditioner: Preconditioner
    lbfgs: LBFGSState


class SolveResult(NamedTuple):
    """What :func:`solve` returns.

    Attributes:
        params: ``(W (D, C), b (C,))`` in the dtype of the computation.
        value: objective at ``params``.
        n_iter: L-BFGS iterations.
        n_evaluations: objective evaluations (value and gradient).
        n_passes: passes over the training rows: ``n_evaluations``, less a first one taken from
            ``evaluation`` (the preconditioner's moments read at most ``MOMENT_ROWS`` rows once more).
        converged: the gradient or relative-decrease test was met.
        message: why it stopped.
        grad_max: largest gradient component at ``params``.
        seconds: wall time, the preconditioner included.
        spectrum: the input moments the coordinates were built from (None without
            preconditioning): pass it to the next :func:`solve` on the same rows.
        single_passes: of ``n_passes``, those made in float32 before a float64 finish (``mixed``).
        evaluation: the :class:`Evaluation` at ``params`` (None if neither the last nor the lowest was there):
            pass it to the next :func:`solve` from ``params`` on the same rows.
        curvature: the last rescaling's :class:`Curvature` (None if none ran): pass it to the next
            :func:`solve` from ``params``.
    """

    params: tuple[np.ndarray, np.ndarray]  # on the device of a tensor X
    value: float
    n_iter: int
    n_evaluations: int
    n_passes: int
    converged: bool
    message: str
    grad_max: float
    seconds: float
    spectrum: Spectrum | None = None
    single_passes: int = 0
    evaluation: Evaluation | None = None
    curvature: Curvature | None = None


def loss_curvature(objective, n_classes: int) -> float:
    """Curvature of the data loss per unit score variance at zero scores (the preconditioner's ``h``)."""
    weight = 1.0 if objective.class_weight is None else float(np.mean(objective.class_weight))
    base = 1.0 / n_classes if objective.loss.name == "softmax" else 1.0
    return max(base * weight, 1e-12)


def l2_strength(objective) -> float:
    """``alpha`` of an L2 penalty (0 without one)."""
    return float(objective.alpha) if objective.has_penalty and objective.penalty.name == "l2" else 0.0


class Sample(NamedTuple):
    """What rescaling the coordinates reads (:meth:`Problem.refit_scales`): rows that stand for
    the training rows, as the moments the basis comes from do.

    ``rows``: the moment rows of ``X`` (:func:`~linclass.optim.precondition.sample_rows`),
    ``labels``: theirs, ``squared``: their coordinates along the basis, squared
    (``((x' - mu) @ B)²``, float32 when the solve that computed it was),
    ``lengths``: the squared lengths of the basis vectors (``|B_k|²``: 1 for an orthogonal basis).
    Like the spectrum it travels with, it changes the coordinates only, never the optimum, so a
    solve on other rows of the same inputs (a fold, a refit on all rows) may reuse it.
    """

    rows: np.ndarray
    labels: np.ndarray
    squared: np.ndarray
    lengths: np.ndarray | float


class Curvature(NamedTuple):
    """The data term's curvature a rescaling measured (:meth:`Problem.refit_scales`), without the
    penalty's: ``data (D, C)`` along the basis directions, ``bias (C,)``, and the basis vectors'
    squared ``lengths`` the penalty's curvature ``2 alpha |B_k|²`` is added with. A solve at another
    strength from the same point (a path's warm start) starts in coordinates scaled to it.
    """

    data: np.ndarray
    bias: np.ndarray
    lengths: np.ndarray | float


class Evaluation(NamedTuple):
    """An evaluation of a solve: its ``params``, the data term there (``Objective.data_batch``:
    mean loss, gradients, correct count — no penalty) and what it was computed with.

    A solve at another strength that starts from these ``params`` on the same rows takes its
    first value and gradient from it instead of a pass (:func:`solve`'s ``evaluation``): the data
    term does not depend on the penalty, so the numbers are those of a pass at ``params``, bit
    for bit.
    """

    params: tuple
    data: Any
    n_rows: int
    objective: Any

    def matches(self, objective, X, params: tuple) -> bool:
        """Whether this is the data term of ``objective`` on ``X``'s rows at ``params`` exactly."""
        mine = self.objective
        return (
            self.n_rows == X.shape[0]
            and (mine.loss, mine.kernels) == (objective.loss, objective.kernels)
            and mine.transform is objective.transform
            and mine.class_weight is objective.class_weight
            and all(a.dtype == b.dtype and equal(a, b) for a, b in zip(self.params, params, strict=True))
        )

    def meets(self, objective, X, params: tuple, tol: float) -> bool:
        """Whether :func:`solve` of ``objective`` from ``params`` would stop at once, its gradient
        there within ``tol`` (known without a pass when this is the data term at ``params``)."""
        if not self.matches(objective, X, params):
            return False
        result = objective.with_penalty(params, self.data)
        return math.isfinite(result.value) and largest_abs(result.grads) <= tol


class Problem:
    """``f(x) = objective(params(x))`` on the training rows, in preconditioned coordinates ``x``.

    ``fun(x)`` returns the value, the gradient in ``x`` and the largest gradient component
    with respect to ``(W, b)`` (the stopping test is in the parameters' own coordinates).
    ``last_params``/``last_correct`` are the last evaluated point and its correct predictions.
    """

    def __init__(
        self, objective, X: np.ndarray, y: np.ndarray, preconditioner: Preconditioner, dtype
    ) -> None:
        self.objective, self.X, self.y = objective, X, y
        self.preconditioner, self.dtype = preconditioner, numpy_dtype(dtype)
        self.last_params: tuple | None = None
        self.last_correct = 0
        self.computed_sample: Sample | None = None
        # an earlier solve's evaluation at the warm start (x0, params), for the first evaluation only
        self.start_evaluation: Evaluation | None = None
        self.start_point: tuple = (None, None)
        # the last evaluation and the lowest one (where a line search that found no decrease
        # leaves the iterate, many trial points back)
        self.evaluations: dict[str, Evaluation] = {}
        self.lowest = math.inf
        self.reused = 0  # evaluations taken from start_evaluation, without a pass
        self._single_basis: tuple = (None, None)  # (basis, its float32 copy)
        self.curvature: Curvature | None = None  # the last rescaling's

    @property
    def centered(self) -> bool:
        """The softmax is unchanged when one vector is added to every column of ``W`` (or one
        number to every bias), and the L2 penalty is smallest with the columns' mean at zero:
        the optimum has ``W 1 = 0``. Parameters are kept there (``W Π``, ``b Π`` with
        ``Π = I - 1 1ᵀ / C``), so per-class scales never push ``W`` along ``1``, a direction
        only the weak penalty would pull back."""
        return self.objective.loss.name == "softmax" and self.preconditioner.scale.shape[1] > 1

    def basis(self) -> np.ndarray:
        """The basis in the dtype the coordinate changes run in: float32 for a float32 computation
        (its parameters are rounded to float32 anyway, and its gradients come from float32
        passes; the product costs half), else the float64 basis itself."""
        basis = self.preconditioner.basis
        if self.dtype != np.float32 or not basis.shape[0]:
            return basis
        if self._single_basis[0] is not basis:
            self._single_basis = (basis, cast(basis, np.float32))
        return self._single_basis[1]

    def params(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        W, b = self.preconditioner.to_params(x, np.float64, self.basis())
        if self.centered:
            W, b = W - W.mean(axis=1, keepdims=True), b - b.mean()
        return cast(W, self.dtype), cast(b, self.dtype)

    def fun(self, x: np.ndarray) -> tuple[float, np.ndarray, float]:
        known, self.start_evaluation = self.start_evaluation, None
        if known is not None and x is self.start_point[0] and known.matches(self.objective, self.X,
                                                                            self.start_point[1]):
            params, data = self.start_point[1], known.data  # the warm start itself (see solve)
            self.reused += 1
        else:
            with one_blas_thread():  # the pass gets the cores; the coordinate changes are small
                params = self.params(x)
            data = self.objective.data_batch(params, self.X, self.y)
        result = self.objective.with_penalty(params, data)  # data stays as it is, for a later solve
        evaluation = Evaluation(params, data, self.X.shape[0], self.objective)
        self.evaluations["last"] = evaluation
        if result.value <= self.lowest:
            self.lowest, self.evaluations["lowest"] = result.value, evaluation
        dW, db = result.grads
        self.last_params, self.last_correct = params, result.n_correct
        grad_max = largest_abs((dW, db))
        if not math.isfinite(result.value):
            grad_max = math.inf
        dW, db = as_float64(dW), as_float64(db)
        with one_blas_thread():
            if self.centered:
                dW, db = dW - dW.mean(axis=1, keepdims=True), db - db.mean()
            return float(result.value), self.preconditioner.gradient(dW, db, self.basis()), grad_max

    def evaluation_at(self, params: tuple) -> Evaluation | None:
        """The last or the lowest evaluation if it was at exactly ``params``, else None."""
        for evaluation in self.evaluations.values():
            if evaluation.matches(self.objective, self.X, params):
                return evaluation
        return None

    def sample(self) -> Sample:
        """The :class:`Sample` of ``X`` along the current basis (computed at the first call; a
        solve on the same rows at another strength passes it on, see :func:`solve`)."""
        if self.computed_sample is None:
            picked = sample_rows(self.X.shape[0])
            X_rows = self.X[on_device_of(self.X, picked)]
            Xt = _transformed(self.objective.transform, X_rows)
            Xt -= self.preconditioner.center
            basis = self.preconditioner.basis
            # in float32 for a float32 computation: the rescaling needs a few digits of the
            # curvature, and the product costs half
            T = cast(Xt, self.dtype if self.dtype == np.float32 else np.float64)
            if basis.shape[0]:
                T = T @ self.basis()  # float32 exactly when T is
            lengths = (basis * basis).sum(axis=0)[:, None] if basis.shape[0] else 1.0
            labels = self.y[on_device_of(self.y, picked)]
            self.computed_sample = Sample(X_rows, labels, T * T, lengths)
        return self.computed_sample

    def refit_scales(self, state: SolverState) -> SolverState:
        """Rescale the coordinates to the softmax's curvature at the current point (same ``(W, b)``).

        Per class ``c`` and basis direction ``k``: ``scale_kc = 1 / sqrt(mean_i w_ic t_ik² + 2 alpha |B_k|²)``
        with ``w_ic = p_ic (1 - p_ic)``, ``t_i`` the sample's coordinates and ``B_k`` the basis
        vector (the penalty's curvature along it); the bias: ``1 / sqrt(mean_i w_ic)``. The
        L-BFGS memory is carried into the new coordinates exactly.
        """
        sample = self.sample()
        scores = as_float64(self.objective.scores(self.params(state.lbfgs.x), sample.rows))
        scores -= row_max(scores)
        p = exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        w = p * (1.0 - p)
        if self.objective.class_weight is not None:
            w *= on_device_of(w, as_float64(self.objective.class_weight))[sample.labels][:, None]
        squared = sample.squared
        self.curvature = Curvature(as_float64(squared.T @ cast(w, squared.dtype)) / squared.shape[0],
                                   w.mean(axis=0), sample.lengths)  # fmt: skip
        return self.rescaled(state, self.curvature)

    def rescaled(self, state: SolverState, curvature: Curvature) -> SolverState:
        """The coordinates rescaled to ``curvature`` plus this objective's penalty (same ``(W, b)``);
        the point, its gradient and the L-BFGS memory carried into them exactly."""
        P, run = state.preconditioner, state.lbfgs
        curve = curvature.data + 2.0 * l2_strength(self.objective) * curvature.lengths
        floor = 1e-10 * max(largest(curve), 1e-300)
        bias = maximum(curvature.bias, 1e-10 * max(largest(curvature.bias), 1e-300))
        new = P._replace(scale=1.0 / sqrt(maximum(curve, floor)), bias_scale=1.0 / sqrt(bias))
        r = P.ratio(new)
        self.preconditioner = new
        return SolverState(new, run._replace(x=run.x * r, grad=run.grad / r, s=run.s * r, y=run.y / r))


def iterate(optimizer: LBFGS, state: SolverState, problem: Problem, in_place: bool = False) -> SolverState:
    """One L-BFGS iteration, the coordinates refitted first every ``REFIT_EVERY`` iterations (softmax);
    ``in_place``: see :meth:`~linclass.optim.lbfgs.LBFGS.step`."""
    run = state.lbfgs
    refit = (optimizer.precondition != "none" and problem.objective.loss.name == "softmax"
             and run.n_iter > 0 and run.n_iter % REFIT_EVERY == 0)
    if refit:
        problem.sample()  # the sample's coordinates (a large product, once) on every BLAS thread
        with one_blas_thread():
            state = problem.refit_scales(state)
    return state._replace(lbfgs=optimizer.step(state.lbfgs, problem.fun, in_place))


def init_state(optimizer: LBFGS, params: tuple[np.ndarray, np.ndarray]) -> SolverState:
    """An unstarted run from ``params`` (identity coordinates until :func:`prepare` fits them),
    on the device of tensor ``params``."""
    W, b = params
    mode = resolve(optimizer.precondition, W.shape[0])
    x0 = concat([as_float64(W).ravel(), as_float64(b)])
    return SolverState(placeholder(mode, *W.shape, like=W), optimizer.init(x0))


def prepare(optimizer: LBFGS, state: SolverState, objective, X_train: np.ndarray, y: np.ndarray,
            dtype, known: Spectrum | None = None) -> tuple[SolverState, Problem]:
    """Fit the coordinates of an unstarted run (a started one keeps those it was saved with).

    ``X_train (N, D)``, ``y (N,)`` are the training rows; ``dtype`` the dtype of the computation;
    ``known`` their :class:`~linclass.optim.precondition.Spectrum` when already computed.
    """
    precond = state.preconditioner
    D, C = precond.scale.shape
    if not state.lbfgs.started:
        x0 = state.lbfgs.x
        W0, b0 = x0[: D * C].reshape(D, C), x0[D * C:]
        if objective.loss.name == "softmax" and C > 1:  # see Problem.centered: same loss, no larger penalty
            W0, b0 = W0 - W0.mean(axis=1, keepdims=True), b0 - b0.mean()
        mode = resolve(optimizer.precondition, D)
        precond = fit_preconditioner(mode, X_train, objective.transform, loss_curvature(objective, C),
                                     l2_strength(objective), C, known)
        x = precond.to_coordinates(W0, b0, triangular=mode == "cholesky")
        state = SolverState(precond, state.lbfgs._replace(x=x))
    return state, Problem(objective, X_train, y, precond, dtype)


def _transformed(transform, X_rows):
    """``transform(X_rows)`` in float64 (``X_rows`` as float64 without a transform), on its device."""
    if transform is None:
        return as_float64(X_rows, copy=True)
    if not is_tensor(X_rows):
        return transform.apply(X_rows)
    X_rows = as_float64(X_rows)
    return (X_rows - on_device_of(X_rows, transform.shift)) * on_device_of(X_rows, transform.scale)


def converged(opt_state: Any) -> bool | None:
    """Whether an L-BFGS run of ``linclass.train.fit`` converged (None for other optimizers' states)."""
    return opt_state.lbfgs.converged if isinstance(opt_state, SolverState) else None


def solve(
    objective,
    X: np.ndarray,
    y: np.ndarray,
    params: tuple[np.ndarray, np.ndarray] | None = None,
    *,
    tol: float = 1e-6,
    max_iter: int = 1000,
    memory: int = 50,
    precondition: str = "auto",
    n_classes: int | None = None,
    dtype: Any = None,
    callback: Callable[[int, float, tuple], bool | None] | None = None,
    known: Spectrum | None = None,
    mixed: bool = False,
    evaluation: Evaluation | None = None,
    curvature: Curvature | None = None,
) -> SolveResult:
    """Minimize a smooth ``objective`` on ``X (N, D)``, ``y (N,)`` by preconditioned L-BFGS.

    Args:
        objective: a :class:`linclass.objective.Objective` with a smooth loss and an L2 or no
            penalty (others are refused, as for ``optimizer="lbfgs"``).
        params: the start ``(W (D, C), b (C,))`` — a warm start — or None for zeros.
        tol: stop when the largest component of the gradient in ``(W, b)`` is at most ``tol``
            (or the relative decrease of the objective is at most 64 machine epsilons).
        max_iter: most iterations.
        memory: curvature pairs L-BFGS keeps (on Fashion-MNIST pixels 50 pairs came closer to the
            optimum in the same iterations than 10; each pair costs 2 (D*C + C) floats).
        precondition: ``"auto"`` (whitened coordinates up to ``MAX_WHITEN_FEATURES`` features,
            the Cholesky basis up to ``MAX_CHOLESKY_FEATURES``, diagonal above), ``"whiten"``,
            ``"cholesky"``, ``"diagonal"`` or ``"none"``.
        n_classes: classes when ``params`` is None (default ``y.max() + 1``; 1 output for
            ``squared_error`` with 1-D targets).
        dtype: computation dtype when ``params`` is None (float64 for float64 ``X``, else float32).
        callback: ``callback(n_iter, value, params)`` after every iteration; False stops.
        known: ``spectrum`` of an earlier result on the same inputs (and preprocessing), so a
            path over strengths computes the input covariance's eigendecomposition once, and
            (whitened or diagonal coordinates) the moment rows' coordinates the rescaling reads.
            The rows may be others of the same inputs (cross-validation's folds and refit share
            one spectrum): it picks the coordinates, which leave the optimum where it is.
        mixed: with a float64 computation, iterate with float32 passes first (over a float32
            copy of a float64 ``X``, or over ``X`` itself) until that run stops — converged, or its
            line search finds no decrease at float32's rounding level — then go on from the same
            point and L-BFGS memory with float64 passes to ``tol``. The optimum is float64's;
            most passes cost float32's (on Fashion-MNIST pixels about a quarter).
        evaluation: ``evaluation`` of an earlier result on the same ``X`` and ``y`` (the objective
            may differ in its penalty): when ``params`` are that result's, exactly, the first value
            and gradient are those at ``params`` from its data term and this penalty, without a
            pass; otherwise it is not used. (A pass would evaluate the start's round trip through
            the new coordinates, which can differ from ``params`` in the last bit.)
        curvature: ``curvature`` of an earlier result whose ``params`` start this one (whitened or
            diagonal coordinates): the coordinates start scaled to it, with this penalty, rather
            than to the curvature at zero scores (on the Fashion-MNIST grid of
            ``LinearClassifierCV``, 8 % fewer iterations).
    """
    clock = time.perf_counter()
    check_smooth(objective)
    optimizer = lbfgs(max_iter=max_iter, tol=tol, memory=memory, precondition=precondition)
    if params is None:
        if n_classes is None:
            n_classes = (1 if y.ndim == 1 else y.shape[1]) if objective.is_regression else int(y.max()) + 1
        dtype = np.dtype(dtype or (np.float64 if numpy_dtype(X.dtype) == np.float64 else np.float32))
        params = (zeros(X, (X.shape[1], n_classes), dtype), zeros(X, (n_classes,), dtype))
    params = tuple(on_device_of(X, p) for p in params)
    mode = resolve(precondition, X.shape[1])
    if mode != "none" and (known is None or known.mode != mode):
        known = spectrum(mode, X, objective.transform)
    start = init_state(optimizer, params)
    dtype = numpy_dtype(params[0].dtype)
    phases = [(X, dtype)]
    if mixed and dtype == np.float64:
        single = np.dtype(np.float32)
        phases.insert(0, (cast(X, single) if numpy_dtype(X.dtype) == np.float64 else X, single))
    state, problem = prepare(optimizer, start, objective, phases[0][0], y, phases[0][1], known)
    if mode in SAMPLE_MODES and known.sample is not None:
        problem.computed_sample = known.sample  # along the same basis
    if mode in SAMPLE_MODES and curvature is not None and objective.loss.name == "softmax":
        state = problem.rescaled(state, curvature)  # the warm start's curvature, measured before
    problem.start_evaluation, problem.start_point = evaluation, (state.lbfgs.x, params)
    stopped, single_passes = False, 0
    for X_phase, dtype_phase in phases:
        if stopped:
            break
        problem.X, problem.dtype = X_phase, dtype_phase
        state = state._replace(lbfgs=optimizer.start(state.lbfgs._replace(value=math.nan, status=RUNNING),
                                                     problem.fun))
        while not stopped and not state.lbfgs.done and state.lbfgs.n_iter < max_iter:
            state = iterate(optimizer, state, problem, in_place=True)
            run = state.lbfgs
            stopped = callback is not None and callback(run.n_iter, run.value, problem.params(run.x)) is False
        if dtype_phase != dtype:  # the float32 phase comes first
            single_passes = state.lbfgs.n_evaluations - problem.reused
    run = state.lbfgs
    message = STATUS_MESSAGES[run.status] if run.done else f"stopped after {run.n_iter} iterations"
    if mode in SAMPLE_MODES and problem.computed_sample is not None:
        known = known._replace(sample=problem.computed_sample)
    # a start that met tol from an earlier solve's evaluation is returned as it was given (its
    # round trip through the coordinates may differ in the last bit), so the next solve of a
    # path can reuse that evaluation again
    params = params if run.n_iter == 0 and problem.reused else problem.params(run.x)
    last = problem.evaluation_at(params)
    return SolveResult(params, run.value, run.n_iter, run.n_evaluations, run.n_evaluations - problem.reused,
                       run.converged, message, run.grad_max, time.perf_counter() - clock,
                       known if mode != "none" else None, single_passes, last,
                       problem.curvature if mode in SAMPLE_MODES else None)
