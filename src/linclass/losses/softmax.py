"""The softmax function and the losses of the softmax classifier (cross-entropy, NLL)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_fraction, check_labels, check_reduction, check_scores
from linclass.losses._common import (
    LossResult,
    check_class_weight,
    check_ignore_index,
    reduce,
    row_max,
    row_sum,
)


def _shifted(scores: np.ndarray) -> np.ndarray:
    """``scores - max(scores)`` per row of a 2-D array (a new array): the stable start of softmax."""
    if scores.shape[1] == 0:
        raise ValueError(f"scores must have at least one class (column), got shape {scores.shape}")
    top = row_max(scores)
    if np.isneginf(top).any():
        raise ValueError("scores has a row whose values are all -inf; softmax is undefined there")
    return scores - top[:, None]


def _rows(scores: ArrayLike) -> tuple[np.ndarray, tuple[int, ...]]:
    """Validated ``scores`` viewed as 2-D rows over the last axis, and the original shape."""
    arr = np.asarray(scores)
    if arr.ndim == 0:
        raise ValueError("scores must have at least 1 dimension (classes on the last axis), got a scalar")
    arr = check_scores(arr, ndim=arr.ndim)
    return arr.reshape(-1, arr.shape[-1]), arr.shape


def softmax(scores: ArrayLike) -> np.ndarray:
    """Softmax along the last axis: ``p_k = exp(s_k) / sum_j exp(s_j)``, computed stably.

    Args:
        scores: logits ``(..., C)``; ``-inf`` entries get probability 0.

    Returns:
        probabilities of the same shape and floating dtype.

    Example:
        >>> softmax([3.2, 5.1, -1.7]).round(2)
        array([0.13, 0.87, 0.  ])
    """
    rows, shape = _rows(scores)
    probs = np.exp(_shifted(rows))
    probs /= row_sum(probs)[:, None]
    return probs.reshape(shape)


def log_softmax(scores: ArrayLike) -> np.ndarray:
    """Log of the softmax along the last axis: ``s_k - logsumexp(s)``, computed stably.

    Example:
        >>> log_softmax([0.0, 0.0]).round(4)
        array([-0.6931, -0.6931])
    """
    rows, shape = _rows(scores)
    shifted = _shifted(rows)
    shifted -= np.log(row_sum(np.exp(shifted)))[:, None]
    return shifted.reshape(shape)


def softmax_cross_entropy(
    scores: ArrayLike,
    y: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> LossResult:
    """Cross-entropy of the softmax of logits: the softmax classifier's loss.

    With class indices ``y (N,)`` and ``a_ic = (1 - eps) w_c [c = y_i] + eps / C * w_c``:
    ``L_i = -sum_c a_ic log p_ic`` with ``p_i = softmax(s_i)`` (``w = 1`` without ``weight``,
    ``eps = label_smoothing``); without smoothing and weights this is ``-log p_{i, y_i}``.
    ``"mean"`` divides the sum by ``sum_i w_{y_i}`` over the counted samples; samples with
    ``y_i == ignore_index`` contribute nothing.

    With probability targets ``y (N, C)`` (rows of non-negative floats), ``a_ic = w_c t'_ic``
    with ``t' = (1 - eps) y + eps / C``, and ``"mean"`` divides by ``N``.

    Both match ``torch.nn.functional.cross_entropy`` exactly, with one deliberate difference:
    when nothing is counted (every target ignored, or the counted weights sum to 0) the mean
    is 0.0 with a zero gradient where PyTorch returns NaN — never a silent NaN. A ``-inf``
    logit is a class of probability 0: fine on a class with no target mass (no NaN in the
    loss or gradient), an infinite loss where the target puts mass on it.

    The gradient of ``L_i`` is ``(sum_c a_ic) p_i - a_i``.

    Args:
        scores: logits ``(N, C)``; no NaN or ``+inf``.
        y: class indices ``(N,)``, or probability targets ``(N, C)``.
        weight: optional per-class weights ``(C,)``, non-negative.
        ignore_index: a class-index target value whose samples are skipped.
        label_smoothing: ``eps`` in ``[0, 1]``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)``: the reduced loss (a scalar, or ``(N,)`` for ``"none"``) and its
        gradient ``(N, C)`` w.r.t. ``scores``, in the dtype of ``scores``.

    Example:
        >>> loss, dscores = softmax_cross_entropy([[3.2, 5.1, -1.7]], [0])
        >>> round(float(loss), 2)
        2.04
    """
    scores = check_scores(scores)
    n, n_classes = scores.shape
    weight = check_class_weight(weight, n_classes, scores.dtype)
    ignore_index = check_ignore_index(ignore_index)
    smoothing = check_fraction(label_smoothing, "label_smoothing")
    check_reduction(reduction)
    target = np.asarray(y)
    if target.ndim == 2:
        return _cross_entropy_probabilities(scores, target, weight, smoothing, reduction)
    labels = check_labels(target, n, n_classes, ignore_index=ignore_index)

    rows = np.arange(n)
    ignored = labels == ignore_index
    any_ignored = bool(ignored.any())
    if any_ignored:
        labels = np.where(ignored, 0, labels)
    class_weight = np.ones(n_classes, scores.dtype) if weight is None else weight
    target_weight = class_weight[labels]
    if any_ignored:
        target_weight[ignored] = 0

    shifted = _shifted(scores)
    target_shifted = shifted[rows, labels]
    if smoothing:
        smooth_shifted = row_sum(shifted) if weight is None else shifted @ weight
        if np.isnan(smooth_shifted).any():
            # 0 * -inf: a class of weight 0 and probability 0 contributes nothing.
            smooth_shifted = np.where(weight > 0, shifted, 0) @ weight
    probs = np.exp(shifted, out=shifted)
    norm = row_sum(probs)
    probs /= norm[:, None]
    log_norm = np.log(norm, out=norm)

    # Per sample: total target mass A_i = sum_c a_ic and the loss -sum_c a_ic (shifted_ic - log_norm_i).
    nll_weight = (1.0 - smoothing) * target_weight
    # A sample of weight 0 contributes 0 even when its target logit is -inf.
    per_sample = np.multiply(
        nll_weight, log_norm - target_shifted, out=np.zeros_like(log_norm), where=nll_weight != 0
    )
    mass = nll_weight
    if smoothing:
        smooth_scale = smoothing / n_classes
        smooth_weight = smooth_scale * class_weight.sum()
        smooth_loss = smooth_weight * log_norm - smooth_scale * smooth_shifted
        mass = nll_weight + smooth_weight
        if any_ignored:
            smooth_loss[ignored] = 0
            mass[ignored] = 0
        per_sample += smooth_loss
    dscores = probs
    if weight is not None or smoothing or any_ignored:
        dscores *= mass[:, None]
    dscores[rows, labels] -= nll_weight
    if smoothing:
        smoothing_target = smooth_scale * class_weight
        if any_ignored:
            dscores[~ignored] -= smoothing_target
        else:
            dscores -= smoothing_target
    return reduce(per_sample, dscores, reduction, float(target_weight.sum()))


def _cross_entropy_probabilities(
    scores: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    smoothing: float,
    reduction: str,
) -> LossResult:
    if target.shape != scores.shape:
        raise ValueError(
            f"y of probability targets must have the shape of scores {scores.shape}, got {target.shape}"
        )
    if target.dtype.kind not in "fiub":
        raise TypeError(f"y must hold real probability targets, got dtype {target.dtype}")
    if not np.isfinite(target).all() or (target < 0).any():
        raise ValueError("y of probability targets must be finite and non-negative")
    mass_by_class = target.astype(scores.dtype)
    if smoothing:
        mass_by_class *= 1.0 - smoothing
        mass_by_class += smoothing / scores.shape[1]
    if weight is not None:
        mass_by_class *= weight

    shifted = _shifted(scores)
    weighted_shifted = np.einsum("ij,ij->i", mass_by_class, shifted)
    if np.isnan(weighted_shifted).any():
        # 0 * -inf: a class with no target mass and probability 0 contributes nothing.
        weighted_shifted = np.einsum("ij,ij->i", mass_by_class, np.where(mass_by_class > 0, shifted, 0))
    probs = np.exp(shifted, out=shifted)
    norm = row_sum(probs)
    probs /= norm[:, None]
    log_norm = np.log(norm, out=norm)
    mass = row_sum(mass_by_class)
    per_sample = mass * log_norm - weighted_shifted
    dscores = probs
    dscores *= mass[:, None]
    dscores -= mass_by_class
    return reduce(per_sample, dscores, reduction, scores.shape[0])


def nll(
    log_probs: ArrayLike,
    y: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> LossResult:
    """Negative log-likelihood of log-probabilities (``torch.nn.NLLLoss`` semantics).

    ``L_i = -w_{y_i} log_probs[i, y_i]``; samples with ``y_i == ignore_index`` contribute 0;
    ``"mean"`` divides the sum by ``sum_i w_{y_i}`` over the counted samples, and is 0.0
    with a zero gradient when nothing is counted (PyTorch returns NaN there).
    Apply it to :func:`log_softmax` output; :func:`softmax_cross_entropy` does both at once.

    Args:
        log_probs: log-probabilities ``(N, C)``; no NaN or ``+inf``.
        y: class indices ``(N,)``.
        weight: optional per-class weights ``(C,)``.
        ignore_index: a target value whose samples are skipped.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dlog_probs)``, the gradient ``(N, C)`` w.r.t. ``log_probs``.

    Example:
        >>> loss, grad = nll(log_softmax([[3.2, 5.1, -1.7]]), [0])
        >>> round(float(loss), 2)
        2.04
    """
    log_probs = check_scores(log_probs, name="log_probs")
    n, n_classes = log_probs.shape
    weight = check_class_weight(weight, n_classes, log_probs.dtype)
    ignore_index = check_ignore_index(ignore_index)
    check_reduction(reduction)
    labels = check_labels(y, n, n_classes, ignore_index=ignore_index)

    rows = np.arange(n)
    ignored = labels == ignore_index
    labels = np.where(ignored, 0, labels)
    target_weight = np.ones(n, log_probs.dtype) if weight is None else weight[labels]
    target_weight[ignored] = 0
    per_sample = np.zeros(n, log_probs.dtype)
    counted = target_weight > 0
    per_sample[counted] = -target_weight[counted] * log_probs[rows[counted], labels[counted]]
    dlog_probs = np.zeros_like(log_probs)
    dlog_probs[rows, labels] = -target_weight
    return reduce(per_sample, dlog_probs, reduction, float(target_weight.sum()))
