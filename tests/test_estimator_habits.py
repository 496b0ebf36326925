"""scikit-learn habits: feature names of DataFrames, layout-independent bits, the regressor's early stopping."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import linclass
from linclass import LinearClassifier, LinearRegressor
from linclass.splits import split_indices

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency  # noqa: E402

COLUMNS = ["sepal", "petal", "stem", "leaf"]


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    return pd.DataFrame(X, columns=COLUMNS), y


@pytest.mark.parametrize(
    "estimator", [LinearClassifier(random_state=0), LinearClassifier(loss="svm", random_state=0),
                  LinearRegressor(random_state=0)], ids=repr,
)  # fmt: skip
def test_scikit_learns_column_name_check_passes(estimator):
    check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


def test_a_dataframe_gives_feature_names_and_an_array_removes_them(frame):
    X, y = frame
    clf = LinearClassifier(random_state=0, epochs=2).fit(X, y)
    assert clf.feature_names_in_.dtype == object and clf.feature_names_in_.tolist() == COLUMNS
    clf.fit(X.to_numpy(), y)
    assert not hasattr(clf, "feature_names_in_")
    assert not hasattr(LinearClassifier(epochs=1).fit(pd.DataFrame(X.to_numpy()), y), "feature_names_in_")


def test_other_or_reordered_columns_are_refused_with_scikit_learns_message(frame):
    X, y = frame
    clf = LinearClassifier(random_state=0, epochs=2).fit(X, y)
    reordered = X[COLUMNS[::-1]]
    with pytest.raises(ValueError) as info:
        clf.predict(reordered)
    assert str(info.value) == (
        "The feature names should match those that were passed during fit.\n"
        "Feature names must be in the same order as they were in fit.\n"
    )
    renamed = X.rename(columns={"stem": "root"})
    with pytest.raises(ValueError) as info:
        clf.predict_proba(renamed)
    assert str(info.value) == (
        "The feature names should match those that were passed during fit.\n"
        "Feature names unseen at fit time:\n- root\n"
        "Feature names seen at fit time, yet now missing:\n- stem\n"
    )


def test_names_on_one_side_only_warn(frame):
    X, y = frame
    with_names = LinearClassifier(random_state=0, epochs=2).fit(X, y)
    with pytest.warns(UserWarning, match=re.escape(
        "X does not have valid feature names, but LinearClassifier was fitted with feature names"
    )):  # fmt: skip
        labels = with_names.predict(X.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(with_names.predict(X), labels)
    without = LinearRegressor(random_state=0, epochs=2).fit(X.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but LinearRegressor was fitted without feature names"):
        without.predict(X)


def test_mixed_column_name_types_are_a_type_error(frame):
    X, y = frame
    X = X.rename(columns={"sepal": 0})
    with pytest.raises(TypeError, match=r"Feature names are only supported if all input features have string names"):
        LinearClassifier(epochs=1).fit(X, y)


def test_feature_names_survive_save_and_load(frame, tmp_path):
    X, y = frame
    LinearClassifier(random_state=0, epochs=2).fit(X, y).save(tmp_path / "m.npz")
    loaded = linclass.load(tmp_path / "m.npz")
    assert loaded.feature_names_in_.tolist() == COLUMNS
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        loaded.predict(X[COLUMNS[::-1]])


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "gd", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_fortran_order_and_strided_input_give_bit_identical_weights(optimizer, dtype):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X.astype(dtype)
    settings = dict(random_state=0, epochs=3, optimizer=optimizer)
    reference = LinearClassifier(**settings).fit(X, y)
    for variant in (np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2]):
        fitted = LinearClassifier(**settings).fit(variant, y)
        assert fitted.coef_.tobytes() == reference.coef_.tobytes()
        assert fitted.intercept_.tobytes() == reference.intercept_.tobytes()
    regression = LinearRegressor(random_state=0, epochs=3, optimizer=optimizer)
    target = y.astype(float)
    reference = regression.fit(X, target).coef_.tobytes()
    assert regression.fit(np.asfortranarray(X), target).coef_.tobytes() == reference


def regression_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=n)


def test_regressor_early_stopping_holds_out_rows_stops_and_keeps_the_best_epoch():
    X, y = regression_data()
    settings = dict(alpha=0.0, learning_rate=0.02, epochs=300, n_iter_no_change=3, random_state=0)
    plain = LinearRegressor(**settings).fit(X, y)
    stopped = LinearRegressor(early_stopping=True, validation_fraction=0.2, **settings).fit(X, y)
    assert plain.n_iter_ == 300 and "val_loss" not in plain.history_
    assert stopped.n_iter_ < 300 and len(stopped.history_["val_loss"]) == stopped.n_iter_
    # the held-out rows are the first draw of the seeded generator; the model is the best epoch's
    train_rows, val_rows = split_indices(np.zeros(len(y)), 0.2, random_state=np.random.default_rng(0))
    assert len(val_rows) == 80
    val_mse = np.mean((stopped.predict(X[val_rows]) - y[val_rows]) ** 2)
    assert val_mse == pytest.approx(min(stopped.history_["val_loss"]), rel=1e-6)


def test_regressor_validation_fraction_is_used_only_with_early_stopping():
    X, y = regression_data()
    fit = lambda **kw: LinearRegressor(epochs=20, random_state=0, **kw).fit(X, y).coef_  # noqa: E731
    assert fit(validation_fraction=0.1).tobytes() == fit(validation_fraction=0.3).tobytes()
    assert fit(early_stopping=True, validation_fraction=0.1).tobytes() != fit(
        early_stopping=True, validation_fraction=0.3
    ).tobytes()
    with pytest.raises(ValueError, match=r"validation_fraction=0.1 of 4 samples gives none"):
        LinearRegressor(early_stopping=True).fit(X[:4], y[:4])
