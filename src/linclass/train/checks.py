"""Argument checks for ``fit``, and the optimizer it is given as a :class:`BuiltOptimizer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from linclass._devices import is_tensor
from linclass.kernels.cluster_data import aligned_chunks, is_dask_collection
from linclass.optim import LBFGS, OPTIMIZERS, BuiltOptimizer, GradientTransformation, Search

Optimizer = GradientTransformation | Search | LBFGS


def resolve_optimizer(optimizer: str | BuiltOptimizer | Optimizer) -> BuiltOptimizer:
    """A :class:`BuiltOptimizer` for a registered name (built with its defaults), a built
    optimizer, or an optimizer object (``sgd(0.1, momentum=0.9)``, ``genetic(...)``, ``lbfgs()``)."""
    if isinstance(optimizer, str):
        return OPTIMIZERS.resolve(optimizer).build()
    if isinstance(optimizer, BuiltOptimizer):
        return optimizer
    for kind, data in _DATA_OF:
        if isinstance(optimizer, kind):
            return BuiltOptimizer(optimizer, None, data)
    raise TypeError(
        "optimizer must be a name in linclass.optim.OPTIMIZERS, a BuiltOptimizer, a GradientTransformation, "
        f"a Search or an LBFGS, got {optimizer!r}"
    )


# How an optimizer object built outside the registry consumes data.
_DATA_OF = ((GradientTransformation, "minibatch"), (Search, "population"), (LBFGS, "full_batch"))


def check_params(params: Any, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """``params`` as ``(W (D, C), b (C,))`` of one floating dtype, ``D = n_features``."""
    if not isinstance(params, (tuple, list)) or len(params) != 2:
        raise TypeError(f"params must be a tuple (W, b), got {type(params).__name__}")
    W, b = (p if is_tensor(p) else np.asarray(p) for p in params)
    if not (_floating(W) and W.dtype == b.dtype):
        raise TypeError(f"W and b must share a floating dtype, got W {W.dtype} and b {b.dtype}")
    if W.ndim != 2 or W.shape[0] != n_features or b.shape != (W.shape[1],):
        raise ValueError(
            f"params must be W ({n_features}, C) and b (C,) for X with {n_features} features, "
            f"got W {W.shape} and b {b.shape}"
        )
    return W, b


def _floating(array: Any) -> bool:
    return array.dtype.is_floating_point if is_tensor(array) else array.dtype.kind == "f"


def check_data(X: Any, y: Any, n_features: int | None, name: str = "X") -> tuple[np.ndarray, np.ndarray]:
    """2-D ``X`` and ``y`` of matching length, left in their dtypes and on their device (no copies).

    Dask collections stay dask arrays (columns in one chunk, ``y`` in ``X``'s row chunks).
    """
    if is_dask_collection(X):
        X, y = aligned_chunks(X, y)
    else:
        X = X if is_tensor(X) else np.asarray(X)
        y = y if is_tensor(y) else np.asarray(y)
    label = "y" if name == "X" else "y_val"
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, D), got an array of shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features but X has {n_features}; expected equal")
    if y.shape[:1] != X.shape[:1]:
        n_labels = y.shape[0] if y.ndim else 0
        raise ValueError(f"{label} has {n_labels} entries but {name} has {X.shape[0]} rows")
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no rows; expected at least one sample")
    return X, y


def check_callables(callbacks: Any, checkpoint: Callable | None) -> tuple[Callable, ...]:
    callbacks = (callbacks,) if callable(callbacks) else tuple(callbacks)
    for i, callback in enumerate(callbacks):
        if not callable(callback):
            raise TypeError(f"callbacks[{i}] must be callable, got {callback!r}")
    if checkpoint is not None and not callable(checkpoint):
        raise TypeError(f"checkpoint must be a callable checkpoint(state) or None, got {checkpoint!r}")
    return callbacks
