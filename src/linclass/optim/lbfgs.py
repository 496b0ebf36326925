"""L-BFGS of linclass's own: the two-loop recursion over SciPy's strong-Wolfe line search.

One iteration maps an :class:`LBFGSState` to the next and depends on nothing else, so a run
saved between two iterations (the state's arrays and numbers are all a checkpoint holds)
resumes to the same bits as a run that was never interrupted.

Iteration k, with ``g_k = grad f(x_k)`` and the ``m`` newest pairs ``s_i = x_{i+1} - x_i``,
``y_i = g_{i+1} - g_i`` (``rho_i = 1 / y_i·s_i``):

    q = g_k;  for i newest..oldest:  a_i = rho_i s_i·q;  q -= a_i y_i
    r = (s·y / y·y)_newest q;  for i oldest..newest:  r += s_i (a_i - rho_i y_i·r)
    d_k = -r;  x_{k+1} = x_k + t d_k   (t from ``scipy.optimize.line_search``, strong Wolfe)

The first step (and any step after the memory is reset) is steepest descent with the first
trial length ``1.01 / ||g||``; later steps try ``t = 1`` first. A pair is kept only when
``s·y > 0`` (curvature condition), so the implied Hessian stays positive definite.

Stopping, as SciPy's L-BFGS-B (and so scikit-learn's LogisticRegression) stops: the largest
gradient component (in the parameters' own coordinates) at most ``tol``, or a relative decrease
``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1)`` at most ``ftol = 64 · eps(float64)``. A line
search that finds no decrease ends the run unconverged.

scipy is imported when an iteration runs, so ``import linclass`` needs numpy alone. The hinge
losses and the L1 penalty have no continuous gradient: :func:`check_smooth` refuses them.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from linclass._arrays import as_float64, copy, dot, norm, zeros
from linclass._validation import check_int, check_positive

Params = tuple[np.ndarray, ...]
ValueAndGrad = Callable[[Params], tuple[float, Params]]
IterationCallback = Callable[[Params, float], bool | None]
# x (n,) float64 -> (f(x), grad f(x) (n,) float64, the convergence measure max |gradient|);
# x and the gradient are NumPy arrays or tensors on one device, alike
FlatFun = Callable[[np.ndarray], tuple[float, np.ndarray, float]]

RUNNING, CONVERGED_GRADIENT, CONVERGED_VALUE, LINE_SEARCH_FAILED = 0, 1, 2, 3
STATUS_MESSAGES = {
    RUNNING: "running",
    CONVERGED_GRADIENT: "converged: the largest gradient component is at most tol",
    CONVERGED_VALUE: "converged: the relative decrease of the objective is at most ftol",
    LINE_SEARCH_FAILED: "stopped: the line search found no decrease of the objective",
}
FTOL = 64 * np.finfo(np.float64).eps


class LBFGSState(NamedTuple):
    """Everything the next iteration needs (a tree of arrays and numbers, as checkpoints store).

    Attributes:
        x: current point ``(n,)``, float64.
        value: ``f(x)``; NaN before the first evaluation.
        grad: ``grad f(x)`` ``(n,)``.
        grad_max: the convergence measure at ``x`` (largest gradient component).
        s, y: ``(m, n)`` ring buffers of steps and gradient changes.
        n_pairs: pairs stored (at most ``m``); newest: ring index of the newest pair.
        n_iter: iterations done; n_evaluations: function evaluations done.
        status: ``RUNNING`` or why the run ended (see ``STATUS_MESSAGES``).
    """

    x: np.ndarray
    value: float
    grad: np.ndarray
    grad_max: float
    s: np.ndarray
    y: np.ndarray
    n_pairs: int
    newest: int
    n_iter: int
    n_evaluations: int
    status: int

    @property
    def started(self) -> bool:
        return not np.isnan(self.value)

    @property
    def converged(self) -> bool:
        return self.status in (CONVERGED_GRADIENT, CONVERGED_VALUE)

    @property
    def done(self) -> bool:
        return self.status != RUNNING


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
    """Limited-memory BFGS with SciPy's strong-Wolfe line search.

    Attributes:
        max_iter: most iterations.
        tol: stop when the largest gradient component is at most ``tol`` (SciPy's ``gtol``).
        memory: curvature pairs kept (SciPy's ``maxcor``).
        precondition: coordinates the iterations run in, for :func:`linclass.optim.solver.solve`
            and ``linclass.train.fit`` (see :mod:`linclass.optim.precondition`); ``minimize``
            works in the coordinates it is given.
    """

    max_iter: int = 100
    tol: float = 1e-4
    memory: int = 10
    precondition: str = "auto"

    def init(self, x0: np.ndarray) -> LBFGSState:
        """A state at ``x0`` (flat float64; a tensor keeps the state on its device), not yet evaluated."""
        x0 = as_float64(x0, copy=True).ravel()
        n = x0.shape[0]
        memory = zeros(x0, (self.memory, n))
        nan = float("nan")
        return LBFGSState(x0, nan, zeros(x0, (n,)), nan, memory, copy(memory), 0, 0, 0, 0, RUNNING)

    def start(self, state: LBFGSState, fun: FlatFun) -> LBFGSState:
        """Evaluate ``fun`` at ``state.x`` (a no-op for a started state)."""
        if state.started:
            return state
        value, grad, grad_max = fun(state.x)
        status = CONVERGED_GRADIENT if grad_max <= self.tol else RUNNING
        return state._replace(value=float(value), grad=grad, grad_max=float(grad_max),
                              n_evaluations=state.n_evaluations + 1, status=status)

    def direction(self, state: LBFGSState) -> np.ndarray:
        """``-H_k g_k`` by the two-loop recursion (steepest descent with an empty memory).

        The inner products stay where the vectors are (0-d tensors on a device), so the
        recursion reads nothing back to the host."""
        q = copy(state.grad)
        if state.n_pairs == 0:
            return -q
        m = self.memory
        order = [(state.newest - i) % m for i in range(state.n_pairs)]  # newest first
        rho = {i: 1.0 / (state.s[i] @ state.y[i]) for i in order}
        a = {}
        for i in order:
            a[i] = rho[i] * (state.s[i] @ q)
            q -= a[i] * state.y[i]
        newest = state.newest
        q *= (state.s[newest] @ state.y[newest]) / (state.y[newest] @ state.y[newest])
        for i in reversed(order):
            q += (a[i] - rho[i] * (state.y[i] @ q)) * state.s[i]
        return -q

    def step(self, state: LBFGSState, fun: FlatFun, in_place: bool = False) -> LBFGSState:
        """One iteration from a started, running ``state``: direction, line search, memory update.

        ``in_place=True`` writes the new pair into ``state``'s own memory buffers instead of
        copies (2 m n floats per iteration less to move), for a caller that never reads the old
        state again; the default leaves ``state`` as it was (a checkpoint may hold it)."""
        if not state.started:
            raise ValueError("the L-BFGS state has not been evaluated yet; call start() first")
        if state.done:
            return state
        counter = [0]
        last: list = [None, None, None]  # direction, step length, (f, grad, grad_max) of the last point

        def along(direction):
            """``t -> (f, grad f, grad_max)`` at ``x + t direction``; the line search asks for f
            and f' at one point at a time, so only the last point is kept."""

            def evaluate(t: float) -> tuple[float, np.ndarray, float]:
                if last[0] is not direction or last[1] != float(t):
                    value, grad, grad_max = fun(state.x + float(t) * direction)
                    last[:] = [direction, float(t), (float(value), grad, float(grad_max))]
                    counter[0] += 1
                return last[2]

            return evaluate

        direction = self.direction(state)
        fresh = state.n_pairs == 0
        if not float(direction @ state.grad) < 0:  # not a descent direction: forget the memory
            direction, fresh = -state.grad, True
        step_length = _line_search(along(direction), state, direction, fresh)
        if step_length is None and not fresh:
            direction, fresh = -state.grad, True
            step_length = _line_search(along(direction), state, direction, fresh)
        n_evaluations = state.n_evaluations + counter[0]
        if step_length is None:
            return state._replace(n_iter=state.n_iter + 1, n_evaluations=n_evaluations,
                                  status=LINE_SEARCH_FAILED)
        x = state.x + step_length * direction
        before = counter[0]
        value, grad, grad_max = along(direction)(step_length)
        n_evaluations += counter[0] - before
        s, y = x - state.x, grad - state.grad
        s_buffer, y_buffer, n_pairs, newest = state.s, state.y, 0 if fresh else state.n_pairs, state.newest
        if float(s @ y) > np.finfo(np.float64).eps * float(y @ y):
            newest = 0 if n_pairs == 0 else (newest + 1) % self.memory
            if not in_place:
                s_buffer, y_buffer = copy(s_buffer), copy(y_buffer)
            s_buffer[newest], y_buffer[newest] = s, y
            n_pairs = min(n_pairs + 1, self.memory)
        if grad_max <= self.tol:
            status = CONVERGED_GRADIENT
        elif state.value - value <= FTOL * max(abs(state.value), abs(value), 1.0):
            status = CONVERGED_VALUE
        else:
            status = RUNNING
        return LBFGSState(x, value, grad, grad_max, s_buffer, y_buffer, n_pairs, newest, state.n_iter + 1,
                          n_evaluations, status)

    def minimize(
        self, fun: ValueAndGrad, params: Params, callback: IterationCallback | None = None
    ) -> LBFGSResult:
        """Minimize ``fun(params) -> (value, grads)`` from ``params`` (a tuple of arrays).

        ``callback(params, value)`` runs after every iteration; returning False stops. Returns
        the final parameters (in the dtypes of ``params``), value, iteration and evaluation
        counts, whether the run converged, and why it stopped.
        """
        shapes = [p.shape for p in params]
        dtypes = [p.dtype for p in params]
        splits = np.cumsum([p.size for p in params])[:-1]

        def unflatten(x: np.ndarray) -> Params:
            return tuple(
                part.reshape(shape).astype(dtype)
                for part, shape, dtype in zip(np.split(x, splits), shapes, dtypes, strict=True)
            )

        def flat_fun(x: np.ndarray) -> tuple[float, np.ndarray, float]:
            value, grads = fun(unflatten(x))
            grad = np.concatenate([np.asarray(g, dtype=np.float64).ravel() for g in grads])
            return float(value), grad, float(np.abs(grad).max(initial=0.0))

        state = self.start(self.init(np.concatenate([np.ravel(p) for p in params])), flat_fun)
        message = None
        while not state.done and state.n_iter < self.max_iter:
            state = self.step(state, flat_fun)
            if callback is not None and callback(unflatten(state.x), state.value) is False:
                message = "stopped by the callback"
                break
        if message is None:
            message = (STATUS_MESSAGES[state.status] if state.done
                       else f"stopped: max_iter={self.max_iter} reached")
        return LBFGSResult(unflatten(state.x), state.value, state.n_iter, state.n_evaluations,
                           state.converged, message)


def _line_search(evaluate, state: LBFGSState, direction: np.ndarray, fresh: bool) -> float | None:
    """A strong-Wolfe step length along ``direction`` (None when SciPy's search finds none).

    ``evaluate(t)`` is ``(f, grad f, grad_max)`` at ``state.x + t direction``. SciPy's search
    sees numbers only: it runs on the line itself, a one-element ``t`` from 0 in direction 1,
    with ``phi(t) = f`` and ``phi'(t) = grad f · direction`` (``0 + t * 1`` is ``t`` exactly), so
    the vectors stay on their device and one inner product per trial is read back.
    """
    from scipy.optimize import line_search

    # With ``old_old_fval = f + ||g|| / 2`` SciPy's first trial is 1.01 / ||g|| (capped at 1);
    # without it, 1: the unit step a quasi-Newton direction is scaled for.
    previous = state.value + norm(state.grad) / 2 if fresh else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The line search algorithm")  # no step: None below
        step_length, _, _, value, _, _ = line_search(
            lambda t: evaluate(float(t[0]))[0],
            lambda t: np.array([dot(evaluate(float(t[0]))[1], direction)]),
            np.zeros(1), np.ones(1), gfk=np.array([dot(state.grad, direction)]), old_fval=state.value,
            old_old_fval=previous, c1=1e-4, c2=0.9, amax=None, maxiter=20,
        )
    return None if step_length is None or not np.isfinite(value) else float(step_length)


def lbfgs(max_iter: int = 100, tol: float = 1e-4, memory: int = 10, precondition: str = "auto") -> LBFGS:
    """An :class:`LBFGS` minimizer with validated settings.

    Example:
        >>> f = lambda p: (float(np.sum((p[0] - 3.0) ** 2)), (2 * (p[0] - 3.0),))
        >>> result = lbfgs(tol=1e-8).minimize(f, (np.zeros(4),))
        >>> np.allclose(result.params[0], 3.0)
        True
    """
    from linclass.optim.precondition import check_precondition

    return LBFGS(
        max_iter=check_int(max_iter, "max_iter"),
        tol=check_positive(tol, "tol", allow_zero=True),
        memory=check_int(memory, "memory"),
        precondition=check_precondition(precondition),
    )
