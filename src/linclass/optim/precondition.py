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

from linclass._devices import to_host

PRECONDITIONS = ("auto", "whiten", "diagonal", "none")
MOMENT_ROWS = 10_000
MAX_WHITEN_FEATURES = 4096
_CHUNK_ROWS = 2048


class Preconditioner(NamedTuple):
    """``W = basis @ (scale * Z)``, ``b = bias_scale * z - center @ W`` (``basis`` (0, 0): ``U = I``).

    Shapes: ``basis (D, D)``, ``scale (D, C)``, ``center (D,)``, ``bias_scale (C,)``.
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
        if self.basis.size:
            W = self.basis @ W
        b = self.bias_scale * x[D * C:] - self.center @ W
        return W.astype(dtype, copy=False), b.astype(dtype, copy=False)

    def to_coordinates(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_params` (a warm start): flat float64 ``x``."""
        W = np.asarray(W, dtype=np.float64)
        Z = (self.basis.T @ W if self.basis.size else W) / self.scale
        z = (np.asarray(b, dtype=np.float64) + self.center @ W) / self.bias_scale
        return np.concatenate([Z.ravel(), z])

    def gradient(self, dW: np.ndarray, db: np.ndarray) -> np.ndarray:
        """Flat gradient with respect to ``x`` from ``(dW, db)`` (chain rule through :meth:`to_params`)."""
        dW = np.asarray(dW, dtype=np.float64)
        db = np.asarray(db, dtype=np.float64)
        G = dW - self.center[:, None] * db[None, :]
        if self.basis.size:
            G = self.basis.T @ G
        return np.concatenate([(self.scale * G).ravel(), self.bias_scale * db])

    def ratio(self, other: Preconditioner) -> np.ndarray:
        """``r (n,)`` with ``x_other = r * x`` for the same ``(W, b)`` (``other`` differs in scales only)."""
        return np.concatenate([(self.scale / other.scale).ravel(), self.bias_scale / other.bias_scale])


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


def placeholder(mode: str, n_features: int, n_classes: int) -> Preconditioner:
    """A preconditioner of the right shapes (a checkpoint template); identity values."""
    basis = np.zeros((n_features, n_features) if mode == "whiten" else (0, 0))
    return Preconditioner(basis, np.ones((n_features, n_classes)), np.zeros(n_features), np.ones(n_classes))


def sample_rows(n: int) -> np.ndarray:
    """At most ``MOMENT_ROWS`` evenly spaced row indices of ``n`` rows."""
    return np.unique(np.linspace(0, n - 1, min(n, MOMENT_ROWS)).round().astype(np.intp))


def moments(X: np.ndarray, transform) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (float64) of ``transform(X)`` on a row subsample."""
    picked = sample_rows(X.shape[0])
    D = X.shape[1]
    total, gram = np.zeros(D), np.zeros((D, D))
    for start in range(0, picked.shape[0], _CHUNK_ROWS):
        chunk = np.asarray(to_host(X[picked[start:start + _CHUNK_ROWS]]), dtype=np.float64)
        total += chunk.sum(axis=0)
        gram += chunk.T @ chunk
    mean = total / picked.shape[0]
    covariance = gram / picked.shape[0] - np.outer(mean, mean)
    if transform is not None:
        mean = (mean - transform.shift) * transform.scale
        covariance = transform.scale[:, None] * covariance * transform.scale[None, :]
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
    mean, covariance = moments(X, transform)
    if mode == "whiten":
        eigenvalues, basis = np.linalg.eigh(covariance)
    else:
        eigenvalues, basis = np.diag(covariance).copy(), np.zeros((0, 0))
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
        return placeholder("none", D, n_classes)
    found = known if known is not None and known.mode == mode else spectrum(mode, X, transform)
    mean, eigenvalues, basis = found.center, found.eigenvalues, found.basis
    curve = curvature * np.maximum(eigenvalues, 0.0) + 2.0 * l2
    floor = 1e-10 * max(float(curve.max(initial=0.0)), 1e-300)
    scale = np.repeat(1.0 / np.sqrt(np.maximum(curve, floor))[:, None], n_classes, axis=1)
    return Preconditioner(basis, scale, mean, np.full(n_classes, 1.0 / np.sqrt(curvature)))
