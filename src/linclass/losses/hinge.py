"""Margin (hinge) losses of the multiclass SVM, and the one-vs-rest squared hinge of ``LinearSVC``."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_labels, check_positive, check_reduction
from linclass.losses._common import (
    LossResult,
    check_class_weight,
    check_finite_scores,
    reduce,
    row_sum,
)


def multiclass_hinge(
    scores: ArrayLike,
    y: ArrayLike,
    *,
    margin: float = 1.0,
    p: int = 1,
    weight: ArrayLike | None = None,
    normalize: bool = False,
    reduction: str = "mean",
) -> LossResult:
    """Weston–Watkins multiclass hinge loss: the lecture's (and CS231n's) SVM loss.

    ``L_i = w[y_i] * sum_{j != y_i} max(0, s_j - s_{y_i} + margin)^p``, divided by ``C`` when
    ``normalize=True``. With ``normalize=True`` this is exactly
    ``torch.nn.functional.multi_margin_loss(scores, y, p, margin, weight)``. At a kink (a
    margin term exactly 0) the subgradient 0 is used.

    Args:
        scores: class scores ``(N, C)``, finite.
        y: class indices ``(N,)`` in ``0..C-1``.
        margin: the required gap ``Delta > 0`` between the correct score and the others.
        p: 1 for the hinge, 2 for the squared hinge.
        weight: optional per-class weights ``(C,)``; sample ``i`` is scaled by ``weight[y_i]``.
        normalize: divide each sample's sum by ``C`` (PyTorch's ``MultiMarginLoss``).
        reduction: ``"mean"`` (sum / N, also with weights, as PyTorch), ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)``: the reduced loss (a scalar, or ``(N,)`` for ``"none"``) and its
        gradient ``(N, C)`` w.r.t. ``scores`` (of the per-sample sum for ``"none"``), in the
        dtype of ``scores``.

    Example:
        >>> loss, dscores = multiclass_hinge([[3.2, 5.1, -1.7]], [0])
        >>> round(float(loss), 2)
        2.9
    """
    scores = check_finite_scores(scores)
    n, n_classes = scores.shape
    y = check_labels(y, n, n_classes)
    margin = check_positive(margin, "margin")
    if p not in (1, 2) or isinstance(p, bool):
        raise ValueError(f"p must be 1 (hinge) or 2 (squared hinge), got {p!r}")
    weight = check_class_weight(weight, n_classes, scores.dtype)
    check_reduction(reduction)

    rows = np.arange(n)
    margins = scores - scores[rows, y][:, None]
    margins += margin
    margins[rows, y] = 0
    np.maximum(margins, 0, out=margins)
    if p == 1:
        per_sample = row_sum(margins)
        dscores = (margins > 0).astype(scores.dtype)
    else:
        per_sample = np.einsum("ij,ij->i", margins, margins)
        dscores = np.multiply(margins, 2, out=margins)
    dscores[rows, y] = -row_sum(dscores)

    row_scale = None if weight is None else weight[y]
    if normalize:
        row_scale = 1.0 / n_classes if row_scale is None else row_scale / n_classes
    return reduce(per_sample, dscores, reduction, n, row_scale)


def _one_margin_inputs(scores, y, margin, weight, reduction):
    """Validated ``(scores (N, C), y (N,), margin, weight (C,) or None)`` of a margin loss."""
    scores = check_finite_scores(scores)
    n, n_classes = scores.shape
    y = check_labels(y, n, n_classes)
    margin = check_positive(margin, "margin")
    weight = check_class_weight(weight, n_classes, scores.dtype)
    check_reduction(reduction)
    return scores, y, margin, weight


def crammer_singer_hinge(
    scores: ArrayLike,
    y: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> LossResult:
    """Crammer–Singer multiclass hinge loss: only the strongest wrong class counts.

    ``L_i = w[y_i] * max(0, margin + max_{j != y_i} s_j - s_{y_i})``. The gradient is +1 at
    the highest-scoring wrong class (the first one on ties) and -1 at ``y_i`` when the margin
    is violated, 0 otherwise (also at the kink).

    Args:
        scores: class scores ``(N, C)``, finite.
        y: class indices ``(N,)`` in ``0..C-1``.
        margin: the required gap ``> 0``.
        weight: optional per-class weights ``(C,)``; sample ``i`` is scaled by ``weight[y_i]``.
        reduction: ``"mean"`` (sum / N), ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)`` as for :func:`multiclass_hinge`.

    Example:
        >>> loss, dscores = crammer_singer_hinge([[3.2, 5.1, -1.7]], [0])
        >>> round(float(loss), 2)
        2.9
    """
    scores, y, margin, weight = _one_margin_inputs(scores, y, margin, weight, reduction)
    n = scores.shape[0]

    rows = np.arange(n)
    wrong = scores.copy()
    wrong[rows, y] = -np.inf
    runner_up = wrong.argmax(axis=1)
    per_sample = wrong[rows, runner_up] - scores[rows, y]
    per_sample += margin
    np.maximum(per_sample, 0, out=per_sample)
    violated = (per_sample > 0).astype(scores.dtype)
    dscores = np.zeros_like(scores)
    dscores[rows, runner_up] = violated
    dscores[rows, y] -= violated
    row_scale = None if weight is None else weight[y]
    return reduce(per_sample, dscores, reduction, n, row_scale)


def one_vs_rest_squared_hinge(
    scores: ArrayLike,
    y: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
) -> LossResult:
    """One-vs-rest squared hinge: ``C`` binary L2-SVMs, class ``c`` against the others.

    ``L_i = w[y_i] * sum_c max(0, margin - t_ic s_ic)^2`` with ``t_ic = +1`` for ``c = y_i``
    and ``-1`` otherwise; ``dL_i / ds_ic = -2 w[y_i] t_ic max(0, margin - t_ic s_ic)``, which
    is continuous (0 at the kink). With an L2 penalty this is the objective of scikit-learn's
    ``LinearSVC()`` (one-vs-rest, ``loss="squared_hinge"``) and of the L2-SVM of Coates, Lee
    and Ng (2011): ``0.5 |W|^2 + C * mean_i L_i`` is ``alpha = 1 / (2 C)`` here.

    Args:
        scores: class scores ``(N, C)``, finite.
        y: class indices ``(N,)`` in ``0..C-1``.
        margin: the required margin ``> 0`` of each binary problem.
        weight: optional per-class weights ``(C,)``; sample ``i`` is scaled by ``weight[y_i]``.
        reduction: ``"mean"`` (sum / N), ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)`` as for :func:`multiclass_hinge`.

    Example:
        >>> loss, dscores = one_vs_rest_squared_hinge([[0.5, -2.0, 0.5]], [0])
        >>> float(loss), dscores.tolist()
        (2.5, [[-1.0, 0.0, 3.0]])
    """
    scores, y, margin, weight = _one_margin_inputs(scores, y, margin, weight, reduction)
    n = scores.shape[0]

    rows = np.arange(n)
    gaps = scores + margin  # margin - t s for the rest (t = -1) ...
    gaps[rows, y] = margin - scores[rows, y]  # ... and for the own class (t = +1)
    np.maximum(gaps, 0, out=gaps)
    per_sample = np.einsum("ij,ij->i", gaps, gaps)
    dscores = np.multiply(gaps, 2, out=gaps)
    dscores[rows, y] *= -1
    row_scale = None if weight is None else weight[y]
    return reduce(per_sample, dscores, reduction, n, row_scale)
