"""Seeded train/validation splits, plain or stratified, and the CS231n assignment's split.

They act on arrays (and any data set with ``X_train``/``y_train``/``X_test``/``y_test``), so the
estimator splits its held-out rows without loading the data-set readers. Same ``random_state``,
same split. Index arrays come back sorted, so the chosen rows keep
their original order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from linclass._validation import check_fraction, check_int, check_random_state

if TYPE_CHECKING:  # only for the annotation: the estimator imports this module, not the readers
    from linclass.datasets.base import Dataset


def split_indices(
    y: ArrayLike,
    val_fraction: float,
    *,
    stratify: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose ``round(val_fraction * N)`` rows for validation, the rest for training.

    With ``stratify=True`` each class gives ``val_fraction`` of its rows (rounded so the total
    is still ``round(val_fraction * N)``: classes with the largest remainders get one more).

    Args:
        y: ``(N,)`` labels (any values; used for stratification and for ``N``).
        val_fraction: in ``(0, 1)``.
        stratify: keep class proportions in both parts.
        random_state: int seed or ``numpy.random.Generator``.

    Returns:
        (train_idx, val_idx): sorted int64 index arrays partitioning ``0..N-1``.

    Example:
        >>> train_idx, val_idx = split_indices(np.repeat([0, 1], 5), 0.2, stratify=True, random_state=0)
        >>> len(train_idx), len(val_idx)
        (8, 2)
    """
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be 1-D labels, got an array of shape {labels.shape}")
    check_fraction(val_fraction, "val_fraction", low_open=True, high_open=True)
    rng = check_random_state(random_state)
    n = labels.shape[0]
    n_val = int(round(val_fraction * n))
    if not stratify:
        val_idx = rng.permutation(n)[:n_val]
    else:
        classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
        exact = val_fraction * counts
        per_class = np.floor(exact).astype(np.int64)
        shortfall = n_val - int(per_class.sum())
        per_class[np.argsort(-(exact - per_class), kind="stable")[:shortfall]] += 1
        val_idx = (
            np.concatenate(
                [rng.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(per_class)]
            )
            if len(classes)
            else np.empty(0, dtype=np.int64)
        )
    is_val = np.zeros(n, dtype=bool)
    is_val[val_idx] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def train_val_split(
    X: ArrayLike,
    y: ArrayLike,
    val_fraction: float,
    *,
    stratify: bool = False,
    random_state: int | np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X (N, ...)`` and ``y (N,)`` into ``(X_train, y_train, X_val, y_val)``.

    The rows are chosen by ``split_indices`` (use it directly for index arrays instead of
    copies). Rows keep their original order within each part.

    Example:
        >>> X, y = np.arange(20).reshape(10, 2), np.repeat([0, 1], 5)
        >>> X_tr, y_tr, X_val, y_val = train_val_split(X, y, 0.4, stratify=True, random_state=0)
        >>> np.bincount(y_val)
        array([2, 2])
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0] if X.ndim else 0} rows but y has {y.shape[0]} labels; expected equal"
        )
    train_idx, val_idx = split_indices(y, val_fraction, stratify=stratify, random_state=random_state)
    return X[train_idx], y[train_idx], X[val_idx], y[val_idx]


class CS231nSplit(NamedTuple):
    """The CS231n assignment-1 subsets; train, val and test are views of the data set's arrays."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_dev: np.ndarray
    y_dev: np.ndarray


def cs231n_split(
    dataset: Dataset,
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    num_dev: int = 500,
    random_state: int | np.random.Generator | None = None,
) -> CS231nSplit:
    """Split as the CS231n assignment does: train = the first ``num_training`` training rows,
    val = the next ``num_validation``, test = the first ``num_test`` test rows, dev = a random
    ``num_dev`` of the train rows (drawn without replacement; a copy).

    Example:
        >>> from linclass.datasets import load_digits
        >>> split = cs231n_split(load_digits(), 1000, 200, 300, 100, random_state=0)
        >>> split.X_train.shape, split.X_val.shape, split.X_test.shape, split.X_dev.shape
        ((1000, 8, 8), (200, 8, 8), (300, 8, 8), (100, 8, 8))

    On CIFAR-10 the defaults give the assignment's ``(49000, 32, 32, 3)`` training rows,
    1,000 validation, 1,000 test and 500 development rows.
    """
    for name, value in (
        ("num_training", num_training),
        ("num_validation", num_validation),
        ("num_test", num_test),
        ("num_dev", num_dev),
    ):
        check_int(value, name, minimum=0)
    n_train, n_test = len(dataset.y_train), len(dataset.y_test)
    if num_training + num_validation > n_train:
        raise ValueError(
            f"num_training + num_validation = {num_training + num_validation} but the data set has only "
            f"{n_train} training rows"
        )
    if num_test > n_test:
        raise ValueError(f"num_test={num_test} but the data set has only {n_test} test rows")
    if num_dev > num_training:
        raise ValueError(f"num_dev={num_dev} must not exceed num_training={num_training}")
    rng = check_random_state(random_state)
    dev = np.sort(rng.choice(num_training, num_dev, replace=False))
    val = slice(num_training, num_training + num_validation)
    return CS231nSplit(
        dataset.X_train[:num_training], dataset.y_train[:num_training],
        dataset.X_train[val], dataset.y_train[val],
        dataset.X_test[:num_test], dataset.y_test[:num_test],
        dataset.X_train[dev], dataset.y_train[dev],
    )  # fmt: skip
