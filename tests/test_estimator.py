"""LinearClassifier / LinearRegressor: the scikit-learn contract in use, persistence, validation."""

import numpy as np
import pytest

import linclass
from linclass import LinearClassifier, LinearRegressor
from linclass.datasets import load_digits
from linclass.losses import loss_names, softmax
from linclass.train import DivergenceError

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def digits():
    ds = load_digits()
    return ds.X_train.reshape(len(ds.X_train), -1), ds.y_train, ds.X_test.reshape(len(ds.X_test), -1), ds.y_test


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 4.0], [4.0, 0.0], [-4.0, -4.0]])
    y = rng.integers(0, 3, 300)
    X = centers[y] + rng.normal(size=(300, 2))
    return X, y


@pytest.mark.parametrize("loss", loss_names("classification"))
def test_every_loss_learns_digits(digits, loss):
    X, y, X_test, y_test = digits
    clf = LinearClassifier(loss=loss, optimizer="sgd", random_state=0, epochs=20).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    assert len(clf.history_["loss"]) == clf.n_iter_ == 20


def test_string_labels_survive_fit_save_load_predict(blobs, tmp_path):
    X, y = blobs
    names = np.array(["cat", "car", "frog"])[y]
    clf = LinearClassifier(loss="svm", random_state=0).fit(X, names)
    assert list(clf.classes_) == ["car", "cat", "frog"]
    path = tmp_path / "m.npz"
    clf.save(path)
    loaded = linclass.load(path)
    assert loaded.classes_.tolist() == ["car", "cat", "frog"]
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert (loaded.predict(X) == names).mean() > 0.95


def test_object_and_integer_labels_are_preserved(blobs):
    X, y = blobs
    labels = np.array([10, 20, 30], dtype=object)[y]
    clf = LinearClassifier(random_state=0).fit(X, labels)
    assert set(clf.predict(X[:20]).tolist()) <= {10, 20, 30}


def test_softmax_probabilities_are_the_softmax_of_the_scores(blobs):
    X, y = blobs
    clf = LinearClassifier(loss="softmax", random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), softmax(clf.decision_function(X).astype(np.float64)))


@pytest.mark.parametrize("loss", ["svm", "crammer_singer", "squared_hinge", "multi_margin"])
def test_margin_losses_give_platt_probabilities_that_agree_with_predict(blobs, loss):
    X, y = blobs
    clf = LinearClassifier(loss=loss, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert clf.probability_slope_ > 0
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    # calibrated: on well-separated blobs the mean probability of the true class is high but < 1
    p_true = proba[np.arange(len(y)), y]
    assert 0.8 < p_true.mean() < 1.0


def test_same_seed_gives_identical_bits_and_different_seed_differs(digits):
    X, y, _, _ = digits
    a = LinearClassifier(optimizer="sgd", random_state=7, epochs=3).fit(X, y)
    b = LinearClassifier(optimizer="sgd", random_state=7, epochs=3).fit(X, y)
    c = LinearClassifier(optimizer="sgd", random_state=8, epochs=3).fit(X, y)
    assert a.coef_.tobytes() == b.coef_.tobytes()
    assert a.history_["loss"] == b.history_["loss"]
    assert not np.array_equal(a.coef_, c.coef_)


def test_divergence_names_epoch_and_step_and_keeps_finite_weights(digits):
    X, y, _, _ = digits
    clf = LinearClassifier(optimizer="sgd", learning_rate=1e6, momentum=0.9, random_state=0)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, step \d+"):
        clf.fit(X, y)
    assert np.isfinite(clf.coef_).all() and np.isfinite(clf.intercept_).all()


def test_lbfgs_matches_scikit_learn_logistic_regression(digits):
    from sklearn.linear_model import LogisticRegression

    X, y, _, _ = digits
    X = X[:500] / 16.0
    y = y[:500]
    alpha = 1e-2
    ours = LinearClassifier(
        optimizer="lbfgs", alpha=alpha, preprocess="none", epochs=2000, tol=1e-10, dtype="float64"
    ).fit(X, y)
    ref = LogisticRegression(C=1.0 / (2 * alpha * len(y)), tol=1e-10, max_iter=5000).fit(X, y)
    W_ours = ours.coef_ - ours.coef_.mean(axis=0)
    W_ref = ref.coef_ - ref.coef_.mean(axis=0)
    np.testing.assert_allclose(W_ours, W_ref, rtol=1e-4, atol=1e-5 * np.abs(W_ref).max())


def test_one_vs_rest_squared_hinge_matches_scikit_learn_linear_svc(digits):
    from sklearn.svm import LinearSVC

    X, y, _, _ = digits
    X, y = X[:400] / 16.0, y[:400]
    alpha = 1e-2
    ours = LinearClassifier(
        loss="ovr_squared_hinge", optimizer="lbfgs", alpha=alpha, preprocess="none", max_iter=5000, tol=1e-10,
        dtype="float64",
    ).fit(X, y, validation_data=(X, y))  # Platt scaling on X itself: no rows held out of training
    # liblinear penalizes the intercept as a feature of value intercept_scaling: at 1e3 that
    # penalty on b is 1e-6 of linclass's on W, which leaves the bias unpenalized as here
    ref = LinearSVC(C=1.0 / (2 * alpha * len(y)), dual=False, tol=1e-12, max_iter=10_000, intercept_scaling=1e3)
    ref.fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-4 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_works_in_pipeline_grid_search_and_cross_validation(blobs):
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs
    pipe = make_pipeline(StandardScaler(), LinearClassifier(random_state=0, epochs=5))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.9
    search = GridSearchCV(
        LinearClassifier(random_state=0, epochs=5), {"loss": ["svm", "softmax"], "alpha": [1e-4, 1e-2]}, cv=3
    ).fit(X, y)
    assert search.best_params_["loss"] in {"svm", "softmax"}
    assert search.best_score_ > 0.9


def test_partial_fit_needs_classes_first_and_then_improves(digits):
    X, y, X_test, y_test = digits
    clf = LinearClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        clf.partial_fit(X[:100], y[:100])
    clf.partial_fit(X[:400], y[:400], classes=np.arange(10))
    first = clf.score(X_test, y_test)
    for _ in range(5):
        clf.partial_fit(X[:400], y[:400])
    assert clf.score(X_test, y_test) > first
    assert clf.n_iter_ == 6 and len(clf.history_["loss"]) == 6


def test_class_weight_balanced_and_dict(blobs):
    X, y = blobs
    clf = LinearClassifier(class_weight="balanced", random_state=0).fit(X, y)
    counts = np.bincount(y)
    np.testing.assert_allclose(clf.objective_.class_weight, len(y) / (3 * counts))
    clf = LinearClassifier(class_weight={0: 5.0}, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.objective_.class_weight, [5.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"class_weight has label 7, which is not in classes \[0, 1, 2\]"):
        LinearClassifier(class_weight={7: 1.0}).fit(X, y)
    with pytest.raises(ValueError, match="class_weight='uniform' is not supported"):
        LinearClassifier(class_weight="uniform").fit(X, y)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"learning_rate": 0.0}, r"learning_rate must be a finite number > 0, got 0.0"),
        ({"learning_rate": float("nan")}, r"learning_rate must be a finite number > 0, got nan"),
        ({"alpha": -1.0}, r"alpha must be a finite number >= 0, got -1.0"),
        ({"l1_ratio": 1.5}, r"l1_ratio must be in \[0, 1\], got 1.5"),
        ({"batch_size": 0}, r"batch_size must be an integer >= 1, got 0"),
        ({"epochs": 0}, r"epochs must be an integer >= 1, got 0"),
        ({"loss": "hinge"}, r"loss='hinge' is not supported; expected one of \['crammer_singer', "),
        ({"penalty": "l3"}, r"penalty='l3' is not supported; expected one of \['elasticnet', 'l1', 'l2', 'none'\]"),
        ({"optimizer": "newton"}, r"optimizer='newton' is not supported; expected one of \["),
        ({"dtype": "float16"}, r"dtype='float16' is not supported; expected None, 'float32' or 'float64'"),
    ],
)
def test_bad_hyperparameters_name_the_parameter_and_allowed_values(blobs, params, message):
    X, y = blobs
    with pytest.raises(ValueError, match=message):
        LinearClassifier(**params).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_finite_check_survives_a_sum_that_overflows(dtype):
    from linclass.estimator._checks import validate_X

    big = np.finfo(dtype).max
    X = np.full((4, 3), big, dtype)  # every value finite, their sum is not
    assert validate_X(X) is X
    X[2, 1] = -np.inf
    with pytest.raises(ValueError, match=r"^Input X contains infinity or a value too large for dtype"):
        validate_X(X)
    X[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"^Input X contains NaN\.$"):
        validate_X(X)
    Y = np.zeros((5, 2), dtype)
    Y[4, 1], Y[0, 0] = np.inf, -np.inf  # the sum is NaN, not infinite
    with pytest.raises(ValueError, match="Input X contains infinity"):
        validate_X(Y)


def test_bad_input_messages(blobs):
    X, y = blobs
    clf = LinearClassifier(random_state=0)
    with pytest.raises(linclass.NotFittedError, match="not fitted yet"):
        clf.predict(X)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y)
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clf.fit(np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X), y)
    with pytest.raises(ValueError, match=r"Found array with 0 sample\(s\)"):
        clf.fit(np.zeros((0, 2)), np.zeros(0))
    with pytest.raises(ValueError, match=r"Found array with 0 feature\(s\)"):
        clf.fit(np.zeros((5, 0)), np.arange(5))
    with pytest.raises(ValueError, match="X has 300 rows but y has 299 labels"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array instead"):
        clf.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="Expected 2D array, got 3D array instead"):
        clf.fit(X[:, :, None], y)
    with pytest.raises(ValueError, match="only one class: 1"):
        clf.fit(X, np.ones_like(y))
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        clf.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="Complex data not supported"):
        clf.fit(X.astype(complex), y)
    with pytest.raises(TypeError, match="X must be numeric"):
        clf.fit(X.astype(str), y)
    clf.fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LinearClassifier is expecting 2 features"):
        clf.predict(np.ones((4, 3)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8, bool])
def test_numeric_dtypes_are_accepted(digits, dtype):
    X, y, X_test, y_test = digits
    clf = LinearClassifier(random_state=0, epochs=5).fit((X > 8) if dtype is bool else X.astype(dtype), y)
    expected = np.float64 if dtype == np.float64 else np.float32
    assert clf.coef_.dtype == expected
    assert clf.score((X_test > 8) if dtype is bool else X_test.astype(dtype), y_test) > 0.85


def test_memory_layout_does_not_change_results_or_the_input(digits, tmp_path):
    X, y, _, _ = digits
    X = X.astype(np.float32)
    reference = LinearClassifier(optimizer="sgd", random_state=0, epochs=3).fit(X, y).coef_
    fortran = np.asfortranarray(X)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    for variant in (fortran, mapped, strided):
        before = np.array(variant, copy=True)
        coef = LinearClassifier(optimizer="sgd", random_state=0, epochs=3).fit(variant, y).coef_
        np.testing.assert_allclose(coef, reference, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(np.asarray(variant), before)


def test_regressor_solves_the_lectures_squared_loss_example():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    w = np.array([1.5, -2.0, 0.5])
    y = X @ w + 0.25
    for optimizer in ("lbfgs", "sgd", "gd"):
        reg = LinearRegressor(optimizer=optimizer, alpha=0.0, epochs=300, learning_rate=0.05).fit(X, y)
        np.testing.assert_allclose(reg.coef_, w, atol=1e-2)
        assert reg.intercept_ == pytest.approx(0.25, abs=1e-2)
        assert reg.score(X, y) > 0.999


@pytest.mark.parametrize("schedule", ["constant", "step", "exponential", "inverse_time", "cosine"])
def test_every_schedule_trains(digits, schedule):
    X, y, X_test, y_test = digits
    clf = LinearClassifier(optimizer="sgd", schedule=schedule, learning_rate=0.05, random_state=0).fit(X, y)
    assert clf.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match="schedule='linear' is not supported"):
        LinearClassifier(schedule="linear").fit(X, y)


def test_backend_is_chosen_by_name_or_object_and_is_no_part_of_the_model_file(blobs, tmp_path):
    from linclass.kernels import NumbaKernels, NumpyKernels

    X, y = blobs
    by_name = LinearClassifier(backend="numpy", epochs=3, random_state=0).fit(X, y)
    by_object = LinearClassifier(backend=NumpyKernels(), epochs=3, random_state=0).fit(X, y)
    assert isinstance(by_name.objective_.kernels, NumpyKernels)
    np.testing.assert_array_equal(by_name.coef_, by_object.coef_)
    pytest.importorskip("numba")
    fused = LinearClassifier(backend="numba", epochs=3, random_state=0).fit(X, y)
    assert isinstance(fused.objective_.kernels, NumbaKernels)
    np.testing.assert_allclose(fused.coef_, by_name.coef_, rtol=1e-4, atol=1e-6)
    by_name.save(tmp_path / "m.npz")
    loaded = linclass.load(tmp_path / "m.npz")
    assert loaded.backend is None and (loaded.predict(X) == by_name.predict(X)).all()
    with pytest.raises(ValueError, match=r"^backend='gpu' is not supported; expected one of \['dask', 'numba', 'numpy', 'torch'\]"):
        LinearClassifier(backend="gpu").fit(X, y)
    with pytest.raises(TypeError, match=r"^backend must be None, a name in \['dask', 'numba', 'numpy', 'torch'\] or an object"):
        LinearRegressor(backend=7).fit(X, y.astype(float))
