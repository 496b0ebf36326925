"""Many minibatch steps in one compiled call: gather, fused loss and gradient, penalty, update.

:func:`run_steps` is the loop of :meth:`linclass.train.loop._Loop.gradient_steps` for one
epoch's permutation, step after step, without returning to Python::

    rows_k   = order[k B : (k + 1) B]                       the minibatch of step k
    L_k, G_k = fused loss and gradient of X[rows_k]          (the code of Objective.batch)
    G_k     += alpha * dR(W)                                 l2: 2 W, l1: sign W, elastic net
    u_k      = optimizer direction of G_k                    plain, momentum, Nesterov, Adam
    W, b    += factor_k * u_k                                factor_k = -learning_rate(count)

The gradient comes from the row loop of :mod:`linclass.kernels.fused`, :func:`loss_rows` (the
one the fused backend runs for a batch on one thread; Numba inlines it here, so a cached
compilation of this module must be rebuilt whenever that loop, its tile losses or
:func:`linclass.kernels.fused.fold_offsets` change: Numba checks only this file's time stamp,
so clear its ``__pycache__``; the loop prefetches the rows of the next step's first blocks
too), with the preprocessing folded (the bias through the batch kernel's ``fold_offsets``) and
its chain rule applied by the same operations in the transposed layout the kernels work in,
and every update is written in the operations (and the rounding: ``W``'s dtype, no
contraction into fused multiply-adds) of the reference transformations in
:mod:`linclass.optim.transforms`, so the
compiled steps give the weights of the Python loop. Hyperparameters arrive already rounded to
``W``'s dtype, as NumPy rounds a Python float multiplying a float32 array; the per-step factors
(a schedule's value, Adam's bias corrections) are computed in Python by the same expressions
the reference evaluates.

A step whose batch has a non-finite score or an invalid label, whose loss is not finite, or
whose new weights are not finite is not taken: the call returns before it, with the weights
and optimizer state of the last completed step, and the caller runs that step through the
reference, whose checks and messages apply.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from linclass.kernels import atomics, parts
from linclass.kernels.fused import fold_offsets, loss_rows, n_parts
from linclass.kernels.vectors import aligned_empty, wide_vectors

# Optimizer directions (``kind``) and penalties (``penalty``) the kernel knows.
PLAIN, MOMENTUM, NESTEROV, ADAM = 0, 1, 2, 3
NO_PENALTY, L2, L1, ELASTIC_NET = 0, 1, 2, 3


@numba.njit(cache=True)
def _as_dtype_of(like, value):
    """``value`` rounded to the dtype of the array ``like`` (a NumPy scalar cast)."""
    out = np.empty(1, like.dtype)
    out[0] = value
    return out[0]


@numba.njit(cache=True, fastmath={"reassoc"})
def _penalty_value(flat, penalty, l1_weight, l2_weight):
    """``R(W)`` summed in float64 (in any order: the value only reaches the history)."""
    wide_vectors()
    squares = 0.0
    absolute = 0.0
    for j in range(flat.shape[0]):
        w = float(flat[j])
        squares += w * w
        absolute += abs(w)
    if penalty == L2:
        return squares
    if penalty == L1:
        return absolute
    return float(l2_weight) / 2 * squares + float(l1_weight) * absolute


@numba.njit(cache=True)
def _finish_gradient(Wt, dWt, last, db, scale, shift, inverse_n, penalty, alpha, l1_weight, l2_weight):
    """The step's gradient from the raw-weight sums, in place and in one pass over ``dWt``.

    ``last`` (the batch's last part, or empty when the batch is one part) is added to ``dWt``
    first, in the same pass: the sum of the parts in part order, as a separate ``dWt += last``
    would leave it, without another pass over both arrays. Per element, the reference's
    operations in its order and the weights' dtype: the chain rule
    of the fold ``scale[j] (dWt[c, j] - shift[j] db[c])`` (as ``fused._unfold_grad``; skipped
    with an empty ``scale``), the mean (times ``inverse_n``), then ``alpha * dR(Wt)`` as
    :mod:`linclass.penalties` adds it (l2: ``2 W``, l1: ``sign W``, elastic net:
    ``sign W l1_weight + l2_weight W``); ``db`` is scaled last (the chain rule reads it unscaled).
    ``alpha``, ``l1_weight`` (the elastic net's) and ``l2_weight`` (twice the elastic net's
    squared-term weight) are scalars of the weights' dtype.
    """
    wide_vectors()
    folded = scale.shape[0] > 0
    summed = last.shape[0] > 0
    one = _as_dtype_of(Wt, 1.0)
    zero = one - one
    for c in range(dWt.shape[0]):
        bias_grad = db[c]
        for j in range(dWt.shape[1]):
            g = dWt[c, j]
            if summed:
                g = g + last[c, j]
            if folded:
                g = scale[j] * (g - shift[j] * bias_grad)
            g = g * inverse_n
            if penalty == L2:
                w = Wt[c, j]
                g += (w + w) * alpha
            elif penalty != NO_PENALTY:
                w = Wt[c, j]
                sign = one if w > 0 else (-one if w < 0 else zero)
                g += sign * alpha if penalty == L1 else (sign * l1_weight + l2_weight * w) * alpha
            dWt[c, j] = g
    db *= inverse_n


@numba.njit(cache=True)
def _fold(Wt, b, scale, shift_scaled, Wr, b_raw):
    """Raw-input weights ``Wr[c, j] = scale[j] Wt[c, j]``, ``b_raw = b - Wt @ shift_scaled`` (float64 sum).

    :func:`linclass.kernels.fused._fold` in the transposed layout, the same operations and the
    same :func:`linclass.kernels.fused.fold_offsets`.
    """
    wide_vectors()
    fold_offsets(Wt, shift_scaled, b, b_raw)
    for c in range(Wt.shape[0]):
        for j in range(Wt.shape[1]):
            Wr[c, j] = scale[j] * Wt[c, j]


@numba.njit(cache=True)
def _update(kind, p, g, t, v, p_out, t_out, v_out, factor, hyper, mu_correction, nu_correction):
    """One optimizer update of a parameter array into ``p_out`` (and its state into ``t_out``,
    ``v_out``); True when every new value is finite.

    ``hyper``: ``[momentum]`` or Adam's ``[b1, 1 - b1, b2, 1 - b2, eps]``, in ``p``'s dtype.
    """
    wide_vectors()
    p, g, p_out = p.reshape(p.size), g.reshape(g.size), p_out.reshape(p_out.size)
    finite = True
    if kind == PLAIN:
        for j in range(p.shape[0]):
            p_out[j] = p[j] + g[j] * factor
            finite &= math.isfinite(p_out[j])
    elif kind == ADAM:
        t, t_out = t.reshape(t.size), t_out.reshape(t_out.size)
        v, v_out = v.reshape(v.size), v_out.reshape(v_out.size)
        b1, one_minus_b1, b2, one_minus_b2, eps = hyper[0], hyper[1], hyper[2], hyper[3], hyper[4]
        for j in range(p.shape[0]):
            m = b1 * t[j] + one_minus_b1 * g[j]
            s = b2 * v[j] + one_minus_b2 * g[j] * g[j]
            t_out[j], v_out[j] = m, s
            p_out[j] = p[j] + (m / mu_correction) / (math.sqrt(s / nu_correction) + eps) * factor
            finite &= math.isfinite(p_out[j])
    else:
        t, t_out = t.reshape(t.size), t_out.reshape(t_out.size)
        decay = hyper[0]
        if kind == NESTEROV:
            for j in range(p.shape[0]):
                trace = g[j] + decay * t[j]
                t_out[j] = trace
                p_out[j] = p[j] + (g[j] + decay * trace) * factor
                finite &= math.isfinite(p_out[j])
        else:
            for j in range(p.shape[0]):
                trace = g[j] + decay * t[j]
                t_out[j] = trace
                p_out[j] = p[j] + trace * factor
                finite &= math.isfinite(p_out[j])
    return finite


@numba.njit(cache=True, nogil=True)
def _shared_gradient(shared, X, order, labels, targets, weight, code, start, stop, n_split, db):
    """The step's ``n_split`` parts summed in part order (as ``fused.linear_loss`` adds them):
    ``db`` all of them, and all but the last into the first part's buffer ``shared[3][0]``, to
    which :func:`_finish_gradient` adds the last. Returns ``(total, correct, status, count)``."""
    wide_vectors()
    count = parts.share_rows(shared, X, order, labels, targets, weight, code, start, stop, n_split)
    dWt_parts, db_parts, sums, counts = shared[3], shared[4], shared[5], shared[6]
    db[:] = db_parts[0]
    total = sums[0]
    n_correct, status = counts[0, 0], counts[0, 1]
    for part in range(1, count):
        if part < count - 1:
            dWt_parts[0] += dWt_parts[part]
        db += db_parts[part]
        total += sums[part]
        n_correct += counts[part, 0]
        status = max(status, counts[part, 1])
    return total, n_correct, status, count


# ``ctl`` words beside those of linclass.kernels.parts: the phase shared (the gradient's rows, or
# the finishing by slices of classes), which buffer of ``stacked`` holds the step's weights, and
# the part whose gradient the finishing adds last.
PHASE, CURRENT, LAST = parts.PHASE, 28, 29
SLICES = 1
# Per-slice flags and values are this many words apart: each on a cache line of its own.
SLICE_STRIDE = 8


@numba.njit(cache=True)
def slice_classes(s, n_slices, n_classes):
    """``(c0, c1)``: the classes of slice ``s`` of ``n_slices`` (contiguous, sizes within one)."""
    return s * n_classes // n_slices, (s + 1) * n_classes // n_slices


@numba.njit(cache=True)
def _bits(value):
    """The float64 ``value``'s bits as an int64 (for :func:`linclass.kernels.atomics.store`)."""
    out = np.empty(1)
    out[0] = value
    return out.view(np.int64)[0]


@numba.njit(cache=True)
def _from_bits(bits):
    """The inverse of :func:`_bits`."""
    out = np.empty(1, np.int64)
    out[0] = bits
    return out.view(np.float64)[0]


@numba.njit(cache=True, nogil=True)
def _finish_slice(s, n_slices, cur, last_part, stacked, shared, scale, shift_scaled, shift, kind, hyper,
                  penalty, alpha, l1_weight, l2_weight):
    """Slice ``s`` of the step's finishing: its classes' rows of the gradient finished, their
    penalty value, the optimizer's update into the next buffer, and that buffer folded into the
    raw weights the next step reads; its finiteness and penalty value in ``stacked``."""
    wide_vectors()
    W2, b2, tW2, tb2, vW2, vb2, db, penalties, finite, scalars = stacked
    Wr, b_raw, dWt_parts = shared[1], shared[2], shared[3]
    c0, c1 = slice_classes(s, n_slices, W2.shape[1])
    nxt = 1 - cur
    W, grad = W2[cur][c0:c1], dWt_parts[0][c0:c1]
    last = dWt_parts[last_part][c0:c1] if last_part > 0 else dWt_parts[0][:0]
    inverse_n = _as_dtype_of(W, scalars[0])
    factor, mu_correction, nu_correction = (_as_dtype_of(W, scalars[1]), _as_dtype_of(W, scalars[2]),
                                            _as_dtype_of(W, scalars[3]))  # fmt: skip
    bias_grad = db[c0:c1]
    _finish_gradient(W, grad, last, bias_grad, scale, shift, inverse_n, penalty, alpha, l1_weight, l2_weight)
    value = 0.0
    if penalty != NO_PENALTY:
        value = _penalty_value(W.reshape(W.size), penalty, l1_weight, l2_weight)
    ok = _update(kind, W, grad, tW2[cur][c0:c1], vW2[cur][c0:c1], W2[nxt][c0:c1], tW2[nxt][c0:c1],
                 vW2[nxt][c0:c1], factor, hyper, mu_correction, nu_correction)
    ok &= _update(kind, b2[cur][c0:c1], bias_grad, tb2[cur][c0:c1], vb2[cur][c0:c1], b2[nxt][c0:c1],
                  tb2[nxt][c0:c1], vb2[nxt][c0:c1], factor, hyper, mu_correction, nu_correction)
    if scale.shape[0] > 0:
        _fold(W2[nxt][c0:c1], b2[nxt][c0:c1], scale, shift_scaled, Wr[c0:c1], b_raw[c0:c1])
    else:
        Wr[c0:c1] = W2[nxt][c0:c1]
        b_raw[c0:c1] = b2[nxt][c0:c1]
    # stored atomically (the value as its bits) and read so: a flag stored in a function inlined
    # into the loop, then read there with a plain load, was seen as it was before (in a features
    # split of the step, measured and not kept)
    atomics.store(penalties, s * SLICE_STRIDE, _bits(value))
    atomics.store(finite, s * SLICE_STRIDE, 1 if ok else 0)


@numba.njit(cache=True, nogil=True)
def _claim_slices(ctl, generation, stacked, shared, scale, shift_scaled, shift, kind, hyper, penalty, alpha,
                  l1_weight, l2_weight):
    """Claim and finish slices of ``generation`` until none is left (as :func:`parts._work` claims parts)."""
    wide_vectors()
    cur, last_part = atomics.load(ctl, CURRENT), atomics.load(ctl, LAST)
    n_slices = atomics.load(ctl, parts.PARTS)
    while True:
        s = parts.claim(ctl, generation, n_slices)
        if s < 0:
            return
        _finish_slice(s, n_slices, cur, last_part, stacked, shared, scale, shift_scaled, shift, kind, hyper,
                      penalty, alpha, l1_weight, l2_weight)
        atomics.fetch_add(ctl, parts.DONE, 1)


@numba.njit(cache=True, nogil=True)
def _share_slices(ctl, n_slices, cur, last_part, stacked, shared, scale, shift_scaled, shift, kind, hyper,
                  penalty, alpha, l1_weight, l2_weight):
    """The step's finishing in ``n_slices`` slices of classes, with whichever helpers claim some."""
    wide_vectors()
    atomics.store(ctl, CURRENT, cur)
    atomics.store(ctl, LAST, last_part)
    generation = parts.publish(ctl, SLICES, n_slices)
    _claim_slices(ctl, generation, stacked, shared, scale, shift_scaled, shift, kind, hyper, penalty, alpha,
                  l1_weight, l2_weight)
    parts.wait_done(ctl, n_slices)


@numba.njit(cache=True, nogil=True)
def help_steps(shared, stacked, X, order, labels, targets, weight, code, scale, shift_scaled, shift, kind,
               hyper, penalty, alpha, l1_weight, l2_weight):
    """A helper thread of :func:`run_steps`: claim the parts of every step's rows
    (:func:`linclass.kernels.parts.share_rows`) and the slices of its finishing, until
    ``GENERATION`` is -1."""
    wide_vectors()
    ctl = shared[0]
    seen = 0
    while True:
        generation = atomics.load(ctl, parts.GENERATION)
        if generation < 0:
            return
        if generation != seen:
            seen = generation
            if atomics.load(ctl, PHASE) == SLICES:
                _claim_slices(ctl, generation, stacked, shared, scale, shift_scaled, shift, kind, hyper,
                              penalty, alpha, l1_weight, l2_weight)
            else:
                parts._work(shared, generation, X, order, labels, targets, weight, code)


@numba.njit(cache=True, nogil=True)
def run_steps(
    X, order, labels, targets, weight, scale, shift_scaled, shift, code,
    stacked, kind, hyper, penalty, alpha, l1_weight, l2_weight,
    factors, mu_corrections, nu_corrections, batch, first_step, n_steps,
    shared, max_parts, min_work,
):
    """Steps ``first_step, ..., first_step + n_steps - 1`` of the epoch ordered by ``order``.

    Args:
        X: the data ``(N, D)``, C-contiguous, any fused input dtype; ``order`` its rows in this
            epoch's order; ``labels`` (int64) or ``targets`` per position of ``order``.
        weight, scale, shift_scaled, shift, code: as for :func:`linclass.kernels.fused.linear_loss`.
        stacked: ``(W2, b2, tW2, tb2, vW2, vb2, db, penalties, finite, scalars)``
            (:func:`linclass.train.compiled.new_stacked`): two buffers of the weights, ``W2 (2,
            C, D)`` transposed (the kernels' layout: every update is elementwise), ``tW2, tb2``
            the momentum trace or Adam's first moment, ``vW2, vb2`` Adam's second moment (empty
            when unused), buffer 0 holding the call's start; then scratch the steps share with
            the helper threads.
        kind, hyper: the optimizer (see :func:`_update`); ``penalty``, ``alpha``,
            ``l1_weight``, ``l2_weight`` the penalty (see :func:`_finish_gradient`).
        factors, mu_corrections, nu_corrections: per step ``k`` of the call, the factor
            ``-learning_rate`` and Adam's ``1 - b1**t``, ``1 - b2**t`` (float64, rounded here).
        shared, max_parts, min_work: a step of ``n`` rows is cut into
            :func:`linclass.kernels.fused.n_parts` parts (as the batch kernel cuts it), computed
            with the helper threads given the same ``shared`` buffers
            (:func:`linclass.kernels.parts.new_shared`) and added in part order. Such a step is
            then finished in slices of classes (:func:`slice_classes`, as many as parts): each
            slice's gradient rows, update and fold of the next step's raw weights, claimed as the
            parts are, so the helpers share that work too and only half the rows cross between
            the cores. Every element gets the operations of the whole-array finishing.

    Returns:
        ``(taken, values, correct, cur)``: the steps completed (fewer than ``n_steps`` when the
        next one needs the reference), each one's objective value and correct count, and the
        buffer of ``stacked`` holding the weights and state after the last of them.
    """
    wide_vectors()
    W2, b2, tW2, tb2, vW2, vb2, db, penalties, finite, scalars = stacked
    n_total = order.shape[0]
    folded = scale.shape[0] > 0
    ctl, Wr, b_raw = shared[0], shared[1], shared[2]
    n_classes = W2.shape[1]
    dWt = aligned_empty(n_classes, W2.shape[2], W2)
    no_part = dWt[:0]
    values = np.zeros(n_steps)
    correct = np.zeros(n_steps, np.int64)
    taken = 0
    cur = 0
    prepared = False  # Wr, b_raw already hold the step's raw weights (folded by the slices before)
    for k in range(n_steps):
        start = (first_step + k) * batch
        stop = min(n_total, start + batch)
        W, b = W2[cur], b2[cur]
        nxt = 1 - cur
        n_split = n_parts(stop - start, X.shape[1], n_classes, max_parts, min_work)
        if folded and not prepared:
            _fold(W, b, scale, shift_scaled, Wr, b_raw)
        inverse_n = _as_dtype_of(dWt, 1.0 / (stop - start))
        factor = _as_dtype_of(dWt, factors[k])
        mu_correction = _as_dtype_of(dWt, mu_corrections[k])
        nu_correction = _as_dtype_of(dWt, nu_corrections[k])
        if n_split == 1:
            dWt[:] = 0
            db[:] = 0
            raw = (Wr, b_raw) if folded else (W, b)
            total, n_correct, status = loss_rows(
                X, order, labels, targets, raw[0], raw[1], weight, code, True, start, stop, dWt, db
            )
            if status:
                break
            _finish_gradient(W, dWt, no_part, db, scale, shift, inverse_n, penalty, alpha, l1_weight,
                             l2_weight)
            value = total / (stop - start)
            if penalty != NO_PENALTY:
                value += float(alpha) * _penalty_value(W.reshape(W.size), penalty, l1_weight, l2_weight)
            if not math.isfinite(value):
                break
            finite_W = _update(kind, W, dWt, tW2[cur], vW2[cur], W2[nxt], tW2[nxt], vW2[nxt], factor, hyper,
                               mu_correction, nu_correction)
            finite_b = _update(kind, b, db, tb2[cur], vb2[cur], b2[nxt], tb2[nxt], vb2[nxt], factor, hyper,
                               mu_correction, nu_correction)
            if not (finite_W and finite_b):
                break
            prepared = False
        else:
            if not folded and not prepared:  # the helpers read the raw weights from Wr, b_raw
                Wr[:] = W
                b_raw[:] = b
            total, n_correct, status, count = _shared_gradient(
                shared, X, order, labels, targets, weight, code, start, stop, n_split, db
            )
            if status:
                break
            scalars[0], scalars[1] = 1.0 / (stop - start), factors[k]
            scalars[2], scalars[3] = mu_corrections[k], nu_corrections[k]
            n_slices = min(n_split, n_classes)
            _share_slices(ctl, n_slices, cur, count - 1, stacked, shared, scale, shift_scaled, shift, kind,
                          hyper, penalty, alpha, l1_weight, l2_weight)
            value = total / (stop - start)
            ok = True
            if penalty != NO_PENALTY:
                summed = 0.0
                for s in range(n_slices):
                    summed += _from_bits(atomics.load(penalties, s * SLICE_STRIDE))
                value += float(alpha) * summed
            for s in range(n_slices):
                ok &= atomics.load(finite, s * SLICE_STRIDE) != 0
            if not (ok and math.isfinite(value)):
                break
            prepared = True
        cur = nxt
        values[k] = value
        correct[k] = n_correct
        taken += 1
    parts.stop_helpers(ctl)
    return taken, values, correct, cur
