"""Losses: pure functions ``(scores, y, ...) -> (loss, dscores)``.

Every loss returns the reduced loss and ``dscores``, the gradient of that loss with respect
to its first argument. With ``reduction="none"`` the loss is per sample ``(N,)`` and
``dscores`` is the gradient of their sum, so row ``i`` is the gradient of sample ``i``'s loss.
float32 input gives float32 output; float64 gives float64.

``LOSSES`` maps the estimator's loss names to :class:`LossSpec` entries; adding a loss is one
function plus one ``LOSSES.register`` line. The loop references used to check the vectorized
code live in :mod:`linclass.losses.naive`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from numpy.typing import ArrayLike

from linclass.losses import naive
from linclass.losses._common import LossResult
from linclass.losses.binary import logistic, negative_logistic, squash_clip_nll
from linclass.losses.hinge import crammer_singer_hinge, multiclass_hinge
from linclass.losses.regression import squared_error
from linclass.losses.softmax import log_softmax, nll, softmax, softmax_cross_entropy
from linclass.registry import Registry

__all__ = [
    "LOSSES",
    "LossSpec",
    "crammer_singer_hinge",
    "log_softmax",
    "logistic",
    "multiclass_hinge",
    "naive",
    "negative_logistic",
    "nll",
    "softmax",
    "softmax_cross_entropy",
    "squared_error",
    "squash_clip_nll",
]


@dataclass(frozen=True)
class LossSpec:
    """A classification loss as the estimator sees it.

    Attributes:
        name: the registry key (the estimator's ``loss=`` value).
        fn: ``fn(scores, y, *, weight=None, reduction="mean") -> (loss, dscores)`` taking class
            indices ``y (N,)`` and optional per-class weights ``(C,)``.
        smooth: differentiable everywhere with a continuous gradient, so L-BFGS applies.
        probabilistic: ``softmax(scores)`` gives calibrated class probabilities.
    """

    name: str
    fn: Callable[..., LossResult]
    smooth: bool
    probabilistic: bool


LOSSES: Registry[LossSpec] = Registry("loss")


def _svm(
    scores: ArrayLike, y: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> LossResult:
    return multiclass_hinge(scores, y, weight=weight, reduction=reduction)


def _squared_hinge(
    scores: ArrayLike, y: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> LossResult:
    return multiclass_hinge(scores, y, p=2, weight=weight, reduction=reduction)


def _multi_margin(
    scores: ArrayLike, y: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> LossResult:
    return multiclass_hinge(scores, y, weight=weight, normalize=True, reduction=reduction)


LOSSES.register("softmax", LossSpec("softmax", softmax_cross_entropy, smooth=True, probabilistic=True))
LOSSES.register("svm", LossSpec("svm", _svm, smooth=False, probabilistic=False))
LOSSES.register("squared_hinge", LossSpec("squared_hinge", _squared_hinge, smooth=True, probabilistic=False))
LOSSES.register(
    "crammer_singer", LossSpec("crammer_singer", crammer_singer_hinge, smooth=False, probabilistic=False)
)
LOSSES.register("multi_margin", LossSpec("multi_margin", _multi_margin, smooth=False, probabilistic=False))
