"""The benchmark data sets as flat uint8 arrays ``(X_train, y_train, X_test, y_test)``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
CIFAR10_ARCHIVE = Path(
    os.environ.get("LINCLASS_CIFAR10", REPO_ROOT.parent / "shared/data/cifar10-jpeg.tar.gz")
)

# --quick trains on this many training rows (a fixed random subset; CIFAR-10's folder order is by class).
QUICK_ROWS = {"fashion": 10_000, "cifar": 10_000, "digits": None}

Data = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load(name: str, quick: bool = False) -> Data:
    """``name`` is ``"fashion"`` (Fashion-MNIST), ``"cifar"`` (CIFAR-10 JPEG folder) or ``"digits"``."""
    from linclass import datasets

    if name == "fashion":
        dataset = datasets.load_fashion_mnist()
    elif name == "cifar":
        dataset = datasets.load_image_folder(CIFAR10_ARCHIVE)
    elif name == "digits":
        dataset = datasets.load_digits()
    else:
        raise ValueError(f"data set {name!r} is not known; expected 'fashion', 'cifar' or 'digits'")
    X_train = dataset.X_train.reshape(len(dataset.X_train), -1)
    X_test = dataset.X_test.reshape(len(dataset.X_test), -1)
    y_train, y_test = dataset.y_train, dataset.y_test
    rows = QUICK_ROWS[name] if quick else None
    if rows is not None and rows < len(X_train):
        keep = np.sort(np.random.default_rng(0).choice(len(X_train), rows, replace=False))
        X_train, y_train = X_train[keep], y_train[keep]
    return X_train, y_train, X_test, y_test


def cifar_available() -> bool:
    return CIFAR10_ARCHIVE.is_file()
