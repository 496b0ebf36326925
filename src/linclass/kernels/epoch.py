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

from linclass.kernels import parts
from linclass.kernels.fused import fold_offsets, loss_rows, n_parts
from linclass.kernels.vectors import aligned_copy, aligned_empty, wide_vectors

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


@numba.njit(cache=True, nogil=True)
def run_steps(
    X, order, labels, targets, weight, scale, shift_scaled, shift, code,
    Wt, b, tW, tb, vW, vb, kind, hyper, penalty, alpha, l1_weight, l2_weight,
    factors, mu_corrections, nu_corrections, batch, first_step, n_steps,
    shared, max_parts, min_work,
):
    """Steps ``first_step, ..., first_step + n_steps - 1`` of the epoch ordered by ``order``.

    Args:
        X: the data ``(N, D)``, C-contiguous, any fused input dtype; ``order`` its rows in this
            epoch's order; ``labels`` (int64) or ``targets`` per position of ``order``.
        weight, scale, shift_scaled, shift, code: as for :func:`linclass.kernels.fused.linear_loss`.
        Wt, b: the weights, ``Wt (C, D)`` transposed (the kernels' layout: every update is
            elementwise); ``tW, tb`` the momentum trace or Adam's first moment, ``vW, vb``
            Adam's second moment, ``tW`` and ``vW`` transposed too (empty when unused). Never modified.
        kind, hyper: the optimizer (see :func:`_update`); ``penalty``, ``alpha``,
            ``l1_weight``, ``l2_weight`` the penalty (see :func:`_finish_gradient`).
        factors, mu_corrections, nu_corrections: per step ``k`` of the call, the factor
            ``-learning_rate`` and Adam's ``1 - b1**t``, ``1 - b2**t`` (float64, rounded here).
        shared, max_parts, min_work: a step of ``n`` rows is cut into
            :func:`linclass.kernels.fused.n_parts` parts (as the batch kernel cuts it), computed
            with the helper threads given the same ``shared`` buffers
            (:func:`linclass.kernels.parts.new_shared`) and added in part order.

    Returns:
        ``(taken, values, correct, Wt, b, tW, tb, vW, vb)``: the steps completed (fewer than
        ``n_steps`` when the next one needs the reference), each one's objective value and
        correct count, and the weights and state after the last of them (new arrays).
    """
    wide_vectors()
    n_total = order.shape[0]
    # 64-byte aligned (linclass.kernels.vectors): the unfolded weights are the kernel's operands
    cur = (aligned_copy(Wt), b.copy(), tW.copy(), tb.copy(), vW.copy(), vb.copy())
    nxt = (aligned_copy(Wt), b.copy(), tW.copy(), tb.copy(), vW.copy(), vb.copy())
    folded = scale.shape[0] > 0
    ctl, Wr, b_raw = shared[0], shared[1], shared[2]
    dWt, db = aligned_empty(Wt.shape[0], Wt.shape[1], Wt), np.empty_like(b)
    no_part = dWt[:0]
    values = np.zeros(n_steps)
    correct = np.zeros(n_steps, np.int64)
    taken = 0
    for k in range(n_steps):
        start = (first_step + k) * batch
        stop = min(n_total, start + batch)
        if folded:
            _fold(cur[0], cur[1], scale, shift_scaled, Wr, b_raw)
        n_split = n_parts(stop - start, X.shape[1], Wt.shape[0], max_parts, min_work)
        grad, last = dWt, no_part  # the step's gradient, and a part still to add to it
        if n_split == 1:
            dWt[:] = 0
            db[:] = 0
            raw = (Wr, b_raw) if folded else (cur[0], cur[1])
            total, n_correct, status = loss_rows(
                X, order, labels, targets, raw[0], raw[1], weight, code, True, start, stop, dWt, db
            )
        else:
            if not folded:  # the helpers read the raw weights from Wr, b_raw
                Wr[:] = cur[0]
                b_raw[:] = cur[1]
            total, n_correct, status, count = _shared_gradient(
                shared, X, order, labels, targets, weight, code, start, stop, n_split, db
            )
            grad = shared[3][0]
            if count > 1:
                last = shared[3][count - 1]
        if status:
            break
        inverse_n = _as_dtype_of(dWt, 1.0 / (stop - start))
        _finish_gradient(
            cur[0], grad, last, db, scale, shift, inverse_n, penalty, alpha, l1_weight, l2_weight
        )
        value = total / (stop - start)
        if penalty != NO_PENALTY:
            value += float(alpha) * _penalty_value(cur[0].reshape(cur[0].size), penalty, l1_weight, l2_weight)
        if not math.isfinite(value):
            break
        factor = _as_dtype_of(dWt, factors[k])
        mu_correction = _as_dtype_of(dWt, mu_corrections[k])
        nu_correction = _as_dtype_of(dWt, nu_corrections[k])
        finite_W = _update(kind, cur[0], grad, cur[2], cur[4], nxt[0], nxt[2], nxt[4], factor, hyper,
                           mu_correction, nu_correction)
        finite_b = _update(kind, cur[1], db, cur[3], cur[5], nxt[1], nxt[3], nxt[5], factor, hyper,
                           mu_correction, nu_correction)
        if not (finite_W and finite_b):
            break
        cur, nxt = nxt, cur
        values[k] = value
        correct[k] = n_correct
        taken += 1
    parts.stop_helpers(ctl)
    return taken, values, correct, cur[0], cur[1], cur[2], cur[3], cur[4], cur[5]
