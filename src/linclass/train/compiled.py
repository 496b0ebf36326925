"""The compiled minibatch loop: many steps per call of :func:`linclass.kernels.epoch.run_steps`.

:meth:`linclass.train.loop._Loop.gradient_steps` is the readable reference: one Python step
per minibatch (gather, ``Objective.batch``, ``optimizer.update``, ``apply_updates``, checks).
Where the run allows, the same loop hands a stretch of steps to the compiled kernel instead and
gets back the weights, optimizer state, per-step losses and correct counts after the last
completed one — the weights of the reference steps (same operations, same rounding), so the
history and checkpoints are those of the reference too. A call is sized to take about
:data:`CALL_SECONDS`, so signals, the progress bar and ``max_iter`` are still handled at a step
boundary within tens of milliseconds; results never depend on where calls start and end.

The compiled loop covers: NumPy data the fused Numba kernels take (:meth:`NumbaKernels.supports`:
any fused loss, class weights, folded preprocessing), ``(W, b)`` parameters, the penalties
``none``/``l2``/``l1``/``elasticnet``, and optimizers that are a chain of an optional
``trace`` (momentum, Nesterov) or ``scale_by_adam`` and a ``scale`` or ``scale_by_schedule``
(``sgd``, ``adam``, every schedule). Anything else runs the reference loop, as does every run
with ``loop="python"`` or the environment variable ``LINCLASS_PYTHON_LOOP=1``. A batch the
batch kernel cuts into parts (:func:`linclass.kernels.fused.n_parts_for`: about 128 rows of 784
features and 10 classes) is cut the same way in the compiled steps, and its parts computed by
the calling thread and helper threads that spin for the length of one call
(:mod:`linclass.kernels.parts`), their gradients added in part order; the same threads then
finish the step in slices of classes (each slice's gradient rows, update and fold; see
:func:`linclass.kernels.epoch.run_steps`). Whether a call starts
helpers is decided by the measured time per step of both ways (:meth:`CompiledSteps.use_helpers`):
on a machine whose other cores are busy, spinning helpers only take time from the caller.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from linclass.kernels import NumbaKernels, num_threads
from linclass.kernels.threads import submit
from linclass.objective import Objective
from linclass.optim import EmptyState, ScaleByAdamState, ScaleByScheduleState, TraceState

PYTHON_LOOP_ENV = "LINCLASS_PYTHON_LOOP"
LOOPS = ("auto", "python", "compiled")

# Seconds of work per kernel call: short enough for Ctrl-C and the progress bar to feel immediate.
CALL_SECONDS = 0.02
# Assumed speed of the first call's steps (multiply-adds per second), before any is measured.
_FIRST_GUESS_RATE = 1e10
# Calls between two measurements of the slower way to run batches cut into parts (helpers or not).
RETRY_EVERY = 16
# The first call each way runs this fraction of a call's steps (a one-epoch fit may be two calls),
# and at least EXPLORE_STEPS steps, so that waking the helpers (20-40 us) is spread over several.
EXPLORE_FRACTION, EXPLORE_STEPS = 8, 4

_PENALTIES = {"none": 0, "l2": 1, "l1": 2, "elasticnet": 3}


class Chunk(NamedTuple):
    """What one kernel call did: ``taken`` steps, their objective values and correct counts
    (classification), the rows they used, and the parameters and optimizer state after them."""

    taken: int
    values: np.ndarray
    n_correct: int
    n_seen: int
    params: tuple
    opt_state: tuple


def python_loop_requested() -> bool:
    """True when ``LINCLASS_PYTHON_LOOP`` is ``1``, ``true`` or ``yes``."""
    return os.environ.get(PYTHON_LOOP_ENV, "").strip().lower() in ("1", "true", "yes")


def _optimizer_parts(optimizer: Any) -> tuple[tuple | None, tuple] | str:
    """``(head, tail)`` of a chain ``[trace | adam] + (scale | schedule)``, or why it is not one."""
    spec = getattr(optimizer, "spec", None)
    if spec is None or spec[0] != "chain" or len(spec[1]) not in (1, 2):
        return "the optimizer is not sgd or adam (a chain of momentum or Adam and a learning rate)"
    *head, tail = spec[1]
    if tail[0] not in ("scale", "schedule") or (head and head[0][0] not in ("trace", "adam")):
        return "the optimizer is not sgd or adam (a chain of momentum or Adam and a learning rate)"
    return (head[0] if head else None), tail


@dataclass
class CompiledSteps:
    """Runs minibatch steps of one training run in the compiled kernel (see the module docstring).

    Build with :meth:`build`; ``run`` takes and returns the loop's own ``params`` and
    ``opt_state`` (new arrays, the given ones untouched).
    """

    X: np.ndarray
    code: int
    weight: np.ndarray
    transform_vectors: tuple
    loss: Any
    penalty: int
    penalty_scalars: tuple
    kind: int
    hyper: np.ndarray
    head: tuple | None
    tail: tuple
    batch: int
    dtype: np.dtype
    seconds_per_step: dict = field(default_factory=dict)
    calls: int = 0
    helpers_compiled: bool = False

    @classmethod
    def build(
        cls, objective: Any, optimizer: Any, X: Any, y: Any, params: tuple, batch: int
    ) -> CompiledSteps | str:
        """The compiled steps for this run, or a sentence saying why the kernels do not cover it."""
        if type(objective).batch is not Objective.batch:
            return "the objective computes its batches its own way (Objective.batch is overridden)"
        kernels = objective.kernels
        if not isinstance(kernels, NumbaKernels):
            return f"the objective's kernels are {type(kernels).__name__}, not NumbaKernels"
        if len(params) != 2:
            return "the parameters are not (W, b)"
        W, b = params
        if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray) or not kernels.supports(
            X[:1], W, b, transform=objective.transform, loss=objective.loss, y=y[:1],
            class_weight=objective.class_weight,
        ) or not X.flags.c_contiguous:
            return "the fused kernels do not take these inputs (see NumbaKernels.supports)"
        if objective.penalty.name not in _PENALTIES:
            return f"penalty {objective.penalty.name!r} has no compiled form"
        parts = _optimizer_parts(optimizer)
        if isinstance(parts, str):
            return parts
        head, tail = parts
        from linclass.kernels import epoch, fused

        dtype = W.dtype
        _, _, weight, *vectors = fused.loss_inputs(y[:1], W, objective.loss, objective.class_weight,
                                                   objective.transform)
        penalty = _PENALTIES[objective.penalty.name] if objective.has_penalty else epoch.NO_PENALTY
        l1_ratio = objective.l1_ratio
        penalty_scalars = tuple(dtype.type(v) for v in (objective.alpha, l1_ratio, 2 * (1 - l1_ratio)))
        if head is None:
            kind, hyper = epoch.PLAIN, []
        elif head[0] == "trace":
            kind, hyper = (epoch.NESTEROV if head[2] else epoch.MOMENTUM), [head[1]]
        else:
            b1, b2, eps = head[1:]
            kind, hyper = epoch.ADAM, [b1, 1 - b1, b2, 1 - b2, eps]
        return cls(
            X, objective.loss.fused_code, weight, tuple(vectors), objective.loss, penalty,
            penalty_scalars, kind, np.array(hyper, dtype), head, tail, batch, dtype,
        )

    def epoch_targets(self, y_ordered: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, targets)`` of the epoch's positions from the targets in epoch order."""
        from linclass.kernels import fused

        labels, targets, *_ = fused.loss_inputs(y_ordered, W, self.loss, None, None)
        return labels, targets

    def _state_arrays(self, opt_state: tuple) -> tuple[np.ndarray, ...]:
        """``(tW, tb, vW, vb)`` for the kernel, the ``(D, C)`` arrays transposed; empty where unused."""
        empty = (np.zeros((0, 0), self.dtype), np.zeros(0, self.dtype))
        if self.head is None:
            pairs = (empty, empty)
        elif self.head[0] == "trace":
            pairs = (opt_state[0].trace, empty)
        else:
            pairs = (opt_state[0].mu, opt_state[0].nu)
        return tuple(array for W, b in pairs for array in (_transposed(W), b))

    def _factors(self, opt_state: tuple, n_steps: int) -> tuple[np.ndarray, ...]:
        """Per step: ``-learning_rate``, and Adam's ``1 - b1**t``, ``1 - b2**t`` (ones otherwise)."""
        tail_state = opt_state[-1]
        if self.tail[0] == "scale":
            factors = np.full(n_steps, self.tail[1])
        else:
            count, schedule = tail_state.count, self.tail[1]
            factors = np.array([float(schedule(count + k)) for k in range(n_steps)])
        if self.kind != 3:  # epoch.ADAM
            ones = np.ones(n_steps)
            return factors, ones, ones
        b1, b2 = self.head[1], self.head[2]
        count = opt_state[0].count
        mu = np.array([1.0 - b1 ** (count + k + 1) for k in range(n_steps)])
        nu = np.array([1.0 - b2 ** (count + k + 1) for k in range(n_steps)])
        return factors, mu, nu

    def _new_state(self, opt_state: tuple, taken: int, arrays: tuple) -> tuple:
        arrays = (_transposed(arrays[0]), arrays[1].copy(), _transposed(arrays[2]), arrays[3].copy())
        tail_state = opt_state[-1]
        if self.tail[0] == "scale":
            tail = EmptyState()
        else:
            tail = ScaleByScheduleState(count=tail_state.count + taken)
        if self.head is None:
            return (tail,)
        if self.head[0] == "trace":
            return (TraceState(trace=(arrays[0], arrays[1])), tail)
        head = ScaleByAdamState(count=opt_state[0].count + taken, mu=(arrays[0], arrays[1]),
                                nu=(arrays[2], arrays[3]))
        return (head, tail)

    def _compile_helpers(self, args: tuple) -> None:
        """Compile (or load from Numba's cache) the helpers' loop here, before the first helped call.

        Otherwise the first helper thread compiles it while the steps run, holding the GIL for
        the length of a compilation (0.7 s for Fashion-MNIST's types), and the calling thread
        stalls between its calls. ``args`` are the helpers' with a control array whose
        ``GENERATION`` is -1: the loop returns at once.
        """
        from linclass.kernels import epoch

        epoch.help_steps(*args)
        self.helpers_compiled = True

    def steps_per_call(self, n_features: int, n_classes: int) -> int:
        """Steps that take about :data:`CALL_SECONDS` (the first guess from the multiply-adds)."""
        guess = 4 * self.batch * n_features * max(n_classes, 1) / _FIRST_GUESS_RATE
        per_step = min(self.seconds_per_step.values(), default=guess)
        return max(1, int(CALL_SECONDS / per_step))

    def use_helpers(self) -> bool:
        """Whether this call starts helper threads: the faster way per step measured so far, the
        other one measured again every :data:`RETRY_EVERY` calls (load from other processes
        changes which is faster). Either way every step has the same parts: same results."""
        self.calls += 1
        helped, alone = self.seconds_per_step.get(True), self.seconds_per_step.get(False)
        if helped is None or alone is None:
            return alone is not None
        faster = helped < alone
        return faster != (self.calls % RETRY_EVERY == 0)

    def run(
        self, params: tuple, opt_state: tuple, order: np.ndarray, labels: np.ndarray, targets: np.ndarray,
        first_step: int, n_steps: int,
    ) -> Chunk:
        """Up to ``n_steps`` steps from ``first_step`` of the epoch ordered by ``order`` (fewer when a
        step needs the reference; see :mod:`linclass.kernels.epoch`), capped at one call's time."""
        from linclass.kernels import epoch, fused, parts

        W, b = params
        n_steps = min(n_steps, self.steps_per_call(W.shape[0], W.shape[1]))
        max_parts = min(num_threads(), parts.MAX_PARTS)
        n_split = fused.n_parts(self.batch, W.shape[0], W.shape[1], max_parts, fused.PARTS_MIN_WORK)
        helped = n_split > 1 and self.use_helpers()
        if n_split > 1 and len(self.seconds_per_step) < 2:  # measure both ways in the first few ms
            n_steps = max(min(n_steps, EXPLORE_STEPS), n_steps // EXPLORE_FRACTION)
        factors, mu, nu = self._factors(opt_state, n_steps)
        alpha, l1_weight, l2_weight = self.penalty_scalars
        shared = parts.new_shared(W.shape[1], W.shape[0], self.dtype, max_parts)
        stacked = new_stacked(_transposed(W), b, self._state_arrays(opt_state))
        settings = (*self.transform_vectors, self.kind, self.hyper, self.penalty, alpha, l1_weight, l2_weight)
        helper_args = (shared, stacked, self.X, order, labels, targets, self.weight, self.code, *settings)
        if helped and not self.helpers_compiled:
            stopped = (np.full_like(shared[0], -1), *shared[1:])
            self._compile_helpers((stopped, *helper_args[1:]))
        started = time.perf_counter()
        helpers = [submit(epoch.help_steps, *helper_args) for _ in range(n_split - 1 if helped else 0)]
        try:
            taken, values, correct, cur = epoch.run_steps(
                self.X, order, labels, targets, self.weight, *self.transform_vectors, self.code, stacked,
                self.kind, self.hyper, self.penalty, alpha, l1_weight, l2_weight, factors, mu, nu, self.batch,
                first_step, n_steps, shared, max_parts, fused.PARTS_MIN_WORK,
            )
        finally:
            parts.stop_helpers(shared[0])
            for helper in helpers:
                helper.cancel()
        arrays = [array[cur] for array in stacked[:6]]
        if taken:
            self.seconds_per_step[helped] = (time.perf_counter() - started) / taken
        start, stop = first_step * self.batch, min(order.shape[0], (first_step + taken) * self.batch)
        return Chunk(
            taken, values[:taken], int(correct[:taken].sum()), max(0, stop - start),
            (_transposed(arrays[0]), arrays[1].copy()), self._new_state(opt_state, taken, arrays[2:]),
        )


def _transposed(array: np.ndarray) -> np.ndarray:
    """``array.T`` as a new C-contiguous array (the kernels' ``(C, D)`` layout and back)."""
    return np.ascontiguousarray(array.T)


def new_stacked(Wt: np.ndarray, b: np.ndarray, state: tuple) -> tuple:
    """The ``stacked`` buffers of :func:`linclass.kernels.epoch.run_steps`: two of each of the
    weights ``Wt (C, D)``, ``b`` and the optimizer state ``(tW, tb, vW, vb)`` (the first holding
    them; 64-byte aligned where they are 2-D), then ``db`` and the slices' values and flags."""
    from linclass.kernels.epoch import SLICE_STRIDE
    from linclass.kernels.vectors import aligned_zeros

    buffers = []
    for array in (Wt, b, *state):
        pair = aligned_zeros((2, *array.shape), array.dtype)
        pair[0] = array
        buffers.append(pair)
    n_classes = Wt.shape[0]
    return (
        *buffers,
        np.zeros(n_classes, Wt.dtype),
        np.zeros(n_classes * SLICE_STRIDE, np.int64),
        np.zeros(n_classes * SLICE_STRIDE, np.int64),
        np.zeros(4),
    )
