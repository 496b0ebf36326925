"""Losses and dscores of a tile of rows, from its transposed scores ``sT (C, TILE_ROWS)``.

:func:`tile_loss` turns the scores of a tile's first ``n`` rows (column ``r`` is the tile's row
``r``, position ``start + r`` of the labels) into the rows' summed loss, their correct count
and, in place, their dscores. Everything that looks at all classes of a row -- the finiteness
check, the maximum and argmax, softmax's exponentials and normalizer -- runs along the rows,
one class at a time, so each step is a vector operation over the tile's rows instead of a
scalar loop over the C classes of one row (a chain of C dependent operations per row). The
exponentials go through :func:`exp_nonpositive`, a polynomial LLVM vectorizes (Numba's
``math.exp`` is a scalar call without Intel's SVML, which this build lacks).

Softmax, the default loss, is computed entirely along the rows; the other losses use the
tile's argmax and finiteness check and then their scalar per-row functions.

Status: a non-finite score among the ``n`` rows or a label outside ``0..C-1`` returns status 1
(the caller reruns the reference, whose checks and messages apply); the totals are then
meaningless.
"""

from __future__ import annotations

import math

import numba
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from linclass.kernels.blocks import FASTMATH
from linclass.kernels.vectors import wide_vectors
from linclass.losses import LOSSES

# Rows per tile: the scores of a tile fill one 512-bit float32 vector per class.
TILE_ROWS = 16

_SOFTMAX = LOSSES["softmax"].fused_code
_SVM = LOSSES["svm"].fused_code
_SQUARED_HINGE = LOSSES["squared_hinge"].fused_code
_MULTI_MARGIN = LOSSES["multi_margin"].fused_code
_SQUARED_ERROR = LOSSES["squared_error"].fused_code
_OVR_SQUARED_HINGE = LOSSES["ovr_squared_hinge"].fused_code

_LOG2E = 1.4426950408889634
# ln 2 in two parts, the first with trailing zero bits so that k * _LN2_HI is exact for |k| < 2**11.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# Below this exp(x) is under float64's smallest normal number; the result is then 0.
_EXP_MIN = -708.0


@intrinsic
def _pow2(typingctx, k):
    """``2.0 ** k`` for an int64 ``k`` in ``-1022..1023``: the float64 whose exponent bits are ``k``."""
    if not isinstance(k, types.Integer):
        raise TypeError("_pow2 takes an integer")

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[0], signature.args[0], types.int64)
        biased = builder.add(value, ir.Constant(ir.IntType(64), 1023))
        return builder.bitcast(builder.shl(biased, ir.Constant(ir.IntType(64), 52)), ir.DoubleType())

    return types.float64(k), codegen


@numba.njit(cache=True, fastmath={"contract"})
def exp_nonpositive(e, n):
    """``e[i] = exp(e[i])`` for ``i < n``, every ``e[i] <= 0`` (float64), to about 1 ulp.

    ``x = k ln 2 + t`` with ``k = round(x / ln 2)``, ``|t| <= ln 2 / 2``; ``exp(t)`` by its
    Taylor polynomial of degree 12 (truncation below 2e-16 relative), times ``2**k`` built
    from the exponent bits. Branch-free, so the loop vectorizes; below ``-708`` the result is 0.
    """
    wide_vectors()
    for i in range(n):
        x = max(e[i], _EXP_MIN)
        k = math.floor(x * _LOG2E + 0.5)
        kf = float(k)
        t = (x - kf * _LN2_HI) - kf * _LN2_LO
        p = 1.0 / 479001600.0
        p = p * t + 1.0 / 39916800.0
        p = p * t + 1.0 / 3628800.0
        p = p * t + 1.0 / 362880.0
        p = p * t + 1.0 / 40320.0
        p = p * t + 1.0 / 5040.0
        p = p * t + 1.0 / 720.0
        p = p * t + 1.0 / 120.0
        p = p * t + 1.0 / 24.0
        p = p * t + 1.0 / 6.0
        p = p * t + 0.5
        p = p * t + 1.0
        p = p * t + 1.0
        e[i] = p * _pow2(k) if e[i] >= _EXP_MIN else 0.0


@numba.njit(cache=True, fastmath=FASTMATH)
def _finite(sT, n):
    """True when the scores of the tile's first ``n`` rows are all finite (one vector sum of ``s * 0``)."""
    wide_vectors()
    check = 0.0
    for c in range(sT.shape[0]):
        for r in range(n):
            check += sT[c, r] * 0.0
    return check == 0


@numba.njit(cache=True, fastmath=FASTMATH)
def _top_and_argmax(sT, top, best):
    """``top[r] = max_c sT[c, r]``, ``best[r]`` = the first class reaching it (``r < TILE_ROWS``)."""
    wide_vectors()
    n_classes = sT.shape[0]
    for r in range(TILE_ROWS):
        top[r] = sT[0, r]
    for c in range(1, n_classes):
        for r in range(TILE_ROWS):
            top[r] = max(top[r], sT[c, r])
    for r in range(TILE_ROWS):
        best[r] = n_classes
    for c in range(n_classes - 1, -1, -1):
        for r in range(TILE_ROWS):
            best[r] = c if sT[c, r] == top[r] else best[r]


@numba.njit(cache=True)
def _softmax_tile(sT, n, lab, weight, work, total):
    """``total`` plus the softmax losses of the tile's first ``n`` rows (labels ``lab``); dscores in place.

    ``dscores[c, r] = w (p[c, r] - [c = label])``, ``loss = w (log sum_c e^(s - top) - (s_label - top))``
    with ``w`` the label's class weight. ``work (C + 4, TILE_ROWS)`` float64: the row maxima
    in row ``C`` (from :func:`_top_and_argmax`), then the exponentials in rows ``0..C-1``, the
    normalizers in row ``C + 1``, ``w / norm`` in row ``C + 2`` and ``s_label - top`` in row
    ``C + 3``. No reassociation: the sums
    run in class order and row order wherever the kernel is inlined, so the compiled loop and
    the Python loop, which both call it, get the same bits.
    """
    wide_vectors()
    n_classes = sT.shape[0]
    top, norm, scale, shifted = work[n_classes], work[n_classes + 1], work[n_classes + 2], work[n_classes + 3]
    for r in range(TILE_ROWS):
        shifted[r] = float(sT[lab[r], r]) - top[r]
    for c in range(n_classes):
        for r in range(TILE_ROWS):
            work[c, r] = float(sT[c, r]) - top[r]
    exp_nonpositive(work.reshape(work.size), n_classes * TILE_ROWS)
    for r in range(TILE_ROWS):
        norm[r] = work[0, r]
    for c in range(1, n_classes):
        for r in range(TILE_ROWS):
            norm[r] += work[c, r]
    for r in range(TILE_ROWS):
        scale[r] = weight[lab[r]] / norm[r]
    for c in range(n_classes):
        for r in range(TILE_ROWS):
            sT[c, r] = work[c, r] * scale[r]
    for r in range(n):
        label = lab[r]
        w = weight[label]
        sT[label, r] -= w
        if w != 0:
            total += w * (math.log(norm[r]) - shifted[r])
    return total


@numba.njit(cache=True)
def _hinge_row(sT, r, label, weight, power):
    wide_vectors()
    correct_score = float(sT[label, r])
    loss = 0.0
    pushed = 0.0
    for c in range(sT.shape[0]):
        if c == label:
            continue
        margin = float(sT[c, r]) - correct_score + 1.0
        if margin > 0:
            loss += margin if power == 1 else margin * margin
            grad = weight if power == 1 else 2.0 * weight * margin
            sT[c, r] = grad
            pushed += grad
        else:
            sT[c, r] = 0
    sT[label, r] = -pushed
    return weight * loss


@numba.njit(cache=True)
def _crammer_singer_row(sT, r, label, weight):
    wide_vectors()
    runner_up = -1
    best = 0.0
    for c in range(sT.shape[0]):
        if c != label and (runner_up < 0 or float(sT[c, r]) > best):
            best = float(sT[c, r])
            runner_up = c
    loss = 0.0 if runner_up < 0 else max(0.0, best - float(sT[label, r]) + 1.0)
    for c in range(sT.shape[0]):
        sT[c, r] = 0
    if loss > 0:
        sT[runner_up, r] = weight
        sT[label, r] = -weight
    return weight * loss


@numba.njit(cache=True)
def _ovr_squared_hinge_row(sT, r, label, weight):
    wide_vectors()
    loss = 0.0
    for c in range(sT.shape[0]):
        sign = 1.0 if c == label else -1.0
        gap = 1.0 - sign * float(sT[c, r])
        if gap > 0:
            loss += gap * gap
            sT[c, r] = -2.0 * weight * sign * gap
        else:
            sT[c, r] = 0
    return weight * loss


@numba.njit(cache=True)
def _squared_error_row(sT, r, targets, row):
    wide_vectors()
    loss = 0.0
    for c in range(sT.shape[0]):
        residual = float(sT[c, r]) - float(targets[row, c])
        loss += residual * residual
        sT[c, r] = 2.0 * residual
    return loss


@numba.njit(cache=True)
def tile_loss(code, sT, n, labels, targets, weight, start, work, ints, total):
    """``total`` plus the losses of the tile's first ``n`` rows (positions ``start + r``), added
    row after row as a row loop adds them; dscores in place.

    ``sT (C, TILE_ROWS)`` the scores, ``work (C + 4, TILE_ROWS)`` float64 and
    ``ints (2, TILE_ROWS)`` int64 scratch. Returns ``(total, correct, status)``.
    """
    wide_vectors()
    n_classes = sT.shape[0]
    if not _finite(sT, n):
        return total, 0, 1
    if code == _SQUARED_ERROR:
        for r in range(n):
            total += _squared_error_row(sT, r, targets, start + r)
        return total, 0, 0
    lab, best = ints[0], ints[1]
    for r in range(TILE_ROWS):
        lab[r] = labels[start + r] if r < n else 0
        if lab[r] < 0 or lab[r] >= n_classes:
            return total, 0, 1
    _top_and_argmax(sT, work[n_classes], best)
    correct = 0
    for r in range(n):
        correct += best[r] == lab[r]
    if code == _SOFTMAX:
        return _softmax_tile(sT, n, lab, weight, work, total), correct, 0
    for r in range(n):
        label = lab[r]
        w = weight[label]
        if code == _SVM:
            total += _hinge_row(sT, r, label, w, 1)
        elif code == _SQUARED_HINGE:
            total += _hinge_row(sT, r, label, w, 2)
        elif code == _MULTI_MARGIN:
            total += _hinge_row(sT, r, label, w / n_classes, 1)
        elif code == _OVR_SQUARED_HINGE:
            total += _ovr_squared_hinge_row(sT, r, label, w)
        else:  # the registry's crammer_singer code
            total += _crammer_singer_row(sT, r, label, w)
    return total, correct, 0
