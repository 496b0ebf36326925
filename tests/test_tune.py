"""Hyperparameter search: the search space, the ranking, parallel trials and the best model."""

import math

import numpy as np
import pytest

from linclass.app.config import SettingError
from linclass.app.experiment import TrainConfig, prepare_data
from linclass.app.tune import LogRange, search_space, tune

CONFIG = TrainConfig(data="digits", epochs=2, random_state=0)


@pytest.fixture(scope="module")
def splits():
    return prepare_data(CONFIG)


def _without_seconds(results):
    return [{key: value for key, value in r.items() if key != "seconds"} for r in results]


def test_grid_is_every_pair_learning_rate_major():
    assert search_space([1e-3, 1e-2], [0.0, 1e-4]) == [(1e-3, 0.0), (1e-3, 1e-4), (1e-2, 0.0), (1e-2, 1e-4)]


def test_random_search_draws_log_uniform_values_within_the_ranges():
    pairs = search_space(
        LogRange(1e-4, 1e-1), LogRange(1e-6, 1e-2), search="random", n_trials=200, random_state=3
    )
    lrs, alphas = np.array(pairs).T
    assert len(pairs) == 200
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    assert alphas.min() >= 1e-6 and alphas.max() <= 1e-2
    # log-uniform: each decade of the learning-rate range gets about a third of the draws
    decades = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1])[0]
    assert decades.min() > 40
    assert (
        search_space(
            LogRange(1e-4, 1e-1), LogRange(1e-6, 1e-2), search="random", n_trials=200, random_state=3
        )
        == pairs
    )


def test_random_search_picks_from_lists():
    pairs = search_space([0.1, 0.2], LogRange(1e-3, 1e-3), search="random", n_trials=20, random_state=0)
    assert {lr for lr, _ in pairs} == {0.1, 0.2}
    assert all(alpha == pytest.approx(1e-3) for _, alpha in pairs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"search": "bayes"},
            ValueError,
            r"search='bayes' is not supported; expected one of \['grid', 'random'\]",
        ),
        (
            {"learning_rates": LogRange(1e-4, 1e-1)},
            ValueError,
            r"learning_rates is a range \(0.0001:0.1\) but search='grid' needs lists of values",
        ),
        ({"learning_rates": [0.1, -1.0]}, ValueError, r"learning_rates\[1\] must be a finite number > 0"),
        ({"alphas": [-1.0]}, ValueError, r"alphas\[0\] must be a finite number >= 0"),
        ({"alphas": []}, TypeError, "alphas must be a non-empty list of numbers or a LogRange"),
        ({"learning_rates": LogRange(1.0, 0.1), "search": "random"}, ValueError, "low <= high"),
        ({"search": "random", "n_trials": 0}, ValueError, "n_trials must be an integer >= 1"),
    ],
)
def test_bad_search_settings_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        search_space(**kwargs)


def test_results_are_sorted_by_validation_accuracy_with_the_best_model(splits):
    result = tune(CONFIG, learning_rates=[1e-3, 1e-1], alphas=[1e-4, 1e-1], splits=splits)
    accuracies = [r["val_accuracy"] for r in result.results]
    assert accuracies == sorted(accuracies, reverse=True)
    assert sorted(r["trial"] for r in result.results) == [1, 2, 3, 4]
    assert set(result.results[0]) == {
        "trial",
        "learning_rate",
        "alpha",
        "train_accuracy",
        "val_accuracy",
        "seconds",
        "diverged",
    }
    best = result.results[0]
    assert (result.config.learning_rate, result.config.alpha) == (best["learning_rate"], best["alpha"])
    model = result.best.model
    assert (model.learning_rate, model.alpha) == (best["learning_rate"], best["alpha"])
    assert model.score(splits.X_val, splits.y_val) == best["val_accuracy"]
    assert result.best.accuracy["test"] == model.score(splits.X_test, splits.y_test)
    assert result.best.accuracy["val"] == best["val_accuracy"]
    assert all(r["seconds"] > 0 for r in result.results)


def test_each_trial_is_reported_to_the_callback(splits):
    seen = []
    tune(CONFIG, learning_rates=[1e-2], alphas=[1e-4, 1e-3], splits=splits, callback=seen.append)
    assert [(r["trial"], r["alpha"]) for r in seen] == [(1, 1e-4), (2, 1e-3)]


def test_diverged_trials_rank_last(splits):
    with np.errstate(all="ignore"):
        result = tune(CONFIG, learning_rates=[1e30, 1e-2], alphas=[1e-4], splits=splits)
    first, last = result.results
    assert first["learning_rate"] == 1e-2 and not first["diverged"]
    assert last["diverged"] and math.isnan(last["val_accuracy"]) and math.isnan(last["train_accuracy"])
    assert result.config.learning_rate == 1e-2


def test_every_trial_diverging_is_an_error(splits):
    with np.errstate(all="ignore"), pytest.raises(ValueError, match="every one of the 1 trials diverged"):
        tune(CONFIG, learning_rates=[1e30], alphas=[1e-4], splits=splits)


def test_tuning_needs_validation_data(splits):
    no_validation = splits._replace(X_val=splits.X_val[:0], y_val=splits.y_val[:0])
    with pytest.raises(SettingError, match=r"^validation_fraction=0.1: tuning needs validation rows, but") as error:
        tune(CONFIG, splits=no_validation)
    assert (error.value.setting, error.value.value) == ("validation_fraction", 0.1)


def test_random_search_uses_the_config_seed(splits):
    space = {"learning_rates": LogRange(1e-3, 1e-1), "alphas": LogRange(1e-4, 1e-2), "search": "random"}
    first = tune(CONFIG, **space, n_trials=2, splits=splits)
    again = tune(CONFIG, **space, n_trials=2, splits=splits)
    assert _without_seconds(first.results) == _without_seconds(again.results)
    expected = search_space(**space, n_trials=2, random_state=CONFIG.random_state)
    assert sorted((r["learning_rate"], r["alpha"]) for r in first.results) == sorted(expected)
