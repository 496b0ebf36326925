"""The probe's inputs: feature rows and labels from files (memory-mapped) or arrays.

Accepted forms of a source (``train`` or ``test``):

- ``FILE.npz`` with arrays ``X`` and ``y``, or ``features`` and ``labels``: a stored
  (uncompressed, ``numpy.savez``) archive is memory-mapped (:mod:`linclass.datasets.mapped`);
- ``FEATURES.npy,LABELS.npy``: a pair of ``.npy`` files, memory-mapped;
- a linclass feature file (``linclass features``): its train split, and its test split as the
  test source when none is given (read whole: the file's checksum covers every byte);
- ``(X, y)`` arrays.

A bad source raises :class:`ProbeInputError` naming it (``train``, or the flag ``--train``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from linclass.datasets.base import DataFormatError
from linclass.datasets.mapped import map_arrays
from linclass.estimator._checks import classification_labels

NAME_PAIRS = (("X", "y"), ("features", "labels"))
_CHECK_ROWS = 8192  # rows per chunk when checking that features are finite


class ProbeInputError(ValueError):
    """A probe source that cannot be used; the message names it."""


@dataclass
class FeatureSplit:
    """Feature rows ``X (N, D)`` (any real dtype, possibly a memmap) and their labels ``(N,)``.

    ``classes`` are the sorted distinct labels and ``y`` the rows' indices into them.
    """

    X: np.ndarray
    labels: np.ndarray
    name: str
    own_test: FeatureSplit | None = None
    classes: np.ndarray = field(init=False)
    y: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.X.ndim != 2 or self.X.dtype.kind not in "fiub":
            raise ProbeInputError(
                f"{self.name}: features must be a 2-D array of numbers, got {self.X.ndim}-D {self.X.dtype}"
            )
        if self.labels.ndim != 1 or self.labels.shape[0] != self.X.shape[0]:
            raise ProbeInputError(
                f"{self.name}: expected one label per row ({self.X.shape[0]}), got labels of shape "
                f"{self.labels.shape}"
            )
        if self.X.shape[0] == 0:
            raise ProbeInputError(f"{self.name}: holds no rows")
        try:
            classification_labels(np.asarray(self.labels))
        except ValueError as exc:
            raise ProbeInputError(f"{self.name}: {exc}") from None
        for start in range(0, self.X.shape[0], _CHECK_ROWS):
            if self.X.dtype.kind == "f" and not np.isfinite(self.X[start : start + _CHECK_ROWS]).all():
                raise ProbeInputError(f"{self.name}: features hold NaN or infinity (from row {start} on)")
        self.classes, self.y = np.unique(np.asarray(self.labels), return_inverse=True)

    def matched_to(self, train: FeatureSplit) -> FeatureSplit:
        """This split with ``y`` indexing ``train.classes``; other labels or widths are an error."""
        if self.X.shape[1] != train.X.shape[1]:
            raise ProbeInputError(
                f"{self.name}: {self.X.shape[1]} features per row, but train has {train.X.shape[1]}"
            )
        unknown = np.setdiff1d(self.classes, train.classes)
        if unknown.size:
            raise ProbeInputError(f"{self.name}: label {unknown.tolist()[0]!r} does not occur in train")
        self.classes, self.y = train.classes, np.searchsorted(train.classes, self.labels)
        return self


def as_split(source, name: str) -> FeatureSplit:
    """A :class:`FeatureSplit` from a path (see the module docstring) or an ``(X, y)`` pair."""
    if isinstance(source, (str, os.PathLike)):
        return load_split(os.fspath(source), name)
    if isinstance(source, tuple) and len(source) == 2:
        return FeatureSplit(np.asarray(source[0]), np.asarray(source[1]), name)
    raise ProbeInputError(f"{name} must be a path or an (X, y) pair, got {type(source).__name__}")


def load_split(spec: str, name: str) -> FeatureSplit:
    """Features and labels named by ``spec``; ``name`` (``"train"``, ``"--train"``) is in every error."""
    where = f"{name} {spec}"
    paths = spec.split(",")
    if len(paths) > 2:
        raise ProbeInputError(f"{where}: expected FILE.npz or FEATURES.npy,LABELS.npy")
    for path in paths:
        if not os.path.isfile(path):
            raise ProbeInputError(f"{where}: {path} is not a file")
    try:
        if len(paths) == 2:
            return FeatureSplit(_only_array(paths[0], where), _only_array(paths[1], where), where)
        if _is_feature_file(spec):
            return _feature_file(spec, where)
        arrays = map_arrays(spec)
    except DataFormatError as exc:
        raise ProbeInputError(f"{name} {exc}") from None
    for features, labels in NAME_PAIRS:
        if features in arrays and labels in arrays:
            return FeatureSplit(arrays[features], arrays[labels], where)
    if set(arrays) == {""}:
        raise ProbeInputError(f"{where}: a .npy file holds no labels; pass FEATURES.npy,LABELS.npy")
    raise ProbeInputError(
        f"{where}: expected arrays X and y (or features and labels), found {sorted(arrays)}"
    )


def _only_array(path: str, where: str) -> np.ndarray:
    arrays = map_arrays(path)
    if len(arrays) != 1:
        raise ProbeInputError(f"{where}: {path} holds {len(arrays)} arrays; expected one")
    return next(iter(arrays.values()))


def _is_feature_file(path: str) -> bool:
    from linclass.datasets.files import _is_bundle

    return _is_bundle(path)


def _feature_file(path: str, where: str) -> FeatureSplit:
    from linclass.datasets import load_features

    dataset, _ = load_features(path)
    names = np.asarray(dataset.classes)
    test = None
    if len(dataset.y_test):
        test = FeatureSplit(dataset.X_test, names[dataset.y_test], f"{where} (test split)")
    return FeatureSplit(dataset.X_train, names[dataset.y_train], where, own_test=test)
