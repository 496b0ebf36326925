"""Squared error: the lecture's regression loss ``L_i = |y_i - pred_i|^2``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_reduction
from linclass.losses._common import LossResult, check_finite_scores, reduce


def squared_error(pred: ArrayLike, y: ArrayLike, *, reduction: str = "mean") -> LossResult:
    """Squared error per sample, summed over output dimensions: ``L_i = sum_k (y_ik - pred_ik)^2``.

    ``"mean"`` divides by ``N`` (not ``N * K``): it is ``K`` times
    ``torch.nn.functional.mse_loss(pred, y)``; ``"sum"`` equals ``mse_loss(..., reduction="sum")``.

    Args:
        pred: predictions ``(N,)`` or ``(N, K)``, finite.
        y: targets of the same shape, finite.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dpred)`` with ``dpred = 2 (pred - y)`` scaled by the reduction, shaped as ``pred``.

    Example:
        >>> loss, dpred = squared_error([1.0, 2.0], [0.0, 0.0])
        >>> float(loss), dpred.tolist()
        (2.5, [1.0, 2.0])
    """
    pred_arr = np.asarray(pred)
    if pred_arr.ndim not in (1, 2):
        raise ValueError(f"pred must be 1-D (N,) or 2-D (N, K), got an array of shape {pred_arr.shape}")
    pred_arr = check_finite_scores(pred_arr, name="pred", ndim=pred_arr.ndim)
    target = np.asarray(y)
    if target.shape != pred_arr.shape:
        raise ValueError(f"y must have the shape of pred {pred_arr.shape}, got {target.shape}")
    if target.dtype.kind not in "fiub":
        raise TypeError(f"y must be a real numeric array, got dtype {target.dtype}")
    if not np.isfinite(target).all():
        raise ValueError("y contains NaN or inf values; expected finite targets")
    check_reduction(reduction)

    residual = np.subtract(pred_arr, target, dtype=pred_arr.dtype)
    if residual.ndim == 1:
        per_sample = residual * residual
    else:
        per_sample = np.einsum("ij,ij->i", residual, residual)
    dpred = np.multiply(residual, 2, out=residual)
    return reduce(per_sample, dpred, reduction, pred_arr.shape[0])
