"""Coordinates in which a full-batch smooth objective is well conditioned, the problem unchanged.

L-BFGS on raw pixels is slow because the Hessian of the objective is ill-conditioned: the
features have very different variances, are strongly correlated, and the weak L2 penalty
``alpha ||W||²`` is all that curves the directions the data do not. A change of variables

    W_c = U diag(s_c) Z_c  (per class c),      b = beta ⊙ z - mu @ W       (U orthogonal, s, beta > 0)

leaves the objective ``f(W, b)`` itself unchanged — the penalty is still ``alpha ||W||²``,
evaluated on ``W`` — and only moves the point L-BFGS walks. With ``mu`` the mean input, ``Σ``
its covariance ``U diag(λ) Uᵀ`` and ``h`` the curvature of the loss at zero scores (``1/C`` for
the softmax), ``"whiten"`` takes

    s_kc = 1 / sqrt(h λ_k + 2 alpha),    beta_c = 1 / sqrt(h),

so the Hessian at the start is close to the identity in every direction, data-driven or
penalty-driven alike (``linclass.optim.solver`` later rescales ``s`` and ``beta`` per class to
the curvature at the current point); ``"diagonal"`` is ``U = I`` with ``λ`` the variances;
``"none"`` is ``U = I``, ``s = beta = 1``, ``mu = 0`` (the parameters themselves). The gradient
follows by the chain rule:

    dZ = s ⊙ Uᵀ (dW - mu dbᵀ),     dz = beta ⊙ db.

The moments come from at most :data:`MOMENT_ROWS` evenly spaced training rows (any invertible
``B`` gives the same optimum; it only needs to be a good guess), through the objective's
preprocessing transform. Above :data:`MAX_WHITEN_FEATURES` features the eigendecomposition
costs more than it saves and ``"auto"`` keeps the diagonal of ``Σ`` (``U = I``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linclass._arrays import (
    as_float64,
    cast,
    concat,
    diagonal,
    eigh,
    full,
    largest,
    maximum,
    repeat_columns,
    sqrt,
    zeros,
)  # fmt: skip
from linclass._devices import on_device_of

PRECONDITIONS = ("auto", "whiten", "diagonal", "none")
MOMENT_ROWS = 10_000
MAX_WHITEN_FEATURES = 4096
_CHUNK_ROWS = 2048


class Preconditioner(NamedTuple):
    """``W = basis @ (scale * Z)``, ``b = bias_scale * z - center @ W`` (``basis`` (0, 0): ``U = I``).

    Shapes: ``basis (D, D)``, ``scale (D, C)``, ``center (D,)``, ``bias_scale (C,)``; float64
    NumPy arrays, or tensors on the device of the data they were fitted on.
    """

    basis: np.ndarray
    scale: np.ndarray
    center: np.ndarray
    bias_scale: np.ndarray

    @property
    def n_features(self) -> int:
        return self.scale.shape[0]

    def to_params(self, x: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
        """``(W (D, C), b (C,))`` in ``dtype`` from the flat coordinates ``x (D*C + C,)``."""
        D, C = self.scale.shape
        W = self.scale * x[: D * C].reshape(D, C)
        if self.basis.shape[0]:
            W = self.basis @ W
        b = self.bias_scale * x[D * C:] - self.center @ W
        return cast(W, dtype), cast(b, dtype)

    def to_coordinates(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_params` (a warm start): flat float64 ``x``."""
        W = as_float64(W)
        Z = (self.basis.T @ W if self.basis.shape[0] else W) / self.scale
        z = (as_float64(b) + self.center @ W) / self.bias_scale
        return concat([Z.ravel(), z])

    def gradient(self, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
        """Flat gradient with respect to ``x`` from ``(dW, db)`` (chain rule through :meth:`to_params`)."""
        dW = as_float64(dW)
        db = as_float64(db)
        G = dW - self.center[:, None] * db[None, :]
        if self.basis.shape[0]:
            G = self.basis.T @ G
        return concat([(self.scale * G).ravel(), self.bias_scale * db])

    def ratio(self, other: Preconditioner) -> np.ndarray:
        """``r (n,)`` with ``x_other = r * x`` for the same ``(W, b)`` (``other`` differs in scales only)."""
        return concat([(self.scale / other.scale).ravel(), self.bias_scale / other.bias_scale])


def check_precondition(precondition: str) -> str:
    if precondition not in PRECONDITIONS:
        raise ValueError(
            f"precondition={precondition!r} is not supported; expected one of {list(PRECONDITIONS)}"
        )
    return precondition


def resolve(precondition: str, n_features: int) -> str:
    """The mode ``precondition`` means for ``n_features`` features: ``whiten``, ``diagonal`` or ``none``."""
    if precondition == "auto":
        return "whiten" if n_features <= MAX_WHITEN_FEATURES else "diagonal"
    return precondition


def placeholder(mode: str, n_features: int, n_classes: int, like=None) -> Preconditioner:
    """A preconditioner of the right shapes (a checkpoint template); identity values, where
    ``like`` (an array or tensor) lives."""
    basis = zeros(like, (n_features, n_features) if mode == "whiten" else (0, 0))
    return Preconditioner(basis, full(like, (n_features, n_classes), 1.0), zeros(like, (n_features,)),
                          full(like, (n_classes,), 1.0))


def sample_rows(n: int) -> np.ndarray:
    """At most ``MOMENT_ROWS`` evenly spaced row indices of ``n`` rows."""
    return np.unique(np.linspace(0, n - 1, min(n, MOMENT_ROWS)).round().astype(np.intp))


def moments(X: np.ndarray, transform, diagonal_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (float64) of ``transform(X)`` on a row subsample
    (computed on the device of a tensor ``X``).

    ``diagonal_only=True`` returns only the covariance's diagonal ``(D,)`` (the variances), without the
    ``D × D`` product: 0.8 TFLOP for 6,400 features on the 10,000 moment rows.
    """
    picked = on_device_of(X, sample_rows(X.shape[0]))
    D = X.shape[1]
    total, gram = zeros(X, (D,)), zeros(X, (D,) if diagonal_only else (D, D))
    for start in range(0, picked.shape[0], _CHUNK_ROWS):
        chunk = as_float64(X[picked[start:start + _CHUNK_ROWS]])
        total += chunk.sum(axis=0)
        gram += (chunk * chunk).sum(axis=0) if diagonal_only else chunk.T @ chunk
    mean = total / picked.shape[0]
    covariance = gram / picked.shape[0] - (mean * mean if diagonal_only else mean[:, None] * mean[None, :])
    if transform is not None:
        shift, scale = on_device_of(X, transform.shift), on_device_of(X, transform.scale)
        mean = (mean - shift) * scale
        outer = scale * scale if diagonal_only else scale[:, None] * scale[None, :]
        covariance = covariance * outer
    return mean, covariance


class Spectrum(NamedTuple):
    """What a ``mode`` preconditioner takes from the data: ``center (D,)`` (the mean input),
    ``eigenvalues (D,)`` (the covariance's, or its diagonal) and ``basis`` ``(D, D)`` (``(0, 0)``:
    ``U = I``). It depends on the inputs alone, so solves on the same rows at other strengths
    (a regularization path) reuse it instead of another eigendecomposition."""

    mode: str
    center: np.ndarray
    eigenvalues: np.ndarray
    basis: np.ndarray


def spectrum(mode: str, X: np.ndarray, transform) -> Spectrum:
    """The :class:`Spectrum` of ``X (N, D)`` seen through ``transform`` for ``mode`` (whiten, diagonal)."""
    # the diagonal mode skips the D x D product where it is expensive (above the whitening's
    # limit); below it the variances stay the full product's diagonal, bit for bit
    diagonal_only = mode != "whiten" and X.shape[1] > MAX_WHITEN_FEATURES
    mean, covariance = moments(X, transform, diagonal_only=diagonal_only)
    if mode == "whiten":
        eigenvalues, basis = eigh(covariance)
    else:
        eigenvalues = covariance if diagonal_only else diagonal(covariance)
        basis = zeros(covariance, (0, 0))
    return Spectrum(mode, mean, eigenvalues, basis)


def fit_preconditioner(
    mode: str, X: np.ndarray, transform, curvature: float, l2: float, n_classes: int,
    known: Spectrum | None = None,
) -> Preconditioner:
    """The preconditioner of ``mode`` for data ``X (N, D)`` seen through ``transform``.

    Args:
        curvature: ``h``, the loss's curvature per unit of score variance at zero scores.
        l2: the L2 strength ``alpha`` acting on ``W`` (0 without an L2 penalty).
        known: the :class:`Spectrum` of the same ``X`` and ``transform`` when already computed.
    """
    D = X.shape[1]
    if mode == "none":
        return placeholder("none", D, n_classes, like=X)
    found = known if known is not None and known.mode == mode else spectrum(mode, X, transform)
    mean, eigenvalues, basis = found.center, found.eigenvalues, found.basis
    curve = curvature * maximum(eigenvalues, 0.0) + 2.0 * l2
    floor = 1e-10 * max(largest(curve), 1e-300)
    scale = repeat_columns(1.0 / sqrt(maximum(curve, floor)), n_classes)
    return Preconditioner(basis, scale, mean, full(mean, (n_classes,), 1.0 / np.sqrt(curvature)))
