"""LinearClassifierCV against scikit-learn's LogisticRegressionCV: same folds, same grid, same C, same model."""

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.linear_model import LogisticRegressionCV  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from linclass import LinearClassifier, LinearClassifierCV  # noqa: E402
from linclass.estimator.cv import alpha_to_c, c_to_alpha  # noqa: E402

# Both solvers run to a gradient of 1e-8, so their optima agree to far better than 1e-4
# (the weakest curvature on the grid is 2 alpha = 1 / (C N) ~ 1e-3, error ~ tol / curvature).
TOL = 1e-8
GRID = [0.01, 0.1, 1.0]


def _problem(name):
    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X / 16.0, y
    X, y = datasets.load_breast_cancer(return_X_y=True)  # two classes: C maps to 1 / (C N)
    return StandardScaler().fit_transform(X), y


def _scikit_learn(X, y, refit):
    with threadpool_limits(1):  # its OpenMP threads only fight the other jobs of a small machine
        return LogisticRegressionCV(
            Cs=GRID, tol=TOL, max_iter=10_000, refit=refit, l1_ratios=(0,), scoring=None,
            use_legacy_attributes=False,
        ).fit(X, y)  # fmt: skip


def _as_scikit_learn(clf):
    """``(coef, intercept)`` in scikit-learn's layout: one row for two classes."""
    if len(clf.classes_) == 2:
        return clf.coef_[1:] - clf.coef_[:1], clf.intercept_[1:] - clf.intercept_[:1]
    return clf.coef_, clf.intercept_


@pytest.fixture(scope="module", params=["digits", "breast_cancer"])
def fitted(request):
    X, y = _problem(request.param)
    return {
        refit: (LinearClassifierCV(Cs=GRID, tol=TOL, refit=refit).fit(X, y), _scikit_learn(X, y, refit))
        for refit in (True, False)
    }


@pytest.mark.slow
@pytest.mark.parametrize("refit", [True, False])
def test_same_fold_scores_chosen_c_and_coefficients_as_logistic_regression_cv(fitted, refit):
    ours, reference = fitted[refit]
    np.testing.assert_array_equal(ours.Cs_, reference.Cs_)
    np.testing.assert_array_equal(ours.scores_, reference.scores_[:, 0, :])
    assert ours.C_ == pytest.approx(reference.C_, rel=1e-12)
    coef, intercept = _as_scikit_learn(ours)
    np.testing.assert_allclose(coef, reference.coef_, atol=1e-4, rtol=0)
    np.testing.assert_allclose(intercept, reference.intercept_, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_paths_hold_each_folds_coefficients_on_raw_inputs(fitted):
    ours, reference = fitted[True]
    n_folds, n_grid = ours.scores_.shape
    assert ours.coefs_paths_.shape == (n_folds, n_grid, len(ours.classes_), ours.n_features_in_ + 1)
    if len(ours.classes_) > 2:
        np.testing.assert_allclose(ours.coefs_paths_, reference.coefs_paths_[:, 0], atol=1e-4, rtol=0)
    assert ours.n_iter_.shape == (n_folds, n_grid) and ours.n_iter_.min() >= 1


def test_int_cs_is_scikit_learns_log_grid_and_c_maps_to_alpha():
    X, y = datasets.load_iris(return_X_y=True)
    clf = LinearClassifierCV(Cs=4, cv=3).fit(X, y)
    np.testing.assert_array_equal(clf.Cs_, np.logspace(-4, 4, 4))
    np.testing.assert_allclose(clf.alphas_, 1.0 / (2.0 * clf.Cs_ * 150))
    assert clf.alpha_ == pytest.approx(1.0 / (2.0 * clf.C_ * 150))
    assert c_to_alpha(2.0, 50, 2) == pytest.approx(0.01) and alpha_to_c(0.01, 50, 2) == pytest.approx(2.0)
    assert c_to_alpha(2.0, 50, 3) == pytest.approx(0.005)


def test_refit_on_alpha_grid_equals_linear_classifier_at_the_chosen_alpha():
    X, y = datasets.load_iris(return_X_y=True)
    clf = LinearClassifierCV(alphas=[1e-1, 1e-3], cv=StratifiedKFold(3), tol=1e-9).fit(X, y)
    assert clf.alpha_ in (1e-1, 1e-3)
    single = LinearClassifier(alpha=clf.alpha_, optimizer="lbfgs", preprocess="none", tol=1e-9).fit(X, y)
    np.testing.assert_allclose(clf.coef_, single.coef_, atol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), single.predict_proba(X), atol=1e-6)


def test_validation_data_is_the_one_split_and_refit_uses_train_and_validation():
    X, y = datasets.load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(150)
    train, val = order[:100], order[100:]
    clf = LinearClassifierCV(Cs=[0.01, 1.0, 100.0], tol=1e-9).fit(
        X[train], y[train], validation_data=(X[val], y[val])
    )
    assert clf.scores_.shape == (1, 3)
    for j, C in enumerate(clf.Cs_):
        single = LinearClassifier(alpha=1 / (2 * C * 100), optimizer="lbfgs", preprocess="none", tol=1e-9)
        assert clf.scores_[0, j] == single.fit(X[train], y[train]).score(X[val], y[val])
    assert clf.C_ == clf.Cs_[np.argmax(clf.scores_[0])]
    everything = LinearClassifier(
        alpha=1 / (2 * clf.C_ * 150), optimizer="lbfgs", preprocess="none", tol=1e-9
    )
    np.testing.assert_allclose(clf.coef_, everything.fit(X[order], y[order]).coef_, atol=1e-5)


@pytest.mark.parametrize("refit", [True, False])
def test_saved_model_loads_as_linear_classifier_with_the_same_predictions(tmp_path, refit):
    import linclass

    X, y = datasets.load_iris(return_X_y=True)
    clf = LinearClassifierCV(Cs=3, cv=3, refit=refit, preprocess="standardize").fit(X, y)
    clf.save(tmp_path / "model.npz")
    loaded = linclass.load(tmp_path / "model.npz")
    assert type(loaded) is LinearClassifier and loaded.alpha == clf.alpha_
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_works_in_pipeline_and_grid_search_and_has_no_partial_fit():
    X, y = datasets.load_wine(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), LinearClassifierCV(Cs=3, cv=3)).fit(X, y)
    assert pipe.score(X, y) > 0.95
    search = GridSearchCV(LinearClassifierCV(cv=3), {"Cs": [2, 3]}, cv=3).fit(
        StandardScaler().fit_transform(X), y
    )
    assert search.best_params_["Cs"] in (2, 3)
    assert not hasattr(LinearClassifierCV(), "partial_fit")


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"Cs": 0}, ValueError, "Cs must be an integer >= 1 or a list of numbers > 0, got 0"),
        (
            {"Cs": [1.0, -1.0]},
            ValueError,
            "Cs must be an integer >= 1 or a non-empty list of finite numbers > 0",
        ),
        ({"alphas": 0.1}, TypeError, "alphas must be None or a list of numbers > 0, got 0.1"),
        ({"cv": 1}, ValueError, "cv must be an integer >= 2, got 1"),
        (
            {"loss": "svm"},
            ValueError,
            "loss='svm' is not supported; expected one of ['softmax', 'squared_hinge']",
        ),
        ({"refit": "yes"}, TypeError, "refit must be True or False, got 'yes'"),
    ],
)
def test_bad_hyperparameters_name_the_argument(params, error, message):
    X, y = datasets.load_iris(return_X_y=True)
    with pytest.raises(error) as info:
        LinearClassifierCV(**params).fit(X, y)
    assert str(info.value).startswith(message)


def test_the_folds_and_the_refit_share_one_spectrum_and_one_rescaling_sample(monkeypatch):
    """One eigendecomposition and one rescaling sample per fit, not one per fold; a float32 grid on
    float64 inputs solves on float32 copies of the fold rows. The choice is scikit-learn's still."""
    import linclass.estimator.cv as cv
    import linclass.optim.solver as solver

    X, y = _problem("digits")
    spectra, samples, solved_on = [], [], []
    real_spectrum, real_sample, real_solve = cv.spectrum, solver.Problem.sample, cv.solve
    monkeypatch.setattr(cv, "spectrum", lambda *a: spectra.append(a[1].shape) or real_spectrum(*a))

    def sample(problem):
        if problem.computed_sample is None:
            samples.append(problem.X.shape)
        return real_sample(problem)

    def solve(objective, X_fit, *args, **kwargs):
        solved_on.append(X_fit.dtype)
        return real_solve(objective, X_fit, *args, **kwargs)

    monkeypatch.setattr(solver.Problem, "sample", sample)
    monkeypatch.setattr(cv, "solve", solve)
    ours = LinearClassifierCV(Cs=GRID, tol=1e-6, dtype="float32").fit(X, y)
    assert spectra == [X.shape] and len(samples) == 1 and samples[0][0] < X.shape[0]  # the first fold's
    assert solved_on == [np.float32] * (5 * len(GRID) + 1)
    reference = _scikit_learn(X, y, True)
    assert ours.C_ == reference.C_
    np.testing.assert_allclose(ours.coef_, reference.coef_, atol=1e-3)  # float32, tol 1e-6
