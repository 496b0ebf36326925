"""The few operations whose spelling differs between NumPy arrays and torch tensors.

Full-batch solvers (:mod:`linclass.optim.lbfgs`, :mod:`linclass.optim.solver`,
:mod:`linclass.optim.precondition`) and the searches are written with operators and these
helpers, so the same code runs on host arrays and on tensors on their device. Each helper does
for a NumPy array exactly what the NumPy code did before (same calls, same bits), and for a
tensor the torch operation on the tensor's device; nothing here moves an array between devices
(the helpers returning a Python float read that one number back)::

    >>> copy(np.arange(3.0)), largest_abs((np.array([1.0, -2.5]),))
    (array([0., 1., 2.]), 2.5)

torch is imported only when a tensor is seen (``is_tensor`` never imports it).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from linclass._devices import is_tensor


def _torch() -> Any:
    import torch

    return torch


def numpy_dtype(dtype: Any) -> np.dtype:
    """The NumPy dtype of a NumPy or torch dtype (``torch.float32`` -> ``float32``)."""
    if isinstance(dtype, np.dtype) or not hasattr(dtype, "is_floating_point"):
        return np.dtype(dtype)
    return np.dtype(str(dtype).removeprefix("torch."))


def cast(a: Any, dtype: Any) -> Any:
    """``a`` in ``dtype`` (a NumPy or torch dtype), no copy when it already is."""
    if is_tensor(a):
        torch = _torch()
        return a.to(getattr(torch, numpy_dtype(dtype).name))
    return a.astype(numpy_dtype(dtype), copy=False)


def as_float64(a: Any, copy: bool = False) -> Any:
    """``a`` as float64 (a NumPy array for anything but a tensor); ``copy`` forces a new array."""
    if is_tensor(a):
        return a.to(_torch().float64, copy=copy)
    return np.array(a, dtype=np.float64) if copy else np.asarray(a, dtype=np.float64)


def copy(a: Any) -> Any:
    """A copy of ``a`` on its device."""
    return a.clone() if is_tensor(a) else a.copy()


def zeros(like: Any, shape: tuple, dtype: Any = np.float64) -> Any:
    """Zeros of ``shape`` and ``dtype`` where ``like`` lives (NumPy for anything but a tensor)."""
    if is_tensor(like):
        return like.new_zeros(shape, dtype=getattr(_torch(), numpy_dtype(dtype).name))
    return np.zeros(shape, dtype=dtype)


def full(like: Any, shape: tuple, value: float) -> Any:
    """A float64 array of ``shape`` filled with ``value`` where ``like`` lives."""
    if is_tensor(like):
        return like.new_full(shape, value, dtype=_torch().float64)
    return np.full(shape, value)


def concat(parts: list) -> Any:
    """``parts`` joined along their first axis."""
    return _torch().cat(parts) if is_tensor(parts[0]) else np.concatenate(parts)


def where(condition: Any, a: Any, b: Any) -> Any:
    """``a`` where ``condition`` holds, else ``b`` (all three on one device)."""
    return _torch().where(condition, a, b) if is_tensor(a) else np.where(condition, a, b)


def maximum(a: Any, floor: float) -> Any:
    """Elementwise ``max(a, floor)`` for a number ``floor``."""
    return a.clamp(min=floor) if is_tensor(a) else np.maximum(a, floor)


def sqrt(a: Any) -> Any:
    return a.sqrt() if is_tensor(a) else np.sqrt(a)


def exp(a: Any) -> Any:
    return a.exp() if is_tensor(a) else np.exp(a)


def row_max(a: Any) -> Any:
    """``(N, 1)``: the largest entry of each row of ``a (N, C)``."""
    return a.amax(axis=1, keepdims=True) if is_tensor(a) else a.max(axis=1, keepdims=True)


def equal(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` (both arrays or both tensors) have the same shape and entries."""
    return bool(_torch().equal(a, b)) if is_tensor(a) else bool(np.array_equal(a, b))


def largest(a: Any) -> float:
    """The largest entry of ``a`` as a Python float (0 for an empty array): one read-back."""
    if is_tensor(a):
        return float(a.max()) if a.numel() else 0.0
    return float(a.max(initial=0.0))


def largest_abs(arrays: tuple) -> float:
    """``max |a|`` over every entry of ``arrays`` as a Python float (0 when all are empty)."""
    if arrays and is_tensor(arrays[0]):
        torch = _torch()
        parts = [a.abs().max() for a in arrays if a.numel()]
        return float(torch.stack(parts).max()) if parts else 0.0
    return max(float(np.abs(a).max(initial=0.0)) for a in arrays)


def dot(a: Any, b: Any) -> float:
    """``a · b`` of two vectors as a Python float (``np.dot`` for arrays)."""
    return float(a @ b) if is_tensor(a) else np.dot(a, b)


def norm(a: Any) -> float:
    """The Euclidean norm of a vector as a Python float."""
    return float(_torch().linalg.vector_norm(a)) if is_tensor(a) else float(np.linalg.norm(a))


def eigh(a: Any) -> tuple[Any, Any]:
    """Eigenvalues (ascending) and eigenvectors of the symmetric matrix ``a``."""
    return _torch().linalg.eigh(a) if is_tensor(a) else np.linalg.eigh(a)


def diagonal(a: Any) -> Any:
    """A copy of the diagonal of the square matrix ``a``."""
    return a.diagonal().clone() if is_tensor(a) else np.diag(a).copy()


def repeat_columns(v: Any, n: int) -> Any:
    """``(D, n)`` with every column equal to the vector ``v (D,)``."""
    return v[:, None].repeat(1, n) if is_tensor(v) else np.repeat(v[:, None], n, axis=1)


def cholesky(a: Any) -> Any:
    """The lower-triangular ``L`` with ``L Lᵀ = a`` (``a`` symmetric positive definite)."""
    return _torch().linalg.cholesky(a) if is_tensor(a) else np.linalg.cholesky(a)


def lower_inverse(lower: Any) -> Any:
    """``L⁻¹`` of a lower-triangular ``L`` (itself lower-triangular; ``L`` may be overwritten)."""
    if is_tensor(lower):
        torch = _torch()
        eye = torch.eye(lower.shape[0], dtype=lower.dtype, device=lower.device)
        return torch.linalg.solve_triangular(lower, eye, upper=False)
    from scipy.linalg import lapack

    inverse, info = lapack.dtrtri(lower, lower=1, overwrite_c=1)  # the zero upper triangle stays
    if info != 0:
        raise np.linalg.LinAlgError(f"the triangular factor is singular (LAPACK info {info})")
    return inverse


def solve_upper(upper: Any, b: Any) -> Any:
    """``U⁻¹ b`` for an upper-triangular ``U (D, D)`` and ``b (D, n)``."""
    if is_tensor(upper):
        return _torch().linalg.solve_triangular(upper, b, upper=True)
    from scipy.linalg import solve_triangular

    return solve_triangular(upper, b, lower=False)


def add_to_diagonal(a: Any, value: float) -> Any:
    """``a + value I`` for a square ``a`` (a new array)."""
    out = a.clone() if is_tensor(a) else a.copy()
    if is_tensor(out):
        out.diagonal().add_(value)
    else:
        out.flat[:: a.shape[0] + 1] += value
    return out


def add_gram(gram: Any, rows: Any) -> Any:
    """``gram + rowsᵀ rows`` for ``rows (n, D)`` float64; for NumPy arrays only the upper
    triangle is formed (BLAS ``syrk``: half the multiply-adds): :func:`symmetric` completes it."""
    if is_tensor(gram):
        return gram + rows.T @ rows
    from scipy.linalg import blas

    return blas.dsyrk(1.0, rows.T, beta=1.0, c=gram, trans=0, lower=0, overwrite_c=1)


def symmetric(gram: Any) -> Any:
    """The symmetric matrix whose upper triangle :func:`add_gram` formed (a tensor's is whole)."""
    return gram if is_tensor(gram) else np.triu(gram) + np.triu(gram, 1).T
