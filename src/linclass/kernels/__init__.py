"""The array work of the linear model: a NumPy reference and fused Numba kernels behind one API.

Two functions do all the heavy lifting of training and prediction:

- :func:`linear_loss` — ``sum_i L_i`` of ``scores = X @ W + b``, ``dW = X.T @ dscores`` and
  ``db``, and the number of correct predictions;
- :func:`linear_scores` — ``X @ W + b``.

Both take an optional preprocessing ``transform`` (:class:`linclass.preprocess.Affine`) that is
folded into ``W, b``: the data stay as they are (uint8 images stay uint8).

Each exists as a readable NumPy reference (:mod:`linclass.kernels.reference`, BLAS products
and the losses of :mod:`linclass.losses`) and as a fused Numba kernel
(:mod:`linclass.kernels.fused`) with the same signature and results to float32 rounding. The
backend is ``"numba"`` when Numba is installed, unless the environment variable
``LINCLASS_DISABLE_NUMBA`` is set to ``1`` (or ``true``/``yes``); :func:`set_backend` and
:func:`use_backend` switch it at run time. Inputs the fused kernels do not cover (a dtype
outside :data:`FUSED_INPUT_DTYPES`, a non-C-contiguous ``X``, a loss registered later, float
labels, invalid class weights) and batches with a non-finite score or an invalid label go to
the reference, so its checks and messages apply.

    >>> import numpy as np
    >>> X = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    >>> W, b = np.eye(2, dtype=np.float32), np.zeros(2, np.float32)
    >>> with use_backend("numpy"):
    ...     linear_loss(X, np.array([0, 1]), W, b, loss="svm").total
    0.0
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec

import numpy as np

from linclass.kernels import reference
from linclass.kernels.reference import LinearLossResult
from linclass.kernels.threads import limit_threads, num_threads, set_num_threads
from linclass.preprocess import Affine

BACKENDS = ("numba", "numpy")
DISABLE_ENV = "LINCLASS_DISABLE_NUMBA"

FUSED_INPUT_DTYPES = frozenset(
    np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.int32, np.int64, np.float32, np.float64)
)
FUSED_LOSSES = frozenset(
    ("softmax", "svm", "squared_hinge", "multi_margin", "crammer_singer", "squared_error")
)
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

__all__ = [
    "BACKENDS",
    "FUSED_INPUT_DTYPES",
    "FUSED_LOSSES",
    "LinearLossResult",
    "backend",
    "limit_threads",
    "linear_loss",
    "linear_scores",
    "num_threads",
    "numba_available",
    "set_backend",
    "set_num_threads",
    "use_backend",
]


def numba_available() -> bool:
    """True when Numba can be imported."""
    return find_spec("numba") is not None


def _default_backend() -> str:
    disabled = os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes")
    return "numba" if numba_available() and not disabled else "numpy"


_selected = {"backend": _default_backend()}


def backend() -> str:
    """The backend in use: ``"numba"`` or ``"numpy"``."""
    return _selected["backend"]


def set_backend(name: str) -> None:
    """Use ``name`` (``"numba"`` or ``"numpy"``) from now on."""
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} is not supported; expected one of {list(BACKENDS)}")
    if name == "numba" and not numba_available():
        raise ValueError(
            "backend='numba' needs the numba package; install it (pip install numba) or use 'numpy'"
        )
    _selected["backend"] = name


@contextmanager
def use_backend(name: str) -> Iterator[None]:
    """Use backend ``name`` inside a ``with`` block, then restore the previous one."""
    previous = backend()
    set_backend(name)
    try:
        yield
    finally:
        _selected["backend"] = previous


def _fused_applies(X: np.ndarray, W: np.ndarray, b: np.ndarray, transform: Affine | None) -> bool:
    return (
        backend() == "numba"
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


def linear_loss(
    X: np.ndarray,
    y: np.ndarray,
    W: np.ndarray,
    b: np.ndarray,
    *,
    loss: str,
    class_weight: np.ndarray | None = None,
    transform: Affine | None = None,
    with_grad: bool = True,
) -> LinearLossResult:
    """Summed loss of ``scores = transform(X) @ W + b`` and its gradients (see :func:`reference.linear_loss`).

    Args:
        X: raw inputs ``(N, D)``; integer inputs are converted a few rows at a time.
        y: class indices ``(N,)``, or real targets ``(N,)``/``(N, K)`` for ``"squared_error"``.
        W, b: ``(D, C)`` and ``(C,)`` of one float dtype, the dtype of the computation.
        loss: a name in ``linclass.losses.LOSSES`` or ``"squared_error"``.
        class_weight: per-class weights ``(C,)`` or None.
        transform: preprocessing folded into ``W, b`` (never applied to ``X``), or None.
        with_grad: compute ``dW`` and ``db``.

    Returns:
        :class:`LinearLossResult` ``(total, dW, db, n_correct)``.
    """
    if (
        loss in FUSED_LOSSES
        and _fused_applies(X, W, b, transform)
        and y.shape[:1] == X.shape[:1]
        and (y.dtype.kind in "iu" if loss != "squared_error" else y.size == X.shape[0] * W.shape[1])
        and _plain_weights(class_weight, W.shape[1])
    ):
        from linclass.kernels import fused

        result = fused.linear_loss(
            X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
        )
        if result is not None:
            return result
    return reference.linear_loss(
        X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
    )


def linear_scores(
    X: np.ndarray, W: np.ndarray, b: np.ndarray, *, transform: Affine | None = None
) -> np.ndarray:
    """Scores ``transform(X) @ W + b`` of shape ``(N, C)`` in the dtype of ``W``."""
    if _fused_applies(X, W, b, transform):
        from linclass.kernels import fused

        return fused.linear_scores(X, W, b, transform=transform)
    return reference.linear_scores(X, W, b, transform=transform)
