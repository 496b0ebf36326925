"""Seeded splits, the CS231n split, digits and the 2-D toy sets."""

from __future__ import annotations

import numpy as np
import pytest

from linclass.datasets import (
    Dataset,
    cs231n_split,
    load_digits,
    make_blobs,
    make_linearly_separable,
    make_spiral,
    split_indices,
    train_val_split,
)

Y = np.repeat(np.arange(4), [40, 30, 20, 10])


def test_same_seed_same_split_other_seed_other_split():
    a = split_indices(Y, 0.25, random_state=3)
    b = split_indices(Y, 0.25, random_state=3)
    c = split_indices(Y, 0.25, random_state=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_split_partitions_all_rows_sorted():
    train, val = split_indices(Y, 0.3, random_state=0)
    assert len(val) == 30 and len(train) == 70
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(100))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


def test_stratified_split_keeps_class_proportions():
    _, val = split_indices(Y, 0.25, stratify=True, random_state=0)
    assert np.bincount(Y[val]).tolist() == [10, 8, 5, 2]  # 7.5 and 2.5: the tie goes to the first class
    _, val = split_indices(Y, 0.5, stratify=True, random_state=1)
    assert np.bincount(Y[val]).tolist() == [20, 15, 10, 5]


def test_stratified_rounding_still_gives_round_of_fraction_times_n():
    y = np.repeat([0, 1, 2], [7, 7, 7])
    _, val = split_indices(y, 0.2, stratify=True, random_state=0)
    assert len(val) == 4 and sorted(np.bincount(y[val], minlength=3).tolist()) == [1, 1, 2]


def test_train_val_split_returns_matching_rows():
    X = np.arange(200).reshape(100, 2)
    X_tr, y_tr, X_val, y_val = train_val_split(X, Y, 0.2, stratify=True, random_state=0)
    assert X_tr.shape == (80, 2) and X_val.shape == (20, 2)
    np.testing.assert_array_equal(Y[X_val[:, 0] // 2], y_val)
    np.testing.assert_array_equal(Y[X_tr[:, 0] // 2], y_tr)


def test_split_argument_errors():
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\), got 1.5"):
        split_indices(Y, 1.5)
    with pytest.raises(ValueError, match="X has 3 rows but y has 100 labels"):
        train_val_split(np.zeros((3, 2)), Y, 0.2)


def _cifar_sized() -> Dataset:
    y_train = np.tile(np.arange(10), 5000)
    y_test = np.tile(np.arange(10), 1000)
    return Dataset(np.zeros((50000, 1), np.uint8), y_train, np.zeros((10000, 1), np.uint8), y_test,
                   tuple("abcdefghij"))  # fmt: skip


def test_cs231n_split_sizes_and_views():
    ds = _cifar_sized()
    split = cs231n_split(ds, random_state=0)
    shapes = [len(a) for a in split]
    assert shapes == [49000, 49000, 1000, 1000, 1000, 1000, 500, 500]
    assert np.shares_memory(split.X_train, ds.X_train) and np.shares_memory(split.X_val, ds.X_train)
    np.testing.assert_array_equal(split.y_val, ds.y_train[49000:50000])
    again = cs231n_split(ds, random_state=0)
    np.testing.assert_array_equal(split.y_dev, again.y_dev)
    everything = cs231n_split(ds, num_dev=49000, random_state=1)  # without replacement: all train rows
    np.testing.assert_array_equal(np.bincount(everything.y_dev), np.bincount(ds.y_train[:49000]))


def test_cs231n_split_rejects_impossible_sizes():
    ds = _cifar_sized()
    with pytest.raises(
        ValueError, match="num_training \\+ num_validation = 50001 but the data set has only 50000"
    ):
        cs231n_split(ds, num_training=49001)
    with pytest.raises(ValueError, match="num_test=20000 but the data set has only 10000 test rows"):
        cs231n_split(ds, num_test=20000)
    with pytest.raises(ValueError, match="num_dev=600 must not exceed num_training=500"):
        cs231n_split(ds, num_training=500, num_dev=600)


def test_digits_are_uint8_0_to_16_with_a_fixed_stratified_test_split():
    ds = load_digits()
    assert ds.X_train.shape == (1438, 8, 8) and ds.X_test.shape == (359, 8, 8)
    assert ds.X_train.dtype == np.uint8 and int(ds.X_train.max()) == 16
    assert np.bincount(ds.y_test).min() >= 35 and ds.classes == tuple("0123456789")
    np.testing.assert_array_equal(load_digits().y_test, ds.y_test)


@pytest.mark.parametrize("make", [make_blobs, make_spiral, make_linearly_separable])
def test_toy_sets_shapes_classes_and_seeds(make):
    X, y = make(301, 4, random_state=0)
    assert X.shape == (301, 2) and X.dtype == np.float64
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    np.testing.assert_array_equal(make(301, 4, random_state=0)[0], X)


def test_linearly_separable_is_classified_perfectly_by_wedge_directions():
    X, y = make_linearly_separable(500, 5, noise=0.95, random_state=0)
    angles = 2 * np.pi * np.arange(5) / 5
    W = np.stack([np.cos(angles), np.sin(angles)])
    np.testing.assert_array_equal(np.argmax(X @ W, axis=1), y)


def test_spiral_radius_grows_from_zero_to_one():
    X, y = make_spiral(30, 3, noise=0.0, random_state=0)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[:10], np.linspace(0, 1, 10), atol=1e-12)


def test_toy_argument_errors():
    with pytest.raises(ValueError, match="n_classes must be an integer >= 2, got 1"):
        make_blobs(10, 1)
    with pytest.raises(ValueError, match="n_samples must be an integer >= 3, got 2"):
        make_spiral(2, 3)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\), got 1.0"):
        make_linearly_separable(10, 2, noise=1.0)
