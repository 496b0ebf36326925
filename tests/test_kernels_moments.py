"""Byte data's preprocessing moments in one compiled pass: exact sums, one rounding of the variance."""

import math
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("numba")

from linclass import LinearClassifier  # noqa: E402
from linclass.kernels import NumbaKernels, NumpyKernels, moments  # noqa: E402
from linclass.kernels.moments import ByteStatistics, byte_moments  # noqa: E402
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


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint16])
def test_other_dtypes_keep_the_float64_path(dtype):
    X = np.random.default_rng(2).integers(0, 200, size=(30, 4)).astype(dtype)
    assert byte_moments(X) is None
    for got, expected in zip(ByteStatistics(X).moments(), feature_moments(X), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_the_numba_backend_fits_its_preprocessing_from_the_byte_moments(monkeypatch):
    calls = []
    original = moments.byte_moments
    monkeypatch.setattr(moments, "byte_moments", lambda X: calls.append(X.shape) or original(X))
    rng = np.random.default_rng(3)
    X = rng.integers(0, 256, size=(120, 12), dtype=np.uint8)
    y = rng.integers(0, 3, size=120)
    assert isinstance(NumbaKernels().statistics(X), ByteStatistics)
    assert not hasattr(NumpyKernels(), "statistics")
    mean, std = byte_moments(X)
    clf = LinearClassifier(optimizer="sgd", epochs=1, backend="numba", random_state=0).fit(X, y)
    assert calls == [X.shape]
    transform = clf.objective_.transform
    np.testing.assert_array_equal(transform.shift, mean)
    np.testing.assert_array_equal(transform.scale, fit_transform("standardize", ByteStatistics(X)).scale)
    np.testing.assert_array_equal(transform.scale, 1.0 / std)
