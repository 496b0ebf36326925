"""Features of a whole data set: fit the extractor on the training images, transform both splits."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from linclass.datasets import Dataset
from linclass.features._base import check_images

AUGMENTATIONS = ("flip",)


def extract_features(dataset: Dataset, extractor: Any, augment: str | None = None) -> tuple[Dataset, dict]:
    """Fit ``extractor`` on ``dataset.X_train`` only, then transform the train and test images.

    Args:
        dataset: images ``(N, H, W)`` or ``(N, H, W, 3)`` uint8 (``image_shape`` set).
        extractor: a transformer on images (``HOG()``, ``KMeansFeatures(...)``, ``hog_color()``).
        augment: ``None``, or ``"flip"``: the features of every training image mirrored left to
            right are added as more training rows (after the ``N`` originals, in the same order,
            with the same labels); the extractor is still fitted on the originals, and the test
            split is not augmented.

    Returns:
        ``(features, settings)``: a ``Dataset`` of float32 rows ``(N, D)`` (``(2N, D)`` training
        rows with ``augment="flip"``) with the labels and classes, and a JSON-ready ``settings``
        dict: ``extractor`` (its class and parameters), ``image_shape``, ``n_features``,
        ``fit_seconds``, ``transform_seconds`` (the train and test images) and, with ``augment``,
        ``augment`` and ``augment_seconds`` (transforming the mirrored images).

    Example:
        >>> from linclass.datasets import load_digits
        >>> from linclass.features import HOG
        >>> features, settings = extract_features(load_digits(), HOG(pixels_per_cell=(4, 4)))
        >>> features.X_train.shape, features.X_test.shape, settings["n_features"]
        ((1438, 36), (359, 36), 36)
    """
    if dataset.image_shape is None:
        raise ValueError(f"dataset {dataset.name or ''} holds feature rows, not images; features need images")
    X_train = check_images(dataset.X_train.reshape(len(dataset.X_train), *dataset.image_shape), "X_train")
    X_test = dataset.X_test.reshape(len(dataset.X_test), *dataset.image_shape)
    if augment is not None and augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be None or one of {AUGMENTATIONS}, got {augment!r}")
    start = time.perf_counter()
    extractor.fit(X_train)
    fitted = time.perf_counter()
    F_train = extractor.transform(X_train)
    F_test = extractor.transform(X_test) if len(X_test) else F_train[:0]
    done = time.perf_counter()
    y_train = dataset.y_train
    if augment == "flip":
        F_train = np.concatenate([F_train, extractor.transform(X_train[:, :, ::-1])])
        y_train = np.concatenate([y_train, y_train])
    augmented = time.perf_counter()
    features = Dataset(F_train, y_train, F_test, dataset.y_test, dataset.classes, name=dataset.name)
    settings = {
        "extractor": describe(extractor),
        "image_shape": list(dataset.image_shape),
        "n_features": int(F_train.shape[1]),
        "fit_seconds": fitted - start,
        "transform_seconds": done - fitted,
    }
    if augment is not None:
        settings.update(augment=augment, augment_seconds=augmented - done)
    return features, settings


def describe(extractor: Any) -> dict:
    """``{"class": name, "params": {...}}`` of an extractor; a ``FeatureUnion`` lists its parts."""
    parts = getattr(extractor, "transformer_list", None)
    if parts is not None:
        return {"class": type(extractor).__name__, "parts": {name: describe(part) for name, part in parts}}
    params = {
        key: value
        for key, value in extractor.get_params(deep=False).items()
        if key not in ("verbose", "chunk_size")
    }
    return {"class": type(extractor).__name__, "params": {k: _plain(v) for k, v in params.items()}}


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return repr(value)
