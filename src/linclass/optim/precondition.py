"""Coordinates in which a full-batch smooth objective is well conditioned, the problem unchanged.

L-BFGS on raw pixels is slow because the Hessian of the objective is ill-conditioned: the
features have very different variances, are strongly correlated, and the weak L2 penalty
``alpha ||W||²`` is all that curves the directions the data do not. A change of variables

    W_c = B diag(s_c) Z_c  (per class c),      b = beta ⊙ z - mu @ W       (B invertible, s, beta > 0)

leaves the objective ``f(W, b)`` itself unchanged — the penalty is still ``alpha ||W||²``,
evaluated on ``W`` — and only moves the point L-BFGS walks. With ``mu`` the mean input, ``Σ``
its covariance ``U diag(λ) Uᵀ`` and ``h`` the curvature of the loss at zero scores (``1/C`` for
the softmax), ``"whiten"`` takes ``B = U`` (orthogonal) and

    s_kc = 1 / sqrt(h λ_k + 2 alpha),    beta_c = 1 / sqrt(h),

so the Hessian at the start, ``B diag(s)`` applied to ``h Σ + 2 alpha I`` from both sides, is
close to the identity in every direction, data-driven or penalty-driven alike
(``linclass.optim.solver`` later rescales ``s`` and ``beta`` per class to the curvature at the
current point). ``"cholesky"`` reaches the same start without the eigendecomposition: with the
Cholesky factor ``h Σ + 2 alpha I = L Lᵀ`` it takes ``B = L⁻ᵀ`` (upper triangular) and
``s = 1``, so ``Bᵀ (h Σ + 2 alpha I) B = I`` exactly. Both bases satisfy ``B Bᵀ = (h Σ + 2 alpha
I)⁻¹``, so they differ by an orthogonal factor, to which L-BFGS (its first matrix a multiple of
the identity) is blind: until the scales are refitted the iterates are the same; the
factorization costs ``D³/3`` multiply-adds and the inverse as much, against about nine times
that for the eigendecomposition (on one core, 6,400 features: about 9 s against 50 s).
``"diagonal"`` is ``B = I`` with ``λ`` the variances; ``"none"`` is ``B = I``, ``s = beta = 1``,
``mu = 0`` (the parameters themselves). The gradient follows by the chain rule:

    dZ = s ⊙ Bᵀ (dW - mu dbᵀ),     dz = beta ⊙ db.

The moments come from at most :data:`MOMENT_ROWS` evenly spaced training rows (any invertible
``B`` gives the same optimum; it only needs to be a good guess), through the objective's
preprocessing transform. ``"auto"`` whitens up to :data:`MAX_WHITEN_FEATURES` features, takes
the Cholesky basis up to :data:`MAX_CHOLESKY_FEATURES` (its ``D × D`` matrices, 0.5 GB each
at 8,192 features, are the limit) and the diagonal of ``Σ`` above (``B = I``). On the
50,000 × 6,400 k-means features of CIFAR-10 the L2-SVM needed about 900 iterations in the
diagonal coordinates and 242 in the Cholesky ones, whose test accuracy is the optimum's after
55 (README, "Wide features").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from linclass._arrays import (
    add_gram,
    add_to_diagonal,
    as_float64,
    cast,
    cholesky,
    concat,
    diagonal,
    eigh,
    full,
    largest,
    lower_inverse,
    maximum,
    repeat_columns,
    solve_upper,
    sqrt,
    symmetric,
    zeros,
)  # fmt: skip
from linclass._devices import on_device_of

PRECONDITIONS = ("auto", "whiten", "cholesky", "diagonal", "none")
MOMENT_ROWS = 10_000
MAX_WHITEN_FEATURES = 4096
MAX_CHOLESKY_FEATURES = 8192
# the modes whose basis is a (D, D) matrix (from the full covariance)
FULL_BASIS = ("whiten", "cholesky")
# the modes whose basis and center come from the inputs alone (the Cholesky basis depends on alpha)
SAMPLE_MODES = ("whiten", "diagonal")
_CHUNK_ROWS = 2048


class Preconditioner(NamedTuple):
    """``W = basis @ (scale * Z)``, ``b = bias_scale * z - center @ W`` (``basis`` (0, 0): ``B = I``).

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

    def to_params(self, x: np.ndarray, dtype, basis: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """``(W (D, C), b (C,))`` in ``dtype`` from the flat coordinates ``x (D*C + C,)``.

        ``basis``: ``self.basis`` in the dtype the product is to be computed in (a float32 copy
        for a float32 computation, whose ``W`` is rounded to float32 anyway); None: ``self.basis``.
        """
        D, C = self.scale.shape
        basis = self.basis if basis is None else basis
        W = self.scale * x[: D * C].reshape(D, C)
        if basis.shape[0]:
            W = basis @ cast(W, basis.dtype)
        b = self.bias_scale * x[D * C:] - self.center @ as_float64(W)
        return cast(W, dtype), cast(b, dtype)

    def to_coordinates(self, W: np.ndarray, b: np.ndarray, triangular: bool = False) -> np.ndarray:
        """Inverse of :meth:`to_params` (a warm start): flat float64 ``x``.

        ``triangular``: the basis is the upper-triangular ``"cholesky"`` one (inverted by a
        triangular solve), not an orthogonal one (inverted by its transpose).
        """
        W = as_float64(W)
        if not self.basis.shape[0]:
            Z = W
        else:
            Z = solve_upper(self.basis, W) if triangular else self.basis.T @ W
        Z = Z / self.scale
        z = (as_float64(b) + self.center @ W) / self.bias_scale
        return concat([Z.ravel(), z])

    def gradient(self, dW: np.ndarray, db: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
        """Flat float64 gradient with respect to ``x`` from ``(dW, db)`` (chain rule through
        :meth:`to_params`); ``basis`` as there."""
        basis = self.basis if basis is None else basis
        dW = as_float64(dW)
        db = as_float64(db)
        G = dW - self.center[:, None] * db[None, :]
        if basis.shape[0]:
            G = as_float64(basis.T @ cast(G, basis.dtype))
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
    """The mode ``precondition`` means for ``n_features`` features: ``whiten``, ``cholesky``,
    ``diagonal`` or ``none``."""
    if precondition == "auto":
        if n_features <= MAX_WHITEN_FEATURES:
            return "whiten"
        return "cholesky" if n_features <= MAX_CHOLESKY_FEATURES else "diagonal"
    return precondition


def placeholder(mode: str, n_features: int, n_classes: int, like=None) -> Preconditioner:
    """A preconditioner of the right shapes (a checkpoint template); identity values, where
    ``like`` (an array or tensor) lives."""
    basis = zeros(like, (n_features, n_features) if mode in FULL_BASIS else (0, 0))
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
    total = zeros(X, (D,))
    gram = zeros(X, (D,)) if diagonal_only else zeros(X, (D, D)).T  # column-major: syrk adds in place
    for start in range(0, picked.shape[0], _CHUNK_ROWS):
        chunk = as_float64(X[picked[start:start + _CHUNK_ROWS]])
        total += chunk.sum(axis=0)
        if diagonal_only:
            gram += (chunk * chunk).sum(axis=0)
        else:
            gram = add_gram(gram, chunk)
    if not diagonal_only:
        gram = symmetric(gram)
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
    ``eigenvalues (D,)`` (the covariance's, or its diagonal), ``basis`` ``(D, D)`` (``(0, 0)``:
    ``B = I``) and, for ``"cholesky"``, the ``covariance`` ``(D, D)`` itself (its factor
    depends on the strength). It depends on the inputs alone, so solves on the same rows at
    other strengths (a regularization path) reuse it instead of another eigendecomposition.

    ``sample`` is the moment rows' coordinates along the basis, which the solver's rescaling
    needs (:class:`linclass.optim.solver.Sample`): the first solve that rescales computes it and
    returns it with the spectrum, for the modes whose basis does not depend on the strength
    (:data:`SAMPLE_MODES`)."""

    mode: str
    center: np.ndarray
    eigenvalues: np.ndarray
    basis: np.ndarray
    covariance: np.ndarray | None = None
    sample: object = None


def spectrum(mode: str, X: np.ndarray, transform) -> Spectrum:
    """The :class:`Spectrum` of ``X (N, D)`` seen through ``transform`` for ``mode`` (whiten,
    cholesky, diagonal)."""
    # the diagonal mode skips the D x D product where it is expensive (above the whitening's
    # limit); below it the variances stay the full product's diagonal, bit for bit
    diagonal_only = mode not in FULL_BASIS and X.shape[1] > MAX_WHITEN_FEATURES
    mean, covariance = moments(X, transform, diagonal_only=diagonal_only)
    if mode == "whiten":
        eigenvalues, basis = eigh(covariance)
    else:
        eigenvalues = covariance if diagonal_only else diagonal(covariance)
        basis = zeros(covariance, (0, 0))
    return Spectrum(mode, mean, eigenvalues, basis, covariance if mode == "cholesky" else None)


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
    bias_scale = full(mean, (n_classes,), 1.0 / np.sqrt(curvature))
    if mode == "cholesky":
        basis = cholesky_basis(found.covariance, curvature, l2)
        return Preconditioner(basis, full(mean, (D, n_classes), 1.0), mean, bias_scale)
    curve = curvature * maximum(eigenvalues, 0.0) + 2.0 * l2
    floor = 1e-10 * max(largest(curve), 1e-300)
    scale = repeat_columns(1.0 / sqrt(maximum(curve, floor)), n_classes)
    return Preconditioner(basis, scale, mean, bias_scale)


def cholesky_basis(covariance: np.ndarray, curvature: float, l2: float) -> np.ndarray:
    """``B = L⁻ᵀ (D, D)``, upper triangular, with ``L Lᵀ = h Σ + max(2 alpha, floor) I``.

    The floor (``1e-10`` of the largest ``h Σ_kk``) keeps the factor defined without an L2
    penalty; it changes the coordinates only, never the objective.
    """
    ridge = max(2.0 * l2, 1e-10 * max(curvature * largest(diagonal(covariance)), 1e-300))
    return lower_inverse(cholesky(add_to_diagonal(curvature * covariance, ridge))).T
