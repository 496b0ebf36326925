"""Preprocessing moments in compiled passes: byte data's exact sums with one rounding of the variance,
float data's two float64 passes."""

import math
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("numba")

from linclass import LinearClassifier  # noqa: E402
from linclass.kernels import NumbaKernels, NumpyKernels, limit_threads, moments  # noqa: E402
from linclass.kernels.moments import CompiledStatistics, byte_moments, float_moments  # noqa: E402
from linclass.preprocess import feature_moments, fit_transform  # noqa: E402


@pytest.mark.parametrize("dtype, low, high", [(np.uint8, 0, 256), (np.int8, -128, 128)])
def test_the_mean_is_exact_and_the_variance_rounded_once(dtype, low, high):
    X = np.random.default_rng(0).integers(low, high, size=(37, 5)).astype(dtype)
    X[:, 2] = X[0, 2]  # a constant feature: variance exactly 0
    mean, std = byte_moments(X)
    n = X.shape[0]
    for j in range(X.shape[1]):
        column = [int(v) for v in X[:, j]]
        exact_mean = Fraction(sum(column), n)
        exact_variance = sum((Fraction(v) - exact_mean) ** 2 for v in column) / n
        assert mean[j] == float(exact_mean)
        assert std[j] == math.sqrt(float(exact_variance))
    assert std[2] == 0.0


def test_byte_moments_agree_with_the_float64_path_and_read_strided_rows():
    X = np.random.default_rng(1).integers(0, 256, size=(500, 40), dtype=np.uint8)
    for data in (X, X[::3, ::2]):
        mean, std = byte_moments(data)
        reference_mean, reference_std = feature_moments(data)
        np.testing.assert_array_equal(mean, reference_mean)
        np.testing.assert_allclose(std, reference_std, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.int16, np.uint16, np.int64])
def test_other_dtypes_keep_the_float64_path(dtype):
    X = np.random.default_rng(2).integers(0, 200, size=(30, 4)).astype(dtype)
    assert byte_moments(X) is None and float_moments(X) is None
    for got, expected in zip(CompiledStatistics(X).moments(), feature_moments(X), strict=True):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_moments_agree_with_the_float64_path_and_read_strided_rows(dtype):
    rng = np.random.default_rng(4)
    X = (rng.normal(size=(700, 33)) * rng.uniform(0.1, 1e3, size=33) + rng.normal(scale=50, size=33))
    X = X.astype(dtype)
    X[:, 5] = 2.5  # a constant feature (its sum exact)
    for data in (X, X[::3, ::2], np.asfortranarray(X)):
        mean, std = float_moments(data)
        reference_mean, reference_std = feature_moments(data)
        np.testing.assert_allclose(mean, reference_mean, rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(std, reference_std, rtol=1e-12, atol=1e-12)
    mean, std = float_moments(X)
    assert std[5] == 0.0 and mean[5] == 2.5
    # exactly the two passes' formulas: the mean of the widened values, then the squared deviations
    wide = X.astype(np.float64)
    np.testing.assert_allclose(std, np.sqrt(((wide - wide.mean(axis=0)) ** 2).mean(axis=0)), rtol=1e-12)
    assert byte_moments(X) is None


def test_float_moments_of_non_finite_data_are_not_finite():
    X = np.ones((6, 3), np.float32)
    X[2, 1] = np.nan
    mean, std = float_moments(X)
    assert np.isnan(mean[1]) and np.isnan(std[1]) and np.isfinite(mean[[0, 2]]).all()


def test_the_numba_backend_fits_its_preprocessing_from_the_compiled_moments(monkeypatch):
    calls = []
    original = moments.byte_moments
    monkeypatch.setattr(moments, "byte_moments", lambda X: calls.append(X.shape) or original(X))
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(120, 12), dtype=np.uint8)
    y = rng.integers(0, 3, size=120)
    assert isinstance(NumbaKernels().statistics(X), CompiledStatistics)
    assert not hasattr(NumpyKernels(), "statistics")
    mean, std = byte_moments(X)
    clf = LinearClassifier(optimizer="sgd", epochs=1, backend="numba", random_state=0).fit(X, y)
    assert calls == [X.shape]
    transform = clf.objective_.transform
    np.testing.assert_array_equal(transform.shift, mean)
    np.testing.assert_array_equal(transform.scale, fit_transform("standardize", CompiledStatistics(X)).scale)
    np.testing.assert_array_equal(transform.scale, 1.0 / std)


def test_the_numba_backend_fits_float_data_from_the_float_moments(monkeypatch):
    calls = []
    original = moments.float_moments
    monkeypatch.setattr(moments, "float_moments", lambda X: calls.append(X.dtype) or original(X))
    rng = np.random.default_rng(5)
    X = rng.normal(loc=3.0, scale=2.0, size=(150, 7)).astype(np.float32)
    y = rng.integers(0, 3, size=150)
    mean, std = float_moments(X)
    clf = LinearClassifier(optimizer="sgd", epochs=1, backend="numba", random_state=0).fit(X, y)
    assert calls == [np.dtype(np.float32)]
    np.testing.assert_array_equal(clf.objective_.transform.shift, mean)
    np.testing.assert_array_equal(clf.objective_.transform.scale, 1.0 / std)


def test_byte_moments_in_parts_on_threads_are_the_same_numbers(monkeypatch):
    X = np.random.default_rng(6).integers(0, 256, size=(1001, 9), dtype=np.uint8)
    whole = byte_moments(X)
    monkeypatch.setattr(moments, "PART_MIN_BYTES", 100)
    parts = []
    original = moments._sums
    monkeypatch.setattr(moments, "_sums", lambda rows: parts.append(rows.shape[0]) or original(rows))
    with limit_threads(3):
        cut = byte_moments(X)
    assert parts == [334, 334, 333]
    for got, expected in zip(cut, whole, strict=True):
        np.testing.assert_array_equal(got, expected)
