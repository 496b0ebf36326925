"""Fused Numba kernels: scores, loss, dscores and gradients in one pass over the rows.

The same computation as :class:`linclass.kernels.NumpyKernels`, but each tile of ``TILE_ROWS``
rows is converted to float block by block (``BLOCK_ROWS`` rows) in a buffer that stays in
cache, multiplied by ``W`` into the tile's transposed scores, turned into per-sample losses and
dscores along the tile's rows (:mod:`linclass.kernels.tile_losses`), and multiplied back into
``dW`` before the next tile is read. So ``X`` is read once, never converted as a whole (uint8
stays uint8) and no ``(N, C)`` temporary exists. ``W`` is used transposed, ``(C, D)``, so the
inner loops run along the features and vectorize; several rows share each load of ``W`` and
``dW``.

Large calls split the rows into one part per thread (each with its own ``dW``, summed at the
end); the kernels release the GIL and run on :func:`linclass.kernels.threads.map_parts`.

Rows with a score that is NaN or infinite, or a label out of range, raise the ``status``
flag instead of an error: the caller then reruns the reference, whose checks and messages
apply (and whose ``-inf`` handling for softmax is then used).
"""

from __future__ import annotations

import numba
import numpy as np

from linclass.kernels.blocks import FASTMATH, block_backward, block_scores
from linclass.kernels.prefetch import AHEAD, prefetch_rows
from linclass.kernels.protocol import ChunkSums
from linclass.kernels.threads import map_parts, num_threads
from linclass.kernels.tile_losses import TILE_ROWS, tile_loss
from linclass.kernels.vectors import aligned_empty, aligned_zeros, wide_vectors
from linclass.losses import LossSpec
from linclass.preprocess import Affine

# Rows that share each load of W in the forward pass and each load/store of dW in the
# backward pass; 4 is the most that keeps the accumulators in registers for every C.
BLOCK_ROWS = 4

_FASTMATH = FASTMATH

_NO_LABELS = np.zeros(0, np.int64)
NO_ROWS = np.zeros(0, np.int64)
_NO_TRANSFORM = {np.dtype(t): np.zeros(0, t) for t in (np.float32, np.float64)}


@numba.njit(cache=True, fastmath=_FASTMATH)
def _load_block(X, rows, start, stop, xs, k):
    """``xs[k + r] = X[i]`` as float for positions ``i = start + r < stop`` (through ``rows[i]``
    if not empty); the block's rows beyond ``stop`` are zeros."""
    wide_vectors()
    for r in range(stop - start):
        i = rows[start + r] if rows.shape[0] else start + r
        for j in range(X.shape[1]):
            xs[k + r, j] = X[i, j]
    for r in range(stop - start, BLOCK_ROWS):
        xs[k + r, :] = 0


@numba.njit(cache=True, nogil=True)
def loss_rows(X, rows, labels, targets, Wt, b, weight, code, with_grad, start_row, stop_row, dWt, db):
    """Positions ``start_row:stop_row``: add to ``dWt (C, D)`` and ``db``; ``(total, correct, status)``.

    Position ``i`` is row ``rows[i]`` of ``X`` (row ``i`` when ``rows`` is empty) with label
    ``labels[i]`` (or targets ``targets[i]``). Tiles of ``TILE_ROWS`` rows: their blocks of
    ``BLOCK_ROWS`` rows are converted and multiplied into the tile's transposed scores, the
    tile's losses computed along its rows (:func:`linclass.kernels.tile_losses.tile_loss`),
    and the blocks multiplied back into ``dWt`` (the last one first); the rows ``AHEAD``
    positions on are prefetched (:mod:`linclass.kernels.prefetch`), the next step's first ones
    included.
    """
    wide_vectors()
    n_classes = Wt.shape[0]
    xs = aligned_empty(TILE_ROWS, X.shape[1], Wt)
    sT = np.zeros((n_classes, TILE_ROWS), Wt.dtype)
    work = np.empty((n_classes + 4, TILE_ROWS))
    ints = np.empty((2, TILE_ROWS), np.int64)
    total = 0.0
    correct = 0
    status = 0
    for start in range(start_row, stop_row, TILE_ROWS):
        stop = min(stop_row, start + TILE_ROWS)
        n = stop - start
        for k in range(0, n, BLOCK_ROWS):
            prefetch_rows(X, rows, start + k + AHEAD, start + k + AHEAD + BLOCK_ROWS)
            _load_block(X, rows, start + k, min(stop, start + k + BLOCK_ROWS), xs, k)
            block_scores(xs, k, Wt, b, sT)
        sums = tile_loss(code, sT, n, labels, targets, weight, start, work, ints, total)
        total = sums[0]
        correct += sums[1]
        status |= sums[2]
        if with_grad:
            padded = -(-n // BLOCK_ROWS) * BLOCK_ROWS
            for r in range(n, padded):  # the last block's missing rows
                sT[:, r] = 0
            # last block first: its rows, converted last, are the ones still in the first-level
            # cache (at D = 784, 10 classes: 21.7-22.2 -> 20.3-21.0 us per 64-row batch)
            for k in range(padded - BLOCK_ROWS, -1, -BLOCK_ROWS):
                block_backward(xs, k, sT, dWt, db)
    return total, correct, status


@numba.njit(cache=True, nogil=True)
def _scores_rows(X, Wt, b, out, start_row, stop_row):
    """``out[i] = X[i] @ Wt.T + b`` for rows ``start_row:stop_row``."""
    wide_vectors()
    xs = np.empty((BLOCK_ROWS, X.shape[1]), Wt.dtype)
    sT = np.empty((Wt.shape[0], BLOCK_ROWS), Wt.dtype)
    for start in range(start_row, stop_row, BLOCK_ROWS):
        stop = min(stop_row, start + BLOCK_ROWS)
        _load_block(X, NO_ROWS, start, stop, xs, 0)
        block_scores(xs, 0, Wt, b, sT)
        for r in range(stop - start):
            for c in range(Wt.shape[0]):
                out[start + r, c] = sT[c, r]


@numba.njit(cache=True, fastmath={"reassoc"})
def fold_offsets(Wt, shift_scaled, b, b_raw):
    """``b_raw[c] = b[c] - sum_j shift_scaled[j] Wt[c, j]``, the sums in float64 for the unscaled
    transposed weights ``Wt (C, D)``.

    Reassociated, so LLVM sums each class in vector lanes (0.5 us at C = 10, D = 784 against
    5.2 us for the C chains of a sequential sum, a fifth of a 64-row step on two cores); both
    loops fold through this one function, in the same layout, so they get the same bits.
    """
    wide_vectors()
    for c in range(Wt.shape[0]):
        total = 0.0
        for j in range(Wt.shape[1]):
            total += shift_scaled[j] * Wt[c, j]
        b_raw[c] = b[c] - total


@numba.njit(cache=True)
def _fold(W, b, scale, shift_scaled):
    """Raw-input weights, transposed: ``Wt[c, j] = scale[j] W[j, c]``, ``b_raw = b - shift_scaled @ W``.

    Empty ``scale`` and ``shift_scaled`` mean no transform (see :func:`fold_offsets`).
    """
    wide_vectors()
    n_features, n_classes = W.shape
    Wt = aligned_empty(n_classes, n_features, W)
    for j in range(n_features):
        for c in range(n_classes):
            Wt[c, j] = W[j, c]
    b_raw = b.copy()
    if scale.size:
        fold_offsets(Wt, shift_scaled, b, b_raw)
        for c in range(n_classes):
            for j in range(n_features):
                Wt[c, j] = scale[j] * Wt[c, j]
    return Wt, b_raw


@numba.njit(cache=True)
def _unfold_grad(dWt, db, scale, shift):
    """``dW (D, C)`` from the raw-weight gradient ``dWt (C, D)``: ``scale[j] (dWt[c, j] - shift[j] db[c])``.

    The chain rule of :meth:`linclass.preprocess.Affine.fold_grad`; empty ``scale`` means no transform.
    """
    wide_vectors()
    n_classes, n_features = dWt.shape
    dW = np.empty((n_features, n_classes), dWt.dtype)
    if scale.size:
        for j in range(n_features):
            for c in range(n_classes):
                dW[j, c] = scale[j] * (dWt[c, j] - shift[j] * db[c])
    else:
        for j in range(n_features):
            for c in range(n_classes):
                dW[j, c] = dWt[c, j]
    return dW


@numba.njit(cache=True, nogil=True)
def _loss_one_part(X, labels, targets, W, b, weight, scale, shift_scaled, shift, code, with_grad):
    """Everything on one thread: fold, rows, unfold. Returns ``(total, correct, status, dW, db)``."""
    wide_vectors()
    Wt, b_raw = _fold(W, b, scale, shift_scaled)
    dWt = aligned_empty(W.shape[1], X.shape[1] if with_grad else 0, W)
    dWt[:] = 0
    db = np.zeros(W.shape[1], W.dtype)
    total, correct, status = loss_rows(
        X, NO_ROWS, labels, targets, Wt, b_raw, weight, code, with_grad, 0, X.shape[0], dWt, db
    )
    dW = _unfold_grad(dWt, db, scale, shift) if with_grad else dWt.T.copy()
    return total, correct, status, dW, db


# Multiply-adds per part below which a batch is not cut into parts. Both loops cut a batch alike
# and add the parts in part order, so the cut, not the threads, decides the rounding; the
# compiled loop hands parts to spinning helpers (linclass.kernels.parts; docs/performance.md).
PARTS_MIN_WORK = 250_000
# Multiply-adds per part below which the parts run one after the other rather than on Python
# threads (waking one costs 20-40 us): 256 x 784 x 10 (2M) ran as fast on one thread as on two,
# 1024 x 784 x 10 and 256 x 3072 x 10 (8M) 1.4-1.6x faster on two (2 cores).
THREAD_MIN_WORK = 3_500_000


@numba.njit(cache=True)
def n_parts(n_rows, n_features, n_classes, max_parts, min_work):
    """Parts for ``n_rows`` rows: at most ``max_parts``, each with ``min_work`` multiply-adds and 4 rows."""
    work = n_rows * n_features * max(n_classes, 1)
    return max(1, min(max_parts, work // min_work, n_rows // BLOCK_ROWS))


def n_parts_for(n_rows: int, n_features: int, n_classes: int) -> int:
    """Parts a batch is cut into: at most :func:`num_threads`, each with ``PARTS_MIN_WORK`` multiply-adds."""
    return int(n_parts(n_rows, n_features, n_classes, num_threads(), PARTS_MIN_WORK))


def _run_parts(function, count: int, work: int) -> list:
    """``[function(0), ...]`` on Python threads (:func:`map_parts`) when each part has ``THREAD_MIN_WORK``."""
    threaded = work >= THREAD_MIN_WORK * count
    return map_parts(function, count) if threaded else [function(part) for part in range(count)]


def _row_bounds(n_rows: int, n_parts: int) -> list[tuple[int, int]]:
    """``n_parts`` (fewer for tiny inputs, at least one) contiguous slices covering ``range(n_rows)``."""
    step = max(1, -(-n_rows // n_parts))
    return [(start, min(n_rows, start + step)) for start in range(0, n_rows, step)] or [(0, 0)]


def loss_inputs(
    y: np.ndarray, W: np.ndarray, loss: LossSpec, class_weight: np.ndarray | None, transform: Affine | None
) -> tuple[np.ndarray, ...]:
    """The kernels' view of labels and settings: ``(labels, targets, weight, scale, shift_scaled, shift)``.

    ``labels`` int64 (empty for regression), ``targets (N, C)`` in ``W``'s dtype (empty for
    classification), ``weight (C,)`` float64 class weights (ones without them), and the
    transform's vectors of :func:`_transform_vectors`.
    """
    n_classes = W.shape[1]
    if loss.is_regression:
        labels = _NO_LABELS
        targets = np.ascontiguousarray(y.reshape(y.shape[0], n_classes), dtype=W.dtype)
    else:
        labels = y if y.dtype == np.int64 else y.astype(np.int64)
        targets = np.zeros((0, n_classes), W.dtype)
    weight = np.ones(n_classes) if class_weight is None else np.asarray(class_weight, np.float64)
    return labels, targets, weight, *_transform_vectors(transform, W.dtype)


def _transform_vectors(transform: Affine | None, dtype: np.dtype) -> tuple[np.ndarray, ...]:
    """``(scale, shift * scale, shift)`` in ``dtype``, rounded as ``Affine.fold`` does; empty without one."""
    if transform is None:
        return _NO_TRANSFORM[dtype], _NO_TRANSFORM[dtype], _NO_TRANSFORM[dtype]
    return (
        transform.scale.astype(dtype),
        (transform.shift * transform.scale).astype(dtype),
        transform.shift.astype(dtype),
    )


def linear_loss(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    *,
    loss: LossSpec,
    class_weight: np.ndarray | None = None,
    transform: Affine | None = None,
    with_grad: bool = True,
    n_parts: int | None = None,
) -> ChunkSums | None:
    """Fused equivalent of :meth:`linclass.kernels.NumpyKernels.linear_loss` (same arguments and result).

    ``X`` must be C-contiguous and ``W``, ``b`` share a float dtype. The transform is folded
    into the transposed weights the kernel builds anyway, and its chain rule applied while the
    gradient is transposed back. ``n_parts`` row slices run on their own threads (None:
    :func:`n_parts_for`). Returns None when a row has a non-finite score or an invalid label, so
    that the caller falls back to the reference (which raises its error or handles the case).
    """
    n, n_features = X.shape
    n_classes = W.shape[1]
    code = loss.fused_code
    labels, targets, weight, scale, shift_scaled, shift = loss_inputs(y, W, loss, class_weight, transform)
    bounds = _row_bounds(n, n_parts_for(n, n_features, n_classes) if n_parts is None else n_parts)
    if len(bounds) == 1:
        total, n_correct, status, dW, db = _loss_one_part(
            X, labels, targets, W, b, weight, scale, shift_scaled, shift, code, with_grad
        )
    else:
        Wt, b_raw = _fold(W, b, scale, shift_scaled)
        dWt_parts = aligned_zeros((len(bounds), n_classes, n_features if with_grad else 0), W.dtype)
        db_parts = np.zeros((len(bounds), n_classes), W.dtype)

        def run(part: int) -> tuple[float, int, int]:
            start, stop = bounds[part]
            return loss_rows(
                X,
                NO_ROWS,
                labels,
                targets,
                Wt,
                b_raw,
                weight,
                code,
                with_grad,
                start,
                stop,
                dWt_parts[part],
                db_parts[part],
            )

        sums = _run_parts(run, len(bounds), n * n_features * n_classes)
        total = sum(part[0] for part in sums)
        n_correct = sum(part[1] for part in sums)
        status = max(part[2] for part in sums)
        db = db_parts.sum(axis=0)
        dW = _unfold_grad(dWt_parts.sum(axis=0), db, scale, shift)
    if status:
        return None
    return ChunkSums(float(total), (dW, db) if with_grad else None, n, int(n_correct))


def linear_scores(
    X: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    *,
    transform: Affine | None = None,
    n_parts: int | None = None,
) -> np.ndarray:
    """Fused equivalent of :meth:`linclass.kernels.NumpyKernels.linear_scores` (``X`` C-contiguous)."""
    n, n_features = X.shape
    scale, shift_scaled, _ = _transform_vectors(transform, W.dtype)
    Wt, b_raw = _fold(W, b, scale, shift_scaled)
    out = np.empty((n, W.shape[1]), W.dtype)
    bounds = _row_bounds(n, n_parts_for(n, n_features, W.shape[1]) if n_parts is None else n_parts)
    work = n * n_features * W.shape[1]
    _run_parts(lambda part: _scores_rows(X, Wt, b_raw, out, *bounds[part]), len(bounds), work)
    return out
