"""Losses: pure functions ``(scores, y, ...) -> (loss, dscores)``.

Every loss returns the reduced loss and ``dscores``, the gradient of that loss with respect
to its first argument. With ``reduction="none"`` the loss is per sample ``(N,)`` and
``dscores`` is the gradient of their sum, so row ``i`` is the gradient of sample ``i``'s loss.
float32 input gives float32 output; float64 gives float64.

``LOSSES`` maps the loss names (classification and regression) to :class:`LossSpec`
entries, which carry the task, the smoothness and the fused-kernel code; adding a loss is one
function plus one ``LOSSES.register`` line. Names become specs once, at the estimator or
command-line boundary (:func:`get_loss`); below it nothing dispatches on a loss name. The loop
references used to check the vectorized code live in :mod:`linclass.losses.naive`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linclass.losses import naive
from linclass.losses._common import LossResult
from linclass.losses.binary import logistic, negative_logistic, squash_clip_nll
from linclass.losses.hinge import crammer_singer_hinge, multiclass_hinge, one_vs_rest_squared_hinge
from linclass.losses.regression import squared_error
from linclass.losses.softmax import log_softmax, nll, softmax, softmax_cross_entropy
from linclass.registry import Registry

__all__ = [
    "LOSSES",
    "TASKS",
    "LossSpec",
    "crammer_singer_hinge",
    "get_loss",
    "log_softmax",
    "logistic",
    "loss_names",
    "multiclass_hinge",
    "naive",
    "negative_logistic",
    "nll",
    "one_vs_rest_squared_hinge",
    "softmax",
    "softmax_cross_entropy",
    "squared_error",
    "squash_clip_nll",
]


TASKS = ("classification", "regression")


@dataclass(frozen=True)
class LossSpec:
    """A loss as the estimators and the kernels see it.

    Attributes:
        name: the registry key (the estimator's ``loss=`` value).
        fn: ``fn(scores, y, *, weight=None, reduction="mean") -> (loss, dscores)``. For
            classification ``y`` holds class indices ``(N,)`` and ``weight`` optional per-class
            weights ``(C,)``; for regression ``y`` holds real targets of ``N * C`` values
            (``(N,)`` or ``(N, C)``) and ``weight`` must be None.
        task: ``"classification"`` or ``"regression"``.
        smooth: differentiable everywhere with a continuous gradient, so L-BFGS applies.
        probabilistic: ``softmax(scores)`` gives calibrated class probabilities.
        fused_code: the branch of the fused Numba kernel computing this loss
            (:mod:`linclass.kernels.fused`), or None when only the NumPy reference has it.
    """

    name: str
    fn: Callable[..., LossResult]
    task: str
    smooth: bool
    probabilistic: bool
    fused_code: int | None = None

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"


LOSSES: Registry[LossSpec] = Registry("loss")


def loss_names(task: str) -> list[str]:
    """Sorted names of the registered losses of ``task`` (``"classification"`` or ``"regression"``)."""
    if task not in TASKS:
        raise ValueError(f"task={task!r} is not supported; expected one of {list(TASKS)}")
    return [name for name, spec in LOSSES.items() if spec.task == task]


def get_loss(loss: str | LossSpec, task: str | None = None) -> LossSpec:
    """The :class:`LossSpec` named ``loss`` (a spec passes through), of ``task`` when given.

    An unknown name, or one of another task, raises the ValueError listing the names allowed.
    """
    spec = loss if isinstance(loss, LossSpec) else LOSSES.resolve(loss)
    if task is not None and spec.task != task:
        shown = loss if isinstance(loss, str) else spec.name
        raise ValueError(f"loss={shown!r} is not supported; expected one of {loss_names(task)}")
    return spec


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


def _squared_error(
    scores: np.ndarray, y: ArrayLike, *, weight: ArrayLike | None = None, reduction: str = "mean"
) -> LossResult:
    """:func:`squared_error` of predictions ``scores (N, K)`` and targets of ``N * K`` values."""
    if weight is not None:
        raise ValueError("class_weight applies to classification losses; loss='squared_error' takes None")
    target = np.asarray(y).reshape(scores.shape).astype(scores.dtype, copy=False)
    return squared_error(scores, target, reduction=reduction)


def _entry(name: str, fn: Callable[..., LossResult], **flags) -> None:
    LOSSES.register(name, LossSpec(name, fn, **flags))


_entry("softmax", softmax_cross_entropy, task="classification", smooth=True, probabilistic=True, fused_code=0)
_entry("svm", _svm, task="classification", smooth=False, probabilistic=False, fused_code=1)
_entry("squared_hinge", _squared_hinge, task="classification", smooth=True, probabilistic=False, fused_code=2)
_entry("multi_margin", _multi_margin, task="classification", smooth=False, probabilistic=False, fused_code=3)
_entry(
    "crammer_singer",
    crammer_singer_hinge,
    task="classification",
    smooth=False,
    probabilistic=False,
    fused_code=4,
)
_entry("squared_error", _squared_error, task="regression", smooth=True, probabilistic=False, fused_code=5)
_entry(
    "ovr_squared_hinge",
    one_vs_rest_squared_hinge,
    task="classification",
    smooth=True,
    probabilistic=False,
    fused_code=6,
)
