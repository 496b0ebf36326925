"""The Numba backend: the fused kernels of :mod:`linclass.kernels.fused` where they apply, else the reference.

:meth:`NumbaKernels.supports` says which inputs the fused kernels cover; anything else (a
dtype outside :data:`FUSED_INPUT_DTYPES`, a non-C-contiguous ``X``, a loss without a fused
code, float labels, invalid class weights) and batches with a non-finite score or an invalid
label go to the NumPy reference, so its checks and messages apply. Numba is imported on the
first fused call, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import ClassVar

import numpy as np

from linclass.kernels.protocol import ChunkSums
from linclass.kernels.reference import NumpyKernels
from linclass.losses import LossSpec
from linclass.penalties import Penalty, PenaltyResult
from linclass.preprocess import Affine, FeatureStatistics

FUSED_INPUT_DTYPES = frozenset(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float32, np.float64)
)
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def numba_available() -> bool:
    """True when Numba can be imported."""
    return find_spec("numba") is not None


def _plain_weights(class_weight: np.ndarray | None, n_classes: int) -> bool:
    """True for None or finite non-negative ``(C,)`` weights; others go to the reference, which explains."""
    if class_weight is None:
        return True
    weight = np.asarray(class_weight)
    return (
        weight.shape == (n_classes,)
        and weight.dtype.kind in "fiu"
        and bool(np.isfinite(weight).all())
        and bool((weight >= 0).all())
    )


@dataclass(frozen=True)
class NumbaKernels:
    """:class:`linclass.kernels.Kernels` in fused Numba kernels (NumPy's results to float32 rounding).

    Raises:
        ValueError: Numba is not installed.
    """

    name: ClassVar[str] = "numba"
    reference: NumpyKernels = field(default_factory=NumpyKernels, repr=False)

    def __post_init__(self) -> None:
        if not numba_available():
            raise ValueError(
                "backend='numba' needs the numba package; install it (pip install numba) or use 'numpy'"
            )

    def supports(
        self,
        X: np.ndarray,
        W: np.ndarray,
        b: np.ndarray,
        *,
        transform: Affine | None = None,
        loss: LossSpec | None = None,
        y: np.ndarray | None = None,
        class_weight: np.ndarray | None = None,
    ) -> bool:
        """True when the fused kernels cover these inputs (scores; the loss too with ``loss`` and ``y``)."""
        arrays = (
            isinstance(X, np.ndarray)
            and isinstance(W, np.ndarray)
            and isinstance(b, np.ndarray)
            and (transform is None or transform.shift.shape == (W.shape[0],))
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.dtype in FUSED_INPUT_DTYPES
            and W.dtype in _FLOAT_DTYPES
            and b.dtype == W.dtype
            and W.ndim == 2
            and b.shape == (W.shape[1],)
            and X.shape[1] == W.shape[0]
        )
        if not arrays or loss is None:
            return arrays
        if loss.fused_code is None or not isinstance(y, np.ndarray) or y.shape[:1] != X.shape[:1]:
            return False
        if loss.is_regression:
            return y.size == X.shape[0] * W.shape[1] and class_weight is None
        return y.dtype.kind in "iu" and _plain_weights(class_weight, W.shape[1])

    def linear_loss(
        self,
        X: np.ndarray,
        y: np.ndarray,
        W: np.ndarray,
        b: np.ndarray,
        *,
        loss: LossSpec,
        class_weight: np.ndarray | None = None,
        transform: Affine | None = None,
        with_grad: bool = True,
    ) -> ChunkSums:
        if self.supports(X, W, b, transform=transform, loss=loss, y=y, class_weight=class_weight):
            from linclass.kernels import fused

            sums = fused.linear_loss(
                X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
            )
            if sums is not None:
                return sums
        return self.reference.linear_loss(
            X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
        )

    def linear_scores(
        self, X: np.ndarray, W: np.ndarray, b: np.ndarray, *, transform: Affine | None = None
    ) -> np.ndarray:
        if self.supports(X, W, b, transform=transform):
            from linclass.kernels import fused

            return fused.linear_scores(X, W, b, transform=transform)
        return self.reference.linear_scores(X, W, b, transform=transform)

    def penalty(self, penalty: Penalty, W: np.ndarray, l1_ratio: float) -> PenaltyResult:
        return self.reference.penalty(penalty, W, l1_ratio)

    def statistics(self, X: np.ndarray) -> FeatureStatistics:
        """The preprocessing statistics of ``X``: the moments of byte and float data from compiled
        passes (:class:`linclass.kernels.moments.CompiledStatistics`), everything else as NumPy
        computes it."""
        from linclass.kernels.moments import CompiledStatistics

        return CompiledStatistics(X)
