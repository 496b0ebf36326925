"""The ``Dataset`` every loader returns, the errors loaders raise, and label encoding.

A ``Dataset`` holds a train and a test split. Images stay ``uint8`` with shape ``(N, H, W)``
(grey) or ``(N, H, W, 3)`` (RGB); plain feature data has shape ``(N, D)``. Labels are
``int64`` class indices ``0..C-1`` into ``classes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike


class DataFormatError(ValueError):
    """A file exists but its content is not what its format requires.

    The message names the file, says what is wrong and what was expected.
    """


class UnsafeDataError(DataFormatError):
    """A file asks for something a loader refuses to do: a pickle global outside the
    allowed set, an object array, or an archive member that would leave its folder."""


class DataNotFoundError(ValueError):
    """The files a loader needs are not where it looked; the message says how to get them."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled data set with a train and a test split.

    Attributes:
        X_train: ``(N_train, H, W)``, ``(N_train, H, W, 3)`` uint8 images or ``(N_train, D)`` features.
        y_train: ``(N_train,)`` int64 class indices in ``0..C-1``.
        X_test: ``(N_test, ...)``, same trailing shape and dtype as ``X_train``; ``N_test`` is 0
            for a source with one split.
        y_test: ``(N_test,)`` int64 class indices.
        classes: the ``C`` class names; ``classes[k]`` names label ``k``.
        image_shape: ``(H, W)`` or ``(H, W, 3)`` for images, ``None`` for plain feature data; rows
            may have this shape or be flattened to ``H * W (* 3)`` values (see ``flatten``).
        name: a short description of where the data came from.

    Example:
        >>> ds = Dataset(np.zeros((2, 3)), np.array([0, 1]), np.zeros((0, 3)), np.zeros(0, int), ("a", "b"))
        >>> ds.flatten().X_train.shape, ds.n_classes
        ((2, 3), 2)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None
    name: str = field(default="")

    def __post_init__(self) -> None:
        classes = tuple(str(c) for c in self.classes)
        object.__setattr__(self, "classes", classes)
        if self.image_shape is not None:
            object.__setattr__(self, "image_shape", tuple(int(s) for s in self.image_shape))
        for split in ("train", "test"):
            X = getattr(self, f"X_{split}")
            y = np.asarray(getattr(self, f"y_{split}"))
            if not isinstance(X, np.ndarray) or X.ndim < 2:
                raise ValueError(f"X_{split} must be an array of at least 2 dimensions, got {_describe(X)}")
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise ValueError(
                    f"y_{split} must have shape ({X.shape[0]},) to match X_{split}, got {y.shape}"
                )
            if y.dtype.kind not in "iu":
                raise TypeError(f"y_{split} must hold integer class indices, got dtype {y.dtype}")
            if y.size and (y.min() < 0 or y.max() >= len(classes)):
                raise ValueError(
                    f"y_{split} holds labels {y.min()}..{y.max()} but there are {len(classes)} classes "
                    f"(expected 0..{len(classes) - 1})"
                )
            object.__setattr__(self, f"y_{split}", y.astype(np.int64, copy=False))
        if self.X_train.shape[1:] != self.X_test.shape[1:]:
            raise ValueError(
                f"X_train rows have shape {self.X_train.shape[1:]} but X_test rows have shape "
                f"{self.X_test.shape[1:]}; both splits must share it"
            )
        if self.image_shape is not None and self.X_train.shape[1:] not in (
            self.image_shape,
            (int(np.prod(self.image_shape)),),
        ):
            raise ValueError(
                f"image_shape {self.image_shape} does not match X_train of shape {self.X_train.shape}; "
                "expected rows of that shape or flattened to its size"
            )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def flatten(self) -> Dataset:
        """Return the data set with ``X_train``/``X_test`` reshaped to ``(N, D)`` (views, no copy).

        ``image_shape`` is kept so rows can be shaped back into images.
        """
        n_features = int(np.prod(self.X_train.shape[1:]))  # explicit: -1 is ambiguous for 0 rows
        return replace(
            self,
            X_train=self.X_train.reshape(len(self.X_train), n_features),
            X_test=self.X_test.reshape(len(self.X_test), n_features),
        )

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, X_train={_describe(self.X_train)}, "
            f"X_test={_describe(self.X_test)}, classes={len(self.classes)}, image_shape={self.image_shape})"
        )


def _describe(X: object) -> str:
    if isinstance(X, np.ndarray):
        return f"{X.dtype}{list(X.shape)}"
    return type(X).__name__


def empty_like_rows(X: np.ndarray) -> np.ndarray:
    """An array with no rows and the row shape and dtype of ``X``: the split a source lacks."""
    return np.empty((0, *X.shape[1:]), dtype=X.dtype)


def encode_labels(
    *label_arrays: ArrayLike, source: str | Path = "labels"
) -> tuple[list[np.ndarray], tuple[str, ...]]:
    """Map arbitrary labels to class indices ``0..C-1`` shared by all arrays.

    Classes are the sorted union of the distinct labels; integral numbers are named without a
    decimal point (``1.0`` -> ``"1"``), so ``y`` already in ``0..C-1`` keeps its values.

    Returns:
        (indices, classes): one int64 array per input and the ``C`` class names.
    """
    arrays = [np.asarray(a) for a in label_arrays]
    for arr in arrays:
        if arr.ndim != 1:
            raise DataFormatError(f"{source}: labels must be 1-D, got an array of shape {arr.shape}")
    if all(a.dtype.kind in "iub" for a in arrays):
        arrays = [a.astype(np.int64) for a in arrays]
    elif all(a.dtype.kind in "iubf" for a in arrays):
        for a in arrays:
            if a.dtype.kind == "f" and not (np.isfinite(a).all() and (a == np.round(a)).all()):
                raise DataFormatError(
                    f"{source}: labels must be whole numbers or names of classes, found a fractional or "
                    "non-finite value"
                )
        arrays = [a.astype(np.int64) for a in arrays]
    else:
        arrays = [a.astype(str) for a in arrays]
    values, inverse = np.unique(np.concatenate(arrays), return_inverse=True)
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    indices = [inverse[lo:hi].astype(np.int64) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    return indices, tuple(str(v) for v in values)
