"""What every image feature extractor shares: input checks and the chunked, progress-barred transform.

An extractor is a scikit-learn transformer whose input is a stack of uint8 images, ``(N, H, W)``
(grey) or ``(N, H, W, 3)`` (RGB), and whose output is ``(N, n_features)`` float32. ``transform``
works through the images ``chunk_size`` at a time, so its temporaries stay the size of one chunk
whatever ``N`` is, and draws a bar on a terminal when ``verbose`` is true.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from linclass._validation import check_int
from linclass.progress import ProgressBar


def check_images(X: ArrayLike, name: str = "X", *, rgb: bool = False) -> np.ndarray:
    """Return ``X`` as a uint8 array of images ``(N, H, W)`` or ``(N, H, W, 3)``.

    Args:
        X: the images.
        name: the argument's name in error messages.
        rgb: require three colour channels.

    Raises:
        TypeError: ``X`` is not uint8.
        ValueError: ``X`` has another shape, or no images.
    """
    images = np.asarray(X)
    if images.dtype != np.uint8:
        raise TypeError(
            f"{name} must be uint8 images (N, H, W) or (N, H, W, 3) with values 0..255, "
            f"got dtype {images.dtype}"
        )
    if rgb and (images.ndim != 4 or images.shape[3] != 3):
        raise ValueError(f"{name} must be RGB images of shape (N, H, W, 3), got shape {images.shape}")
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3):
        raise ValueError(
            f"{name} must be images of shape (N, H, W) or (N, H, W, 3), got shape {images.shape}"
        )
    if images.shape[0] == 0:
        raise ValueError(f"{name} holds no images (shape {images.shape}); expected at least one")
    return images


class ImageFeatures(TransformerMixin, BaseEstimator):
    """Base of the extractors: ``fit`` checks the images and learns what the subclass needs;
    ``transform`` maps them chunk by chunk into one preallocated float32 array.

    Subclasses set ``chunk_size`` and ``verbose`` in ``__init__`` and implement
    ``_fit_images(images)`` (learn state; return the number of output features) and
    ``_transform_chunk(images) -> (n, n_features)``.
    """

    _needs_rgb = False
    _label = "features"

    def fit(self, X: ArrayLike, y: ArrayLike | None = None) -> ImageFeatures:
        """Learn what the extractor needs from the images ``X`` (labels ``y`` are ignored)."""
        check_int(self.chunk_size, "chunk_size")
        images = check_images(X, rgb=self._needs_rgb)
        self.image_shape_ = images.shape[1:]
        self.n_features_out_ = int(self._fit_images(images))
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """Features ``(N, n_features_out_)`` float32 of the images ``X (N, *image_shape_)``."""
        check_is_fitted(self, "n_features_out_")
        images = check_images(X, rgb=self._needs_rgb)
        if images.shape[1:] != self.image_shape_:
            raise ValueError(
                f"X has images of shape {images.shape[1:]}, but {type(self).__name__} was fitted on "
                f"{self.image_shape_}"
            )
        out = np.empty((len(images), self.n_features_out_), dtype=np.float32)
        with ProgressBar(
            total=1, steps_per_epoch=len(images), verbose=self.verbose, description=self._label, unit="image"
        ) as bar:
            for start in range(0, len(images), self.chunk_size):
                chunk = images[start : start + self.chunk_size]
                out[start : start + len(chunk)] = self._transform_chunk(chunk)
                bar.advance(len(chunk))
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``<name>0 .. <name>{n-1}``: one name per output column."""
        check_is_fitted(self, "n_features_out_")
        prefix = type(self).__name__.lower()
        return np.array([f"{prefix}{i}" for i in range(self.n_features_out_)], dtype=object)

    def _fit_images(self, images: np.ndarray) -> int:
        raise NotImplementedError

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError
