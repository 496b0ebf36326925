"""``penalize_intercept``: ``alpha * |b|²`` beside ``alpha * |W|²``, scikit-learn's
``LinearSVC(intercept_scaling=1)`` objective; its gradient, its optimum, its limits, its model file."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

import linclass
from linclass.objective import Objective


def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_the_intercepts_penalty_and_its_gradient():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    W, b = rng.normal(size=(4, 3)), rng.normal(size=3)
    plain = Objective("ovr_squared_hinge", alpha=0.3)
    penalized = Objective("ovr_squared_hinge", alpha=0.3, penalize_intercept=True)
    assert penalized.value((W, b), X, y) == pytest.approx(plain.value((W, b), X, y) + 0.3 * (b @ b), rel=1e-12)
    _, (dW, db) = penalized.value_and_grad((W, b), X, y)
    _, (dW0, db0) = plain.value_and_grad((W, b), X, y)
    np.testing.assert_allclose(dW, dW0, rtol=1e-12)
    np.testing.assert_allclose(db, db0 + 0.6 * b, rtol=1e-12)
    for k in range(3):  # central differences in b
        e = np.zeros(3)
        e[k] = 1e-6
        numeric = (penalized.value((W, b + e), X, y) - penalized.value((W, b - e), X, y)) / 2e-6
        assert numeric == pytest.approx(db[k], rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("max_whiten", [4096, 0])  # "auto": whitened, then Cholesky coordinates
def test_the_optimum_is_linearsvcs_with_intercept_scaling_1(max_whiten, monkeypatch):
    """``LinearSVC(C)`` penalizes ``0.5 |w_c|² + 0.5 b_c²`` against ``C`` times the summed squared
    hinges: linclass's one-vs-rest squared hinge at ``alpha = 1 / (2 C N)`` with the intercept
    penalized (every row trains: the Platt scaling is calibrated on given rows)."""
    from linclass.optim import precondition

    X, y = digits()
    alpha = 0.01
    C = 1.0 / (2 * len(X) * alpha)
    reference = LinearSVC(C=C, intercept_scaling=1, dual=False, tol=1e-12, max_iter=100_000).fit(X, y)
    monkeypatch.setattr(precondition, "MAX_WHITEN_FEATURES", max_whiten)
    model = linclass.LinearClassifier(loss="ovr_squared_hinge", alpha=alpha, penalize_intercept=True,
                                      optimizer="lbfgs", preprocess="none", tol=1e-9, max_iter=5000)
    model.fit(X, y, validation_data=(X[:200], y[:200]))
    assert model.n_iter_ > 10
    np.testing.assert_allclose(model.coef_, reference.coef_, atol=1e-4)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, atol=1e-4)
    unpenalized = linclass.LinearClassifier(loss="ovr_squared_hinge", alpha=alpha, optimizer="lbfgs",
                                            preprocess="none", tol=1e-9, max_iter=5000)
    unpenalized.fit(X, y, validation_data=(X[:200], y[:200]))
    assert np.abs(unpenalized.intercept_ - reference.intercept_).max() > 1e-2


def test_it_needs_the_l2_penalty_and_lbfgs():
    X, y = digits()
    with pytest.raises(ValueError, match=r"^penalize_intercept=True needs penalty='l2' \(alpha \* \|b\|² beside "
                       r"alpha \* \|W\|²\), got penalty='l1'$"):
        Objective("softmax", penalty="l1", penalize_intercept=True)
    model = linclass.LinearClassifier(penalize_intercept=True, optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match=r"^penalize_intercept=True needs the full-batch optimizer='lbfgs' "
                       r"\(or 'auto' choosing it\); optimizer='sgd' runs 'sgd'$"):
        model.fit(X, y)
    with pytest.raises(TypeError, match="^penalize_intercept must be True or False, got 1$"):
        linclass.LinearClassifier(penalize_intercept=1).fit(X, y)


def test_the_model_file_keeps_it(tmp_path):
    X, y = digits()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = linclass.LinearClassifier(alpha=0.01, penalize_intercept=True, max_iter=20).fit(X, y)
    model.save(tmp_path / "model.npz")
    loaded = linclass.load(tmp_path / "model.npz")
    assert loaded.penalize_intercept is True and loaded.objective_.penalize_intercept is True
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.objective_.value(loaded.params_, X, y) == pytest.approx(model.objective_.value(model.params_, X, y))
