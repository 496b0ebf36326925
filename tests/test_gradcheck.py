"""Gradient checks return reports: they catch wrong gradients and leave x as it was."""

import warnings

import numpy as np
import pytest

from linclass.gradcheck import (
    GradientCheckReport,
    check_gradient,
    check_gradient_sparse,
    numerical_gradient,
)


def cubic(x):
    return float(np.sum(x**3) + x.ravel()[0] * x.ravel()[-1])


def cubic_grad(x):
    grad = 3 * x**2
    grad.ravel()[0] += x.ravel()[-1]
    grad.ravel()[-1] += x.ravel()[0]
    return grad


X = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.5]])


def test_numerical_gradient_matches_the_analytic_gradient():
    x = X.copy()
    np.testing.assert_allclose(numerical_gradient(cubic, x), cubic_grad(X), rtol=1e-9)
    np.testing.assert_array_equal(x, X)


def test_correct_gradient_passes():
    report = check_gradient(cubic, X.copy(), cubic_grad(X))
    assert report.passed
    assert report.max_rel_error < 1e-9
    assert report.n_checked == 6
    assert str(report).startswith("gradient check passed: max relative error")


def test_value_and_grad_function_without_analytic():
    report = check_gradient(lambda x: (cubic(x), cubic_grad(x)), X.copy())
    assert report.passed and report.n_checked == 6


def test_a_wrong_gradient_is_detected_and_located():
    wrong = cubic_grad(X)
    wrong[1, 2] *= 1.5
    report = check_gradient(cubic, X.copy(), wrong)
    assert not report.passed
    assert report.argmax == (1, 2)
    assert report.max_rel_error == pytest.approx(1 / 3, rel=1e-6)
    assert report.analytic == pytest.approx(1.5 * (3 * 1.5**2 + 1.0))
    assert report.numeric == pytest.approx(3 * 1.5**2 + 1.0, rel=1e-8)
    assert str(report).startswith("gradient check FAILED: max relative error 3.333e-01")
    assert "at index (1, 2)" in str(report)


def test_nan_gradient_fails():
    analytic = cubic_grad(X)
    analytic[0, 1] = np.nan
    report = check_gradient(cubic, X.copy(), analytic)
    assert not report.passed
    assert np.isnan(report.max_rel_error)
    assert report.argmax == (0, 1)


def test_threshold_decides_passed():
    off = cubic_grad(X) * (1 + 1e-5)
    assert not check_gradient(cubic, X.copy(), off).passed
    assert check_gradient(cubic, X.copy(), off, threshold=1e-4).passed


def test_report_is_frozen():
    report = check_gradient(cubic, X.copy(), cubic_grad(X))
    assert isinstance(report, GradientCheckReport)
    with pytest.raises(AttributeError):
        report.max_rel_error = 0.0


def test_x_is_restored_when_f_raises():
    x = X.copy()
    calls = []

    def failing(z):
        calls.append(z.copy())
        if len(calls) == 4:
            raise RuntimeError("boom")
        return cubic(z)

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(failing, x)
    np.testing.assert_array_equal(x, X)
    assert calls[3][0, 1] == X[0, 1] - 1e-5


def test_float32_warns_and_is_checked_in_float64():
    x32 = X.astype(np.float32)
    seen = []

    def f(z):
        seen.append(z.dtype)
        return cubic(z)

    with pytest.warns(UserWarning, match="x has dtype float32; gradient checks run in float64"):
        report = check_gradient(f, x32, cubic_grad(X))
    assert report.passed
    assert set(seen) == {np.dtype(np.float64)}
    np.testing.assert_array_equal(x32, X.astype(np.float32))
    with pytest.warns(
        UserWarning, match="x has dtype float32; centred differences with h=1e-05 are inaccurate"
    ):
        numerical_gradient(cubic, x32)


def test_float64_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_gradient(cubic, X.copy(), cubic_grad(X))


def test_sparse_check_uses_k_distinct_random_coordinates():
    x = np.random.default_rng(0).normal(size=(20, 10))
    touched = set()

    def f(z):
        touched.update(map(tuple, np.argwhere(z != x_original)))
        return cubic(z)

    x_original = x.copy()
    report = check_gradient_sparse(f, x, cubic_grad(x_original), k=7, random_state=0)
    assert report.passed and report.n_checked == 7
    assert len(touched) == 7
    np.testing.assert_array_equal(x, x_original)
    same = check_gradient_sparse(cubic, x, cubic_grad(x_original), k=7, random_state=0)
    assert same.argmax == report.argmax and same.max_rel_error == report.max_rel_error


def test_sparse_check_finds_a_wrong_coordinate_and_caps_k():
    wrong = cubic_grad(X)
    wrong[0, 2] = 0.0
    report = check_gradient_sparse(cubic, X.copy(), wrong, k=100, random_state=1)
    assert report.n_checked == X.size
    assert not report.passed and report.argmax == (0, 2)
    assert report.max_rel_error == pytest.approx(1.0)


def test_bad_arguments():
    with pytest.raises(TypeError, match="x must be a floating numpy array .* got list"):
        numerical_gradient(cubic, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"analytic gradient has shape \(3,\) but x has shape \(2, 3\)"):
        check_gradient(cubic, X.copy(), np.zeros(3))
    with pytest.raises(ValueError, match="h must be a finite number > 0, got 0"):
        numerical_gradient(cubic, X.copy(), h=0)
    with pytest.raises(ValueError, match="k must be an integer >= 1, got 0"):
        check_gradient_sparse(cubic, X.copy(), cubic_grad(X), k=0)
