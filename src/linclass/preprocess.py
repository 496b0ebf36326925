"""Preprocessing as affine transforms that fold into ``W`` and ``b``.

Every transform here is ``x' = (x - shift) * scale`` per feature. Training on ``x'`` with
weights ``W, b`` gives the same scores as training on the raw ``x`` with

    W_raw = scale[:, None] * W,        b_raw = b - (shift * scale) @ W,

because ``x' @ W + b = x @ (scale * W) - (shift * scale) @ W + b``. So a uint8 data set is never
converted as a whole: the objective applies the fold per batch, and a trained model can be
unfolded into raw-pixel weights for deployment.

    >>> import numpy as np
    >>> X = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    >>> t = fit_transform("center-scale", X)
    >>> np.allclose(t.apply(X), (X / 255.0) - (X / 255.0).mean(axis=0))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from linclass._devices import is_tensor
from linclass.registry import Registry

PREPROCESSORS: Registry = Registry("preprocess")

_CHUNK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Affine:
    """``x' = (x - shift) * scale`` per feature; shapes ``(D,)`` (float64)."""

    shift: np.ndarray
    scale: np.ndarray
    name: str = "affine"

    def __post_init__(self) -> None:
        if self.shift.shape != self.scale.shape or self.shift.ndim != 1:
            raise ValueError(
                f"shift and scale must be 1-D of equal shape, got {self.shift.shape} and {self.scale.shape}"
            )

    @property
    def n_features(self) -> int:
        return self.shift.shape[0]

    def apply(self, X: ArrayLike, dtype: np.dtype | type = np.float64) -> np.ndarray:
        """Explicitly transform ``X (N, D)`` (a copy; used for checks, not for training)."""
        out = np.array(X, dtype=np.float64)  # one copy, the arithmetic in place (no temporaries)
        out -= self.shift
        out *= self.scale
        return out.astype(dtype, copy=False)

    def fold(self, W: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights for raw inputs from weights for transformed inputs."""
        scale = self.scale.astype(W.dtype, copy=False)
        shift_scaled = (self.shift * self.scale).astype(W.dtype, copy=False)
        return scale[:, None] * W, b - shift_scaled @ W

    def unfold(self, W_raw: np.ndarray, b_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of ``fold``: weights for transformed inputs from raw-input weights."""
        if np.any(self.scale == 0):
            raise ValueError("cannot unfold a transform with a zero scale")
        W = W_raw / self.scale.astype(W_raw.dtype, copy=False)[:, None]
        return W, b_raw + (self.shift * self.scale).astype(W.dtype, copy=False) @ W

    def fold_grad(self, dW_raw: np.ndarray, db_raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Chain rule through ``fold``: gradients w.r.t. ``W, b`` from those w.r.t. the folded pair."""
        scale = self.scale.astype(dW_raw.dtype, copy=False)
        shift = self.shift.astype(dW_raw.dtype, copy=False)
        return scale[:, None] * (dW_raw - shift[:, None] * db_raw[None, :]), db_raw

    def to_dict(self) -> dict:
        return {"name": self.name}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"preprocess_shift": self.shift, "preprocess_scale": self.scale}

    @classmethod
    def from_arrays(cls, name: str, arrays: dict[str, np.ndarray]) -> Affine:
        return cls(
            np.asarray(arrays["preprocess_shift"], np.float64),
            np.asarray(arrays["preprocess_scale"], np.float64),
            name,
        )


def feature_moments(X: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of ``X (N, D)``, in float64, by row chunks.

    Only one chunk of about 16 MB is converted to float64 at a time, so a uint8 data set is
    never copied. A torch tensor's moments are computed on its device.
    """
    X = _as_rows(X)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be 2-D with at least one row, got shape {X.shape}")
    rows = max(1, _CHUNK_BYTES // (8 * max(1, X.shape[1])))
    if is_tensor(X):
        return _tensor_moments(X, rows)
    total = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], rows):
        total += X[start : start + rows].sum(axis=0, dtype=np.float64)
    mean = total / X.shape[0]
    sq = np.zeros(X.shape[1])
    for start in range(0, X.shape[0], rows):
        diff = X[start : start + rows].astype(np.float64)
        diff -= mean
        sq += np.einsum("ij,ij->j", diff, diff)
    return mean, np.sqrt(sq / X.shape[0])


def _tensor_moments(X, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`feature_moments` of a torch tensor, on its device (tensor methods only: no torch import)."""
    total = sum(X[start : start + rows].double().sum(dim=0) for start in range(0, X.shape[0], rows))
    mean = total / X.shape[0]
    sq = sum(
        ((X[start : start + rows].double() - mean) ** 2).sum(dim=0) for start in range(0, X.shape[0], rows)
    )
    return mean.cpu().numpy(), (sq / X.shape[0]).sqrt().cpu().numpy()


def _as_rows(X: ArrayLike) -> np.ndarray:
    """``X`` as an array, a torch tensor left as it is (on its device)."""
    return X if is_tensor(X) else np.asarray(X)


class FeatureStatistics:
    """What the preprocessors read from ``X (N, D)``: each statistic computed once, when first asked for.

    Subclasses compute the same numbers elsewhere (on a cluster: ``linclass.kernels.cluster``)
    by overriding :meth:`compute_moments` and :meth:`compute_max_abs`.
    """

    def __init__(self, X: ArrayLike) -> None:
        # arrays of other libraries (torch tensors, dask arrays) stay where they are
        self.X = X if hasattr(X, "shape") and hasattr(X, "dtype") else np.asarray(X)
        if len(self.X.shape) != 2 or self.X.shape[0] == 0:
            raise ValueError(f"X must be 2-D with at least one row, got shape {self.X.shape}")
        self._cache: dict = {}

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and standard deviation, float64 ``(D,)`` each."""
        if "moments" not in self._cache:
            self._cache["moments"] = self.compute_moments()
        return self._cache["moments"]

    def value_range(self) -> float:
        """255 for uint8 images, otherwise the largest absolute value (so data lands in [-1, 1])."""
        if str(self.X.dtype) in ("uint8", "torch.uint8"):
            return 255.0
        if "max_abs" not in self._cache:
            self._cache["max_abs"] = self.compute_max_abs()
        top = self._cache["max_abs"]
        return top if top > 0 else 1.0

    def compute_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return feature_moments(self.X)

    def compute_max_abs(self) -> float:
        return float(abs(self.X).max())


def statistics(X: ArrayLike | FeatureStatistics) -> FeatureStatistics:
    """``X`` itself when it already is statistics, else the statistics of the array ``X``."""
    return X if isinstance(X, FeatureStatistics) else FeatureStatistics(X)


@PREPROCESSORS.register("none")
def identity(X: ArrayLike | FeatureStatistics) -> Affine:
    """No preprocessing."""
    D = statistics(X).n_features
    return Affine(np.zeros(D), np.ones(D), "none")


@PREPROCESSORS.register("scale")
def scale_to_unit(X: ArrayLike | FeatureStatistics) -> Affine:
    """Divide by the value range (255 for uint8): pixels in [0, 1]."""
    stats = statistics(X)
    return Affine(np.zeros(stats.n_features), np.full(stats.n_features, 1.0 / stats.value_range()), "scale")


@PREPROCESSORS.register("center")
def center(X: ArrayLike | FeatureStatistics) -> Affine:
    """Subtract the mean image (the CS231n preprocessing)."""
    mean, _ = statistics(X).moments()
    return Affine(mean, np.ones_like(mean), "center")


@PREPROCESSORS.register("center-scale")
def center_scale(X: ArrayLike | FeatureStatistics) -> Affine:
    """Scale to [0, 1] and subtract the mean image."""
    stats = statistics(X)
    mean, _ = stats.moments()
    return Affine(mean, np.full_like(mean, 1.0 / stats.value_range()), "center-scale")


@PREPROCESSORS.register("standardize")
def standardize(X: ArrayLike | FeatureStatistics) -> Affine:
    """Per-feature zero mean and unit variance (constant features are only centred)."""
    mean, std = statistics(X).moments()
    return Affine(mean, 1.0 / np.where(std > 0, std, 1.0), "standardize")


def fit_transform(name: str, X: ArrayLike | FeatureStatistics) -> Affine:
    """Fit the preprocessing called ``name`` (see ``PREPROCESSORS``) on ``X (N, D)`` or its statistics."""
    return PREPROCESSORS.resolve(name)(X)
