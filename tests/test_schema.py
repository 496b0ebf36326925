"""The one hyperparameter table: estimator validation, TrainConfig and the CLI options derive from it."""

import argparse
import dataclasses
import inspect

import numpy as np
import pytest

from linclass import LinearClassifier, LinearRegressor
from linclass.app.config import RUN_SETTINGS, TrainConfig
from linclass.hyperparameters import HYPERPARAMETERS, SCHEMA, add_arguments, ignored, parameter_constraints
from linclass.losses import loss_names
from linclass.optim import OPTIMIZERS


def init_defaults(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items() if name != "self"}


def test_every_estimator_hyperparameter_is_in_the_table_with_the_classifiers_defaults():
    assert set(init_defaults(LinearClassifier)) == set(HYPERPARAMETERS)
    assert set(init_defaults(LinearRegressor)) == set(HYPERPARAMETERS) - {"loss", "class_weight", "penalize_intercept"}
    assert init_defaults(LinearClassifier) == {h.name: h.default for h in SCHEMA}


def test_train_config_fields_are_the_tables_names_with_its_command_line_defaults():
    config = TrainConfig()
    fields = [field.name for field in dataclasses.fields(TrainConfig) if field.name not in RUN_SETTINGS]
    assert set(fields) <= set(HYPERPARAMETERS)  # one vocabulary: no field is named otherwise
    for name in fields:
        assert getattr(config, name) == HYPERPARAMETERS[name].cli_default
    estimator = config.estimator()
    assert estimator.get_params() | {name: getattr(config, name) for name in fields} == estimator.get_params()
    assert estimator.random_state == 0 and estimator.n_iter_no_change == config.n_iter_no_change == 5


def test_parameter_constraints_come_from_the_table():
    constraints = LinearClassifier._parameter_constraints
    assert set(constraints) == set(HYPERPARAMETERS)
    assert constraints["alpha"] == ["None (1 / (2 N), scikit-learn's C = 1) or a finite number >= 0"]
    assert parameter_constraints(["loss"]) == {"loss": ["a classification loss in linclass.losses.LOSSES"]}
    assert "loss" not in LinearRegressor._parameter_constraints


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"early_stopping": "yes"}, TypeError, r"^early_stopping must be True or False, got 'yes'$"),
        ({"verbose": -1}, TypeError, r"^verbose must be True, False or an integer >= 0, got -1$"),
        ({"dtype": "int8"}, ValueError, r"^dtype='int8' is not supported; expected None, 'float32' or 'float64'$"),
        ({"class_weight": "even"}, ValueError, r"^class_weight='even' is not supported; expected None, 'balanced'"),
        ({"class_weight": 3}, TypeError, r"^class_weight must be None, 'balanced' or a dict, got 3$"),
        ({"loss": "squared_error"}, ValueError, r"^loss='squared_error' is not supported; expected one of \['cra"),
        ({"preprocess": "whiten"}, ValueError, r"^preprocess='whiten' is not supported; expected one of \["),
    ],
)
def test_bad_hyperparameters_are_refused_before_training(settings, error, message):
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    with pytest.raises(error, match=message):
        LinearClassifier(**settings).fit(X, y)


def test_numpy_dtypes_are_accepted_as_before():
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    assert LinearClassifier(dtype=np.float64, epochs=1).fit(X, y).coef_.dtype == np.float64


def test_command_line_options_derive_from_the_table():
    parser = argparse.ArgumentParser()
    add_arguments(parser, ["loss", "learning_rate", "early_stopping", "dtype"], defaults={"learning_rate": 0.5})
    args = parser.parse_args([])
    assert (args.loss, args.learning_rate, args.early_stopping, args.dtype) == ("softmax", 0.5, False, None)
    args = parser.parse_args(["--loss", "svm", "--lr", "0.1", "--early-stopping", "--dtype", "float64"])
    assert (args.loss, args.learning_rate, args.early_stopping, args.dtype) == ("svm", 0.1, True, "float64")
    assert parser.parse_args(["--learning-rate", "0.2"]).learning_rate == 0.2
    choices = {action.dest: action.choices for action in parser._actions}
    assert choices["loss"] == loss_names("classification")
    with pytest.raises(ValueError, match="hyperparameter 'class_weight' has no command-line option"):
        add_arguments(parser, ["class_weight"])
    assert OPTIMIZERS.names() == HYPERPARAMETERS["optimizer"].choices()


def test_each_flag_is_the_name_with_dashes_and_the_short_flags_stay_as_aliases():
    flags = {h.name: h.flags for h in SCHEMA if h.option}
    assert all(each[0] == "--" + name.replace("_", "-") for name, each in flags.items())
    aliases = {name: each[1:] for name, each in flags.items() if len(each) > 1}
    assert aliases == {
        "learning_rate": ("--lr",), "validation_fraction": ("--val-fraction",),
        "n_iter_no_change": ("--patience",), "random_state": ("--seed",),
    }  # fmt: skip


def test_numeric_constraints_come_from_their_rule():
    assert HYPERPARAMETERS["learning_rate"].constraint == "a finite number > 0"
    assert HYPERPARAMETERS["epochs"].constraint == "an integer >= 1"
    assert HYPERPARAMETERS["momentum"].constraint == "a number in [0, 1)"
    assert HYPERPARAMETERS["validation_fraction"].constraint == "a number in (0, 1)"
    with pytest.raises(ValueError, match=r"^momentum must be in \[0, 1\), got 1.0$"):
        LinearClassifier(momentum=1.0).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(TypeError, match=r"^batch_size must be an integer, got 2.5$"):
        LinearClassifier(batch_size=2.5).fit(np.eye(4), [0, 1, 0, 1])


def test_ignored_names_what_the_optimizer_penalty_and_early_stopping_leave_unused():
    assert ignored({"optimizer": "sgd", "penalty": "elasticnet", "early_stopping": True}) == {"max_iter": "optimizer"}
    assert ignored({"optimizer": "adam", "penalty": "l2"}) == {
        "momentum": "optimizer", "max_iter": "optimizer", "l1_ratio": "penalty", "n_iter_no_change": "early_stopping"
    }  # fmt: skip
    assert set(ignored({"optimizer": "lbfgs", "penalty": None, "early_stopping": True})) == {
        "learning_rate", "schedule", "batch_size", "momentum", "epochs", "l1_ratio"
    }  # fmt: skip
    # the searches take the learning rate as their scale but no schedule, momentum or minibatches
    assert set(ignored({"optimizer": "genetic", "penalty": "elasticnet", "early_stopping": True})) == {
        "schedule", "batch_size", "momentum", "max_iter"
    }  # fmt: skip
