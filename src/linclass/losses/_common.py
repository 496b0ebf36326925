"""Checks and the reduction step shared by every loss.

A loss computes per-sample values ``(N,)`` and the gradient of their sum ``dscores``; the
reduction then turns them into what the caller asked for, scaling ``dscores`` in place.
"""

from __future__ import annotations

import numbers

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_scores

LossResult = tuple[np.ndarray | np.floating, np.ndarray]


# Up to this many columns, a loop of column-wise maxima beats NumPy's reduction over a short
# last axis (3-10x for C = 10); beyond it, the reduction wins.
_COLUMN_LOOP_MAX_CLASSES = 128


def row_max(values: np.ndarray) -> np.ndarray:
    """Maximum of each row of a 2-D array with at least one column, shape ``(N,)``."""
    n_columns = values.shape[1]
    if n_columns > _COLUMN_LOOP_MAX_CLASSES:
        return values.max(axis=1)
    result = values[:, 0].copy()
    for j in range(1, n_columns):
        np.maximum(result, values[:, j], out=result)
    return result


def row_sum(values: np.ndarray) -> np.ndarray:
    """Sum of each row of a 2-D array, shape ``(N,)``; einsum is several times faster than ``sum(axis=1)``."""
    return np.einsum("ij->i", values)


def check_finite_scores(scores: ArrayLike, name: str = "scores", ndim: int = 2) -> np.ndarray:
    """Like ``check_scores`` but also rejects ``-inf`` (margin losses need finite scores)."""
    arr = check_scores(scores, name=name, ndim=ndim)
    if arr.size and np.isneginf(arr.min()):
        raise ValueError(f"{name} contains -inf values; this loss needs finite scores")
    return arr


def check_class_weight(weight: ArrayLike | None, n_classes: int, dtype: np.dtype) -> np.ndarray | None:
    """Return the per-class ``weight`` as a ``(C,)`` array of ``dtype`` (or None)."""
    if weight is None:
        return None
    arr = np.asarray(weight)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"weight must be a real numeric array, got dtype {arr.dtype}")
    if arr.shape != (n_classes,):
        raise ValueError(f"weight must have shape ({n_classes},) (one per class), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("weight contains NaN or inf values; expected finite non-negative class weights")
    if (arr < 0).any():
        raise ValueError(f"weight contains negative value {arr.min()}; expected non-negative class weights")
    return arr.astype(dtype, copy=False)


def check_ignore_index(ignore_index: int) -> int:
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(f"ignore_index must be an integer, got {ignore_index!r}")
    return int(ignore_index)


def reduce(
    per_sample: np.ndarray,
    dscores: np.ndarray,
    reduction: str,
    denominator: float,
    row_scale: np.ndarray | float | None = None,
) -> LossResult:
    """Apply an optional per-sample scale, then the reduction, to a loss and its gradient.

    Args:
        per_sample: unscaled per-sample losses ``(N,)``, modified in place.
        dscores: gradient of ``per_sample.sum()`` w.r.t. the input, first axis ``N``; scaled
            in place.
        reduction: ``"mean"`` (divide the sum by ``denominator``), ``"sum"`` or ``"none"``.
        denominator: the mean's divisor. A divisor of 0 (nothing counted) gives loss 0 and a
            zero gradient instead of NaN.
        row_scale: a scalar or ``(N,)`` factor per sample (class weight ``w[y_i]``, ``1/C``).

    Returns:
        ``(loss, dscores)``; the loss is a scalar of the input's dtype, or ``(N,)`` for "none".
    """
    dtype = dscores.dtype.type
    if row_scale is not None:
        per_sample *= row_scale
    if reduction == "mean":
        factor = 1.0 / denominator if denominator > 0 else 0.0
        row_scale = factor if row_scale is None else row_scale * factor
    if row_scale is not None:
        dscores *= row_scale if np.isscalar(row_scale) else _column(row_scale, dscores.ndim)
    if reduction == "none":
        return per_sample, dscores
    total = per_sample.sum()
    if reduction == "mean":
        total = total / denominator if denominator > 0 else 0.0
    return dtype(total), dscores


def _column(values: np.ndarray, ndim: int) -> np.ndarray:
    return values.reshape(values.shape + (1,) * (ndim - 1))
