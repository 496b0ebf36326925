"""Binary losses on one score per sample, and the lecture's three bases for an NLL.

For a positive example (``y = 1``) scored ``s = -10`` — a confidently wrong classifier —
the three candidates give very different guidance:

1. :func:`squash_clip_nll`: clip the raw value into ``(0, 1]`` and take ``-ln``: the clip is
   flat there, so the gradient is 0.
2. :func:`negative_logistic`: minimise ``-sigma(s)``: the gradient ``sigma'(-10) ~ 4.5e-5``
   is nearly 0.
3. :func:`logistic` (NLL with the logistic function): the gradient ``sigma(s) - y ~ -1``,
   strong guidance exactly when the classifier is wrong.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_fraction, check_labels, check_reduction
from linclass.losses._common import LossResult, check_finite_scores, reduce


def _binary_inputs(scores: ArrayLike, y: ArrayLike, reduction: str) -> tuple[np.ndarray, np.ndarray]:
    scores = check_finite_scores(scores, ndim=1)
    labels = check_labels(y, scores.shape[0], 2)
    check_reduction(reduction)
    return scores, labels.astype(scores.dtype)


def _sigmoid(scores: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-s))`` without overflow for large ``|s|``."""
    decay = np.exp(-np.abs(scores))
    return np.where(scores >= 0, 1.0, decay) / (1.0 + decay)


def logistic(scores: ArrayLike, y: ArrayLike, *, reduction: str = "mean") -> LossResult:
    """Binary logistic loss: the NLL of the logistic (sigmoid) probability.

    ``L_i = -[y_i log sigma(s_i) + (1 - y_i) log(1 - sigma(s_i))]
    = max(s_i, 0) - y_i s_i + log(1 + exp(-|s_i|))``, with gradient ``sigma(s_i) - y_i``;
    exact for ``|s| = 1e4``. Equal to ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Args:
        scores: one finite score per sample ``(N,)``.
        y: labels ``(N,)`` in ``{0, 1}``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)`` with ``dscores (N,)``.

    Example:
        >>> loss, dscores = logistic([-10.0], [1])
        >>> round(float(dscores[0]), 4)
        -1.0
    """
    scores, target = _binary_inputs(scores, y, reduction)
    per_sample = np.log1p(np.exp(-np.abs(scores)))
    per_sample += np.maximum(scores, 0)
    per_sample -= target * scores
    dscores = _sigmoid(scores)
    dscores -= target
    return reduce(per_sample, dscores, reduction, scores.shape[0])


def squash_clip_nll(
    scores: ArrayLike, y: ArrayLike, *, eps: float = 1e-7, reduction: str = "mean"
) -> LossResult:
    """NLL basis 1: read the raw value as a probability by clipping it into ``(0, 1]``.

    ``p_i = clip(s_i, eps, 1)`` for ``y_i = 1`` and ``clip(1 - s_i, eps, 1)`` for ``y_i = 0``;
    ``L_i = -ln p_i``. The gradient ``-1 / p_i`` (times ``+-1``) exists only inside the clip
    range; outside it (and at its ends) the gradient is 0, so a confidently wrong score gets
    no guidance at all.

    Args:
        scores: raw values ``(N,)``.
        y: labels ``(N,)`` in ``{0, 1}``.
        eps: the lower clip bound, in ``(0, 1)``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)`` with ``dscores (N,)``.

    Example:
        >>> loss, dscores = squash_clip_nll([-10.0], [1])
        >>> float(dscores[0])
        0.0
    """
    scores, target = _binary_inputs(scores, y, reduction)
    eps = check_fraction(eps, "eps", low_open=True, high_open=True)
    sign = 2 * target - 1
    prob = np.where(target == 1, scores, 1 - scores)
    inside = (prob > eps) & (prob < 1)
    clipped = np.clip(prob, eps, 1)
    per_sample = -np.log(clipped)
    dscores = np.where(inside, -sign / clipped, 0).astype(scores.dtype, copy=False)
    return reduce(per_sample, dscores, reduction, scores.shape[0])


def negative_logistic(scores: ArrayLike, y: ArrayLike, *, reduction: str = "mean") -> LossResult:
    """NLL basis 2: minimise minus the logistic probability of the true label (no log).

    ``L_i = -sigma(z_i)`` with ``z_i = s_i`` for ``y_i = 1`` and ``-s_i`` for ``y_i = 0``;
    gradient ``-sigma(z_i) (1 - sigma(z_i))`` times ``+-1``, which vanishes when ``|s|`` is
    large, right or wrong.

    Args:
        scores: scores ``(N,)``.
        y: labels ``(N,)`` in ``{0, 1}``.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Returns:
        ``(loss, dscores)`` with ``dscores (N,)``.

    Example:
        >>> loss, dscores = negative_logistic([0.0], [1])
        >>> float(loss), float(dscores[0])
        (-0.5, -0.25)
    """
    scores, target = _binary_inputs(scores, y, reduction)
    sign = 2 * target - 1
    prob = _sigmoid(sign * scores)
    per_sample = -prob
    dscores = prob * (prob - 1)
    dscores *= sign
    return reduce(per_sample, dscores, reduction, scores.shape[0])
