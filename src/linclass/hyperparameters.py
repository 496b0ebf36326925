"""The one table of hyperparameters: name, default, constraint, help text, command-line flag.

The estimators' validation (:func:`validate`, and ``_parameter_constraints`` in scikit-learn's
style), the training configuration (``linclass.app.config.TrainConfig``) and the command line's
shared options (:func:`add_arguments`) all derive from :data:`SCHEMA`, so a hyperparameter is
named, defaulted, checked and documented once. Choices come from the registries, so a newly
registered loss, optimizer or schedule is accepted everywhere at once.

    >>> HYPERPARAMETERS["alpha"].check(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a finite number >= 0, got -1.0
"""

from __future__ import annotations

import argparse
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from linclass import _validation as v
from linclass.kernels import KERNELS, Kernels
from linclass.losses import loss_names
from linclass.optim import OPTIMIZERS
from linclass.optim.schedules import SCHEDULES
from linclass.penalties import PENALTIES, get_penalty
from linclass.preprocess import PREPROCESSORS

DTYPES = ("float32", "float64")
SAME = "same"


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter of the linear estimators.

    Attributes:
        name: the estimator's argument (and ``TrainConfig`` field).
        default: the ``LinearClassifier`` default.
        constraint: what is allowed, in words (scikit-learn's ``_parameter_constraints`` entry).
        validate: ``validate(value, name)`` raising ValueError/TypeError naming the argument.
        help: one line for ``--help``.
        flag: the command-line option (None when the command line does not take it).
        type: the command-line parser's type (None for choices and switches).
        choices: the allowed names, from a registry (None when not a choice).
        command_line: the command line's default where it differs from the estimator's (the
            command line keeps ``optimizer="sgd"`` and ``alpha=1e-4``); :data:`SAME` otherwise.
    """

    name: str
    default: Any
    constraint: str
    validate: Callable[[Any, str], Any]
    help: str
    flag: str | None = None
    type: Callable[[str], Any] | None = None
    choices: Callable[[], list[str]] | None = None
    command_line: Any = SAME

    @property
    def cli_default(self) -> Any:
        """The command line's default."""
        return self.default if self.command_line == SAME else self.command_line

    def check(self, value: Any) -> Any:
        """``value`` if it is allowed; otherwise the error naming the hyperparameter."""
        self.validate(value, self.name)
        return value


def _or_none(check: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    return lambda value, name: value if value is None else check(value, name)


def _choice(names: Callable[[], list[str]], none: bool = False) -> Callable[[Any, str], Any]:
    def check(value: Any, name: str) -> Any:
        if value is None and none:
            return value
        if not isinstance(value, str) or value not in names():
            raise ValueError(f"{name}={value!r} is not supported; expected one of {names()}")
        return value

    return check


def _penalty(value: Any, name: str) -> Any:
    return get_penalty(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _verbosity(value: Any, name: str) -> Any:
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, numbers.Integral) and value >= 0):
        return value
    raise TypeError(f"{name} must be True, False or an integer >= 0, got {value!r}")


def _dtype(value: Any, name: str) -> Any:
    if value is None:
        return value
    try:
        found = np.dtype(value).name
    except TypeError:
        found = None
    if found not in DTYPES:
        raise ValueError(f"{name}={value!r} is not supported; expected None, 'float32' or 'float64'")
    return value


def _backend(value: Any, name: str) -> Any:
    if isinstance(value, str):
        return KERNELS.resolve(value)
    if value is not None and not isinstance(value, Kernels):
        raise TypeError(
            f"{name} must be None, a name in {KERNELS.names()} or an object implementing "
            f"linclass.kernels.Kernels, got {value!r}"
        )
    return value


def _device(value: Any, name: str) -> Any:
    if value is not None and not (isinstance(value, str) or type(value).__module__ == "torch"):
        raise TypeError(f"{name} must be None or a torch device ('cpu', 'cuda', 'cuda:1'), got {value!r}")
    return value


def _class_weight(value: Any, name: str) -> Any:
    if value is None or value == "balanced" or isinstance(value, dict):
        return value
    if isinstance(value, str):
        raise ValueError(
            f"{name}={value!r} is not supported; expected None, 'balanced' or a dict {{label: weight}}"
        )
    raise TypeError(f"{name} must be None, 'balanced' or a dict, got {value!r}")


def _random_state(value: Any, name: str) -> Any:
    return v.check_random_state(value)


def _positive(allow_zero: bool) -> Callable[[Any, str], float]:
    return lambda value, name: v.check_positive(value, name, allow_zero=allow_zero)


def _fraction(**bounds: bool) -> Callable[[Any, str], float]:
    return lambda value, name: v.check_fraction(value, name, **bounds)


def _classification_losses() -> list[str]:
    return loss_names("classification")


def _int(value: Any, name: str) -> int:
    return v.check_int(value, name)


_H = Hyperparameter
SCHEMA: tuple[Hyperparameter, ...] = (
    _H("loss", "softmax", "a classification loss in linclass.losses.LOSSES",
       _choice(_classification_losses), "loss", "--loss", choices=_classification_losses),
    _H("penalty", "l2", "a name in linclass.penalties.PENALTIES or None",
       _penalty, "regularizer", "--penalty", choices=PENALTIES.names),
    _H("alpha", None, "None (1 / (2 N), scikit-learn's C = 1) or a finite number >= 0",
       _or_none(_positive(True)), "regularization strength", "--alpha", float, command_line=1e-4),
    _H("l1_ratio", 0.15, "a number in [0, 1]",
       _fraction(), "elastic-net mixing", "--l1-ratio", float),
    _H("optimizer", "auto", "'auto' or a name in linclass.optim.OPTIMIZERS",
       _choice(lambda: ["auto", *OPTIMIZERS.names()]), "optimizer", "--optimizer", choices=OPTIMIZERS.names,
       command_line="sgd"),
    _H("max_iter", 1000, "an integer >= 1",
       _int, "most L-BFGS iterations (a run that stops unconverged warns)"),
    _H("learning_rate", 0.01, "a finite number > 0",
       _positive(False), "learning rate (the search scale sigma for the searches)", "--lr", float),
    _H("schedule", "cosine", "a name in linclass.optim.SCHEDULES",
       _choice(SCHEDULES.names), "learning-rate schedule of gd, sgd and adam (cosine decays over the run)",
       "--schedule", choices=SCHEDULES.names),
    _H("batch_size", 64, "an integer >= 1",
       _int, "samples per minibatch", "--batch-size", int),
    _H("epochs", 20, "an integer >= 1",
       _int, "passes over the data (L-BFGS: iterations)", "--epochs", int),
    _H("momentum", 0.9, "a number in [0, 1)",
       _fraction(high_open=True), "momentum of sgd and gd", "--momentum", float),
    _H("early_stopping", False, "True or False",
       _bool, "stop when the validation score stalls", "--early-stopping"),
    _H("validation_fraction", 0.1, "a number in (0, 1)",
       _fraction(low_open=True, high_open=True), "share of the training data held out for validation",
       "--val-fraction", float),
    _H("n_iter_no_change", 5, "an integer >= 1",
       _int, "early-stopping patience in epochs", "--patience", int),
    _H("tol", 1e-4, "a finite number >= 0",
       _positive(True), "improvement below which an epoch is no progress"),
    _H("class_weight", None, "None, 'balanced' or a dict {label: weight}",
       _class_weight, "per-class weights"),
    _H("preprocess", "standardize", "a name in linclass.preprocess.PREPROCESSORS",
       _choice(PREPROCESSORS.names), "input transform folded into the weights", "--preprocess",
       choices=PREPROCESSORS.names),
    _H("random_state", None, "None, an int or a numpy.random.Generator",
       _random_state, "random seed", "--seed", int),
    _H("dtype", None, "None, 'float32' or 'float64'",
       _dtype, "computation dtype", "--dtype", choices=lambda: list(DTYPES)),
    _H("verbose", False, "True, False or an integer >= 0",
       _verbosity, "progress bar on a terminal"),
    _H("backend", None, "None, a name in linclass.kernels.KERNELS or a Kernels object",
       _backend, "kernels doing the array work", "--backend", choices=KERNELS.names),
    _H("device", None, "None or a torch device ('cpu', 'cuda', 'cuda:1')",
       _device, "train with PyTorch on this device: cpu, cuda, cuda:1 (none: the CPU kernels)", "--device"),
)  # fmt: skip
HYPERPARAMETERS: dict[str, Hyperparameter] = {h.name: h for h in SCHEMA}


def parameter_constraints(names: Iterable[str]) -> dict[str, list[str]]:
    """scikit-learn-style ``_parameter_constraints`` for ``names``: name -> [what is allowed]."""
    return {name: [HYPERPARAMETERS[name].constraint] for name in names}


def validate(estimator: Any, names: Iterable[str]) -> None:
    """Check the hyperparameters ``names`` of ``estimator``; the first bad one raises its error."""
    for name in names:
        HYPERPARAMETERS[name].check(getattr(estimator, name))


def add_arguments(
    parser: argparse.ArgumentParser, names: Iterable[str], defaults: dict | None = None
) -> None:
    """Add the command-line options of the hyperparameters ``names`` to ``parser``.

    Each option's destination is the hyperparameter's name (``--lr`` fills ``args.learning_rate``)
    and its default is the schema's unless ``defaults`` gives another.
    """
    defaults = defaults or {}
    for name in names:
        h = HYPERPARAMETERS[name]
        default = defaults.get(name, h.cli_default)
        if h.flag is None:
            raise ValueError(f"hyperparameter {name!r} has no command-line option")
        if h.default is False:
            parser.add_argument(h.flag, dest=name, action="store_true", help=h.help)
            continue
        shown = "none" if default is None else default
        options: dict[str, Any] = {"dest": name, "default": default, "help": f"{h.help} (default: {shown})"}
        if h.choices is not None:
            options["choices"] = h.choices()
        if h.type is not None:
            options["type"] = h.type
        parser.add_argument(h.flag, **options)
