"""Feature files: a data set of computed features, with the settings that made it.

A feature file is a linclass bundle (see :mod:`linclass.io`: an uncompressed ``.npz`` read
without pickle, SHA-256 checksummed, written atomically) of kind ``"features"`` holding

- arrays ``X_train (N_train, D)`` float32, ``y_train (N_train,)`` int64, ``X_test (N_test, D)``
  float32, ``y_test (N_test,)`` int64 — labels index ``classes``;
- metadata ``{"classes": [C names], "source": the data spec, "settings": {...}}`` where
  ``settings`` records the extractor (``kind`` and its parameters), the input ``image_shape``
  and the seconds spent fitting and transforming.

Any ``--data FILE.npz`` spec that names a feature file loads it (``load_npz`` recognizes the
bundle), so ``linclass train``, ``tune`` and ``evaluate`` take one like any data set. Python
code without linclass can read the arrays with ``numpy.load(path)`` and the metadata with
``json.loads(numpy.load(path)["__metadata__"].tobytes())["metadata"]``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from linclass.io import ModelFileError, read_bundle, write_bundle

from .base import DataFormatError, Dataset

KIND = "features"
ARRAYS = ("X_train", "y_train", "X_test", "y_test")


def save_features(
    path: str | os.PathLike, dataset: Dataset, *, source: str = "", settings: Mapping[str, Any] | None = None
) -> None:
    """Write ``dataset`` (rows of features ``(N, D)``) to ``path`` as a feature file.

    Args:
        path: the file to create or replace.
        dataset: the features; ``X`` arrays are stored as float32.
        source: the data spec the features were computed from.
        settings: JSON-serializable description of how (extractor, parameters, timings).

    Example:
        >>> from linclass.datasets import load_digits
        >>> features = load_digits().flatten()
        >>> save_features("feats.npz", features, source="digits", settings={"kind": "pixels"})
        >>> loaded, metadata = load_features("feats.npz")
        >>> loaded.X_train.shape, loaded.X_train.dtype, metadata["settings"]
        ((1438, 64), dtype('float32'), {'kind': 'pixels'})
    """
    if dataset.X_train.ndim != 2:
        raise ValueError(
            f"dataset must hold feature rows (N, D), got X_train of shape {dataset.X_train.shape}"
        )
    arrays = {
        "X_train": dataset.X_train.astype(np.float32, copy=False),
        "y_train": dataset.y_train,
        "X_test": dataset.X_test.astype(np.float32, copy=False),
        "y_test": dataset.y_test,
    }
    metadata = {"classes": list(dataset.classes), "source": source, "settings": dict(settings or {})}
    write_bundle(path, arrays, metadata, kind=KIND)


def load_features(path: str | os.PathLike, *, max_bytes: int | None = None) -> tuple[Dataset, dict]:
    """Read a feature file: ``(Dataset, metadata)`` with metadata ``{"classes", "source", "settings"}``.

    ``max_bytes`` is the size limit for the file (see :mod:`linclass.limits`).

    Raises:
        DataFormatError: the file is not a valid feature file (corrupt, edited, another kind,
            missing arrays); the message names the file.
    """
    try:
        arrays, metadata = read_bundle(path, kind=KIND, max_bytes=max_bytes)
    except ModelFileError as exc:
        raise DataFormatError(str(exc)) from None
    missing = [name for name in ARRAYS if name not in arrays]
    classes = metadata.get("classes")
    if missing or not isinstance(classes, list):
        raise DataFormatError(
            f"{os.fspath(path)}: a feature file needs arrays {list(ARRAYS)} and a list of classes; "
            f"missing {missing or ['classes']}"
        )
    try:
        dataset = Dataset(*(arrays[name] for name in ARRAYS), tuple(classes), name=os.fspath(path))
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"{os.fspath(path)}: {exc}") from None
    return dataset, metadata
