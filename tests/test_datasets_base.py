"""The Dataset container and label encoding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from linclass.datasets import DataFormatError, Dataset
from linclass.datasets.base import encode_labels

IMAGES = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)


def make(**overrides):
    fields = dict(X_train=IMAGES, y_train=np.array([0, 1]), X_test=IMAGES[:1], y_test=np.array([1]),
                  classes=("a", "b"), image_shape=(4, 4, 3))  # fmt: skip
    fields.update(overrides)
    return Dataset(**fields)


def test_flatten_gives_2d_views_without_copies():
    ds = make()
    flat = ds.flatten()
    assert flat.X_train.shape == (2, 48) and flat.X_test.shape == (1, 48)
    assert np.shares_memory(flat.X_train, ds.X_train) and flat.X_train.dtype == np.uint8
    assert flat.image_shape == (4, 4, 3) and flat.flatten().X_train.shape == (2, 48)


def test_flatten_works_for_an_empty_test_split():
    flat = make(X_test=IMAGES[:0], y_test=np.array([], dtype=np.int64)).flatten()
    assert flat.X_test.shape == (0, 48) and flat.X_train.shape == (2, 48)


def test_dataset_is_frozen_and_labels_become_int64():
    ds = make(y_train=np.array([0, 1], dtype=np.uint8))
    assert ds.y_train.dtype == np.int64 and ds.n_classes == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.classes = ("x",)


def test_repr_summarizes_instead_of_printing_arrays():
    assert repr(make(name="toy")) == (
        "Dataset(name='toy', X_train=uint8[2, 4, 4, 3], X_test=uint8[1, 4, 4, 3], classes=2, image_shape=(4, 4, 3))"
    )


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"y_train": np.array([0, 1, 1])}, ValueError, r"y_train must have shape \(2,\) to match X_train"),
        ({"y_train": np.array([0, 2])}, ValueError, r"y_train holds labels 0..2 but there are 2 classes"),
        ({"y_test": np.array([0.5])}, TypeError, "y_test must hold integer class indices, got dtype float64"),
        (
            {"X_test": np.zeros((1, 5), np.uint8)},
            ValueError,
            r"X_train rows have shape \(4, 4, 3\) but X_test rows",
        ),
        ({"image_shape": (2, 2)}, ValueError, r"image_shape \(2, 2\) does not match X_train"),
        ({"X_train": np.zeros(2)}, ValueError, "X_train must be an array of at least 2 dimensions"),
    ],
)
def test_inconsistent_fields_are_rejected(overrides, error, message):
    with pytest.raises(error, match=message):
        make(**overrides)


def test_encode_labels_shares_classes_across_arrays():
    (train, test), classes = encode_labels(np.array(["b", "a", "b"]), np.array(["c"]))
    assert classes == ("a", "b", "c") and train.tolist() == [1, 0, 1] and test.tolist() == [2]


def test_encode_labels_names_whole_floats_without_decimal_point():
    (train,), classes = encode_labels(np.array([2.0, -1.0, 2.0]))
    assert classes == ("-1", "2") and train.tolist() == [1, 0, 1]


def test_encode_labels_rejects_fractional_values():
    with pytest.raises(DataFormatError, match="y.csv: labels must be whole numbers or names of classes"):
        encode_labels(np.array([0.5]), source="y.csv")
