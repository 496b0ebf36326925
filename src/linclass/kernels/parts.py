"""One step's rows in parts, computed by whichever thread claims each part, summed in part order.

:func:`linclass.kernels.fused.linear_loss` splits a large batch into ``P`` contiguous row parts
(:func:`n_parts`, the rule both loops use), gives each part its own gradient buffer and adds
the buffers in part order, so the result depends only on ``P``, never on which thread ran a
part or when. The compiled loop (:func:`linclass.kernels.epoch.run_steps`) does the same inside
one compiled call: for every step it publishes the step's rows in a small control array ``ctl``
and claims parts itself, while helper threads (started once per call, not per step: the
compiled loop's :func:`linclass.kernels.epoch.help_steps`, which also claims the slices of each
step's finishing, or :func:`help_steps` here for the parts alone) spin on ``ctl`` and claim
parts too. Handing a part over costs a few
cache-line transfers (well under a microsecond) instead of the 20-40 us of waking a Python
thread; a helper that the operating system has not scheduled simply claims nothing and the
calling thread computes every part, with the same result. Each part is one call of
:func:`linclass.kernels.fused.loss_rows` (inlined by Numba: a cached compilation of this module
must be rebuilt whenever that loop changes: Numba checks only this file's time stamp, so clear
its ``__pycache__``; each part prefetches its own rows).

``ctl`` (int64, :data:`CTL_SIZE`; each word on its own cache line):

- ``GENERATION``: the number of the step being shared (1, 2, ...), ``-1``: helpers leave;
- ``CLAIM``: ``generation * MAX_PARTS + next unclaimed part``, ``-1`` between steps;
- ``DONE``: parts of this generation finished; ``START``, ``STOP``, ``PARTS``: the step's
  positions and part count, and ``PHASE`` (:data:`ROWS` here), written before the generation
  is raised. (``START`` .. the last word share a line: they are read once per generation.)
"""

from __future__ import annotations

import numba
import numpy as np

from linclass.kernels import atomics
from linclass.kernels.fused import loss_rows
from linclass.kernels.vectors import aligned_zeros

GENERATION, CLAIM, DONE, START, STOP, PARTS = 0, 8, 16, 24, 25, 26
# The phase a generation shares (ROWS: the parts here; linclass.kernels.epoch adds its slices).
PHASE, ROWS = 27, 0
CTL_SIZE = 32
MAX_PARTS = 1024


def new_shared(n_classes: int, n_features: int, dtype: np.dtype, max_parts: int) -> tuple:
    """``(ctl, Wr, b_raw, dWt_parts, db_parts, sums, counts)`` for one call: the control array
    (generation 0: nothing to claim yet), the raw weights every thread reads, and ``max_parts``
    parts' gradient buffers, loss totals and ``(correct, status)`` counts."""
    if not 1 <= max_parts <= MAX_PARTS:
        raise ValueError(f"max_parts must be in 1..{MAX_PARTS}, got {max_parts}")
    return (
        np.zeros(CTL_SIZE, np.int64),
        aligned_zeros((n_classes, n_features), dtype),
        np.zeros(n_classes, dtype),
        aligned_zeros((max_parts, n_classes, n_features), dtype),
        np.zeros((max_parts, n_classes), dtype),
        np.zeros(max_parts),
        np.zeros((max_parts, 2), np.int64),
    )


@numba.njit(cache=True)
def part_step(n_rows, parts):
    """Rows per part (the last one may have fewer), as ``fused._row_bounds`` cuts them."""
    return max(1, -(-n_rows // parts))


@numba.njit(cache=True, nogil=True)
def claim(ctl, generation, count):
    """The next unclaimed piece (part, slice) of ``generation``'s ``count``, now claimed by the
    caller; -1 when none is left or the generation is over."""
    while True:
        word = atomics.load(ctl, CLAIM)
        piece = word - generation * MAX_PARTS
        if piece < 0 or piece >= count:
            return -1
        if atomics.compare_exchange(ctl, CLAIM, word, word + 1):
            return piece


@numba.njit(cache=True, nogil=True)
def publish(ctl, phase, count):
    """Raise a new generation of ``count`` pieces of ``phase`` (the phase's own words already
    written); returns its number."""
    generation = atomics.load(ctl, GENERATION) + 1
    atomics.store(ctl, PARTS, count)
    atomics.store(ctl, PHASE, phase)
    atomics.store(ctl, DONE, 0)
    atomics.store(ctl, CLAIM, generation * MAX_PARTS)
    atomics.store(ctl, GENERATION, generation)
    return generation


@numba.njit(cache=True, nogil=True)
def wait_done(ctl, count):
    """Wait until ``count`` pieces of the generation are finished, then close its claims."""
    while atomics.load(ctl, DONE) < count:
        pass
    atomics.store(ctl, CLAIM, -1)


@numba.njit(cache=True, nogil=True)
def _work(shared, generation, X, order, labels, targets, weight, code):
    """Claim and compute parts of ``generation`` until none is left (or the generation is over)."""
    ctl, Wt, b, dWt_parts, db_parts, sums, counts = shared
    start, stop, parts = atomics.load(ctl, START), atomics.load(ctl, STOP), atomics.load(ctl, PARTS)
    step = part_step(stop - start, parts)
    count = -(-(stop - start) // step)
    while True:
        part = claim(ctl, generation, count)
        if part < 0:
            return
        dWt_parts[part] = 0
        db_parts[part] = 0
        first = start + part * step
        total, correct, status = loss_rows(
            X, order, labels, targets, Wt, b, weight, code, True, first, min(stop, first + step),
            dWt_parts[part], db_parts[part],
        )
        sums[part] = total
        counts[part, 0], counts[part, 1] = correct, status
        atomics.fetch_add(ctl, DONE, 1)


@numba.njit(cache=True, nogil=True)
def share_rows(shared, X, order, labels, targets, weight, code, start, stop, parts):
    """Positions ``start:stop`` in ``parts`` parts with the helpers; returns the number of parts.

    Part ``p`` leaves its gradient in ``dWt_parts[p]``, ``db_parts[p]``, its loss total in
    ``sums[p]`` and ``(correct, status)`` in ``counts[p]``; the raw weights ``Wr``, ``b_raw``
    of ``shared`` must not change until this returns.
    """
    ctl = shared[0]
    atomics.store(ctl, START, start)
    atomics.store(ctl, STOP, stop)
    generation = publish(ctl, ROWS, parts)
    _work(shared, generation, X, order, labels, targets, weight, code)
    count = -(-(stop - start) // part_step(stop - start, parts))
    wait_done(ctl, count)
    return count


@numba.njit(cache=True, nogil=True)
def help_steps(shared, X, order, labels, targets, weight, code):
    """A helper thread: claim parts of every step :func:`share_rows` publishes, until ``GENERATION`` is -1."""
    ctl = shared[0]
    seen = 0
    while True:
        generation = atomics.load(ctl, GENERATION)
        if generation < 0:
            return
        if generation != seen:
            seen = generation
            _work(shared, generation, X, order, labels, targets, weight, code)


@numba.njit(cache=True, nogil=True)
def stop_helpers(ctl):
    """Tell the helpers of ``ctl`` to leave."""
    atomics.store(ctl, GENERATION, -1)
