"""The score function and the bias trick; preprocessing folded into W and b."""

import numpy as np
import pytest

from linclass.model import add_bias_column, fold_bias, linear_scores, unfold_bias
from linclass.preprocess import PREPROCESSORS, feature_moments, fit_transform


def test_scores_and_bias_trick_agree():
    rng = np.random.default_rng(0)
    X, W, b = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    scores = linear_scores(X, W, b)
    np.testing.assert_allclose(scores, X @ W + b)
    W_ext = fold_bias(W, b)
    assert W_ext.shape == (4, 4)
    np.testing.assert_allclose(add_bias_column(X) @ W_ext, scores)
    W_back, b_back = unfold_bias(W_ext)
    np.testing.assert_array_equal(W_back, W)
    np.testing.assert_array_equal(b_back, b)


def test_cifar_sized_features_gain_one_column():
    X = np.zeros((2, 3072), dtype=np.uint8)
    extended = add_bias_column(X)
    assert extended.shape == (2, 3073) and extended.dtype == np.uint8 and (extended[:, -1] == 1).all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: linear_scores(np.ones((2, 3)), np.ones((4, 2))), "X has 3 features but W has 4 rows"),
        (lambda: linear_scores(np.ones(3), np.ones((3, 2))), "X and W must be 2-D"),
        (lambda: linear_scores(np.ones((2, 3)), np.ones((3, 2)), np.ones(3)), r"b must have shape \(2,\)"),
        (lambda: add_bias_column(np.ones(3)), "X must be 2-D"),
        (lambda: fold_bias(np.ones((3, 2)), np.ones(3)), r"expected W \(D, C\) and b \(C,\)"),
        (lambda: unfold_bias(np.ones((1, 2))), "at least 2 rows"),
    ],
)
def test_shape_errors_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name", PREPROCESSORS.names())
def test_folded_preprocessing_equals_explicit_preprocessing(name):
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(40, 6)).astype(np.uint8)
    X[:, 2] = 7  # a constant feature: standardize must only centre it
    transform = fit_transform(name, X)
    W, b = rng.normal(size=(6, 3)), rng.normal(size=3)
    W_raw, b_raw = transform.fold(W, b)
    np.testing.assert_allclose(X @ W_raw + b_raw, transform.apply(X) @ W + b, rtol=1e-10, atol=1e-9)
    W_again, b_again = transform.unfold(W_raw, b_raw)
    np.testing.assert_allclose(W_again, W, rtol=1e-12)
    np.testing.assert_allclose(b_again, b, rtol=1e-10, atol=1e-12)


def test_standardize_gives_zero_mean_unit_variance():
    X = np.random.default_rng(2).integers(0, 256, size=(1000, 4)).astype(np.uint8)
    Z = fit_transform("standardize", X).apply(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)
    scaled = fit_transform("center-scale", X).apply(X)
    np.testing.assert_allclose(scaled, X / 255.0 - (X / 255.0).mean(axis=0), atol=1e-12)


def test_moments_are_computed_in_chunks_without_a_float_copy():
    X = np.random.default_rng(3).integers(0, 256, size=(20_000, 3)).astype(np.uint8)
    mean, std = feature_moments(X)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, X.std(axis=0), rtol=1e-10)
    with pytest.raises(ValueError, match=r"X must be 2-D with at least one row, got shape \(0, 3\)"):
        feature_moments(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="preprocess='whiten' is not supported"):
        fit_transform("whiten", X)
