"""Small built-in data: scikit-learn's 8x8 digits and 2-D toy sets for figures and demos.

The toy generators return ``(X (N, 2) float64, y (N,) int64)`` with classes in blocks
(class 0 first), ``n_samples`` shared as evenly as possible across classes.
"""

from __future__ import annotations

import numpy as np

from linclass.splits import split_indices

from .._validation import check_fraction, check_int, check_positive, check_random_state
from .base import Dataset

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def load_digits() -> Dataset:
    """scikit-learn's 1,797 8x8 grey digit images, with a fixed stratified 80/20 train/test split.

    Pixel values are 0..16 (as in the original data) stored as uint8 ``(N, 8, 8)``. The split
    is ``split_indices(y, 0.2, stratify=True, random_state=0)``: 1,438 train and 359 test
    images, every class in both, the same on every call.

    Example:
        >>> ds = load_digits()
        >>> ds.X_train.shape, ds.X_test.shape, int(ds.X_train.max())
        ((1438, 8, 8), (359, 8, 8), 16)
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError("load_digits needs scikit-learn: pip install 'linclass[sklearn]'") from None

    bunch = sklearn_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    train, test = split_indices(labels, DIGITS_TEST_FRACTION, stratify=True, random_state=DIGITS_SPLIT_SEED)
    classes = tuple(str(c) for c in bunch.target_names)
    return Dataset(images[train], labels[train], images[test], labels[test], classes, (8, 8), name="digits")


def _class_sizes(n_samples: int, n_classes: int) -> np.ndarray:
    check_int(n_classes, "n_classes", minimum=2)
    check_int(n_samples, "n_samples", minimum=n_classes)
    return np.full(n_classes, n_samples // n_classes) + (np.arange(n_classes) < n_samples % n_classes)


def make_blobs(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: class ``k`` centred at ``4 (cos 2πk/C, sin 2πk/C)``, standard deviation ``noise``.

    Example:
        >>> X, y = make_blobs(6, 3, random_state=0)
        >>> X.shape, y.tolist()
        ((6, 2), [0, 0, 1, 1, 2, 2])
    """
    sizes = _class_sizes(n_samples, n_classes)
    check_positive(noise, "noise", allow_zero=True)
    rng = check_random_state(random_state)
    y = np.repeat(np.arange(n_classes), sizes)
    angles = 2 * np.pi * y / n_classes
    centers = 4.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    return centers + noise * rng.standard_normal((len(y), 2)), y


def make_spiral(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.2,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms (the CS231n toy set): not linearly separable.

    Class ``k``: radius ``r`` from 0 to 1, angle ``t = 4k + 4r + noise * N(0, 1)``,
    point ``r * (sin t, cos t)``.
    """
    sizes = _class_sizes(n_samples, n_classes)
    check_positive(noise, "noise", allow_zero=True)
    rng = check_random_state(random_state)
    y = np.repeat(np.arange(n_classes), sizes)
    radius = np.concatenate([np.linspace(0.0, 1.0, s) for s in sizes])
    theta = 4.0 * y + 4.0 * radius + noise * rng.standard_normal(len(y))
    return radius[:, None] * np.column_stack([np.sin(theta), np.cos(theta)]), y


def make_linearly_separable(
    n_samples: int = 300,
    n_classes: int = 3,
    noise: float = 0.5,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``C`` angular wedges around the origin: always separable by ``argmax_k w_k·x``.

    Class ``k`` has angles within ``noise * π / C`` of ``2πk / C`` and radii in ``[0.5, 1.5]``;
    with ``w_k = (cos 2πk/C, sin 2πk/C)`` and ``b = 0`` every point is classified correctly,
    so ``noise`` in ``[0, 1)`` controls how much of each wedge (and of the margin) is used.
    """
    sizes = _class_sizes(n_samples, n_classes)
    check_fraction(noise, "noise", high_open=True)
    rng = check_random_state(random_state)
    y = np.repeat(np.arange(n_classes), sizes)
    theta = 2 * np.pi * y / n_classes + noise * np.pi / n_classes * rng.uniform(-1.0, 1.0, len(y))
    radius = rng.uniform(0.5, 1.5, len(y))
    return radius[:, None] * np.column_stack([np.cos(theta), np.sin(theta)]), y


def toy_dataset(name: str, n_samples: int = 300, n_classes: int = 3, random_state: int = 0) -> Dataset:
    """A toy set as a ``Dataset`` (float32 features) with a stratified 80/20 train/test split."""
    generators = {"blobs": make_blobs, "spiral": make_spiral, "linearly-separable": make_linearly_separable}
    X, y = generators[name](n_samples, n_classes, random_state=random_state)
    train, test = split_indices(y, 0.2, stratify=True, random_state=random_state)
    X = X.astype(np.float32)
    classes = tuple(str(c) for c in range(n_classes))
    return Dataset(X[train], y[train], X[test], y[test], classes, None, name=name)
