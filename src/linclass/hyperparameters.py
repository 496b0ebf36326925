"""The one table of hyperparameters: name, default, allowed values, help text, command-line flag.

The estimators' validation (:func:`validate`, and ``_parameter_constraints`` in scikit-learn's
style), the training configuration (``linclass.app.config.TrainConfig``) and the command line's
shared options (:func:`add_arguments`) all derive from :data:`SCHEMA`, so a hyperparameter is
named, defaulted, checked and documented once. Choices come from the registries, so a newly
registered loss, optimizer or schedule is accepted everywhere at once; a numeric
hyperparameter's ``Range`` is both the estimators' check and the command line's.

One vocabulary: the names are the estimator's, scikit-learn's where scikit-learn has the
hyperparameter (``learning_rate``, ``validation_fraction``, ``n_iter_no_change``,
``random_state``, ``max_iter``); ``TrainConfig`` has the same fields and the command line the
same names with dashes (``--learning-rate``), with the earlier short flags as aliases
(``--lr``, ``--val-fraction``, ``--patience``, ``--seed``). :func:`ignored` says which of them
have no effect with the others.

    >>> HYPERPARAMETERS["alpha"].check(-1.0)
    Traceback (most recent call last):
    ...
    ValueError: alpha must be a finite number >= 0, got -1.0
"""

from __future__ import annotations

import argparse
import numbers
from collections.abc import Callable, Iterable, Mapping
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

    Its name is the one vocabulary: the estimator's argument (scikit-learn's name where
    scikit-learn has the hyperparameter), the ``TrainConfig`` field and, with dashes, the
    command-line option (``learning_rate``, ``--learning-rate``).

    Attributes:
        name: the estimator's argument and ``TrainConfig`` field.
        default: the ``LinearClassifier`` default.
        help: one line for ``--help``.
        rule: the allowed numbers (a :class:`linclass._validation.Range`) of a numeric
            hyperparameter; its library check and its command-line check both come from it.
        validate: ``validate(value, name)`` raising ValueError/TypeError naming the argument
            (default: ``rule.check``).
        allowed: what is allowed, in words, where ``rule`` does not say it all.
        choices: the allowed names, from a registry (None when not a choice).
        option: whether the command line has the option.
        aliases: shorter flags kept for the option (``--lr`` for ``--learning-rate``).
        metavar: the value's name in ``--help`` (None: the name in capitals).
        command_line: the command line's default where it differs from the estimator's (the
            command line keeps ``optimizer="sgd"``, ``alpha=1e-4`` and seeds with 0);
            :data:`SAME` otherwise.
    """

    name: str
    default: Any
    help: str
    rule: v.Range | None = None
    validate: Callable[[Any, str], Any] | None = None
    allowed: str | None = None
    choices: Callable[[], list[str]] | None = None
    option: bool = True
    aliases: tuple[str, ...] = ()
    metavar: str | None = None
    command_line: Any = SAME

    @property
    def flag(self) -> str:
        """The command-line option: the name with dashes (``--learning-rate``)."""
        return "--" + self.name.replace("_", "-")

    @property
    def flags(self) -> tuple[str, ...]:
        """The option and its aliases (``("--learning-rate", "--lr")``)."""
        return (self.flag, *self.aliases)

    @property
    def constraint(self) -> str:
        """What is allowed, in words (scikit-learn's ``_parameter_constraints`` entry)."""
        return self.allowed or self.rule.describe()

    @property
    def cli_default(self) -> Any:
        """The command line's default."""
        return self.default if self.command_line == SAME else self.command_line

    def check(self, value: Any) -> Any:
        """``value`` if it is allowed; otherwise the error naming the hyperparameter."""
        (self.validate or self.rule.check)(value, self.name)
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


def _classification_losses() -> list[str]:
    return loss_names("classification")


POSITIVE = v.Range(0, low_open=True)
NON_NEGATIVE = v.Range(0)
COUNT = v.Range(1, integer=True)

_H = Hyperparameter
SCHEMA: tuple[Hyperparameter, ...] = (
    _H("loss", "softmax", "loss", validate=_choice(_classification_losses),
       allowed="a classification loss in linclass.losses.LOSSES", choices=_classification_losses),
    _H("penalty", "l2", "regularizer", validate=_penalty,
       allowed="a name in linclass.penalties.PENALTIES or None", choices=PENALTIES.names),
    _H("alpha", None, "regularization strength", NON_NEGATIVE, _or_none(NON_NEGATIVE.check),
       allowed="None (1 / (2 N), scikit-learn's C = 1) or a finite number >= 0", command_line=1e-4),
    _H("l1_ratio", 0.15, "elastic-net mixing (with --penalty elasticnet)", v.Range(0, 1)),
    _H("penalize_intercept", False, "penalize the intercept as well: + alpha |b|^2 (LinearSVC's "
       "intercept_scaling=1; L2 penalty, L-BFGS)", validate=_bool, allowed="True or False"),
    _H("optimizer", "auto", "optimizer", validate=_choice(lambda: ["auto", *OPTIMIZERS.names()]),
       allowed="'auto' or a name in linclass.optim.OPTIMIZERS", choices=OPTIMIZERS.names, command_line="sgd"),
    _H("max_iter", 1000, "most L-BFGS iterations (a run that stops unconverged warns)", COUNT),
    _H("learning_rate", 0.01, "learning rate (the search scale sigma for the searches)", POSITIVE,
       aliases=("--lr",), metavar="LR"),
    _H("schedule", "cosine", "learning-rate schedule of gd, sgd and adam (cosine decays over the run)",
       validate=_choice(SCHEDULES.names), allowed="a name in linclass.optim.SCHEDULES",
       choices=SCHEDULES.names),
    _H("batch_size", 64, "samples per minibatch (sgd, adam)", COUNT),
    _H("epochs", 20, "passes over the data (sgd, adam), steps (gd and the searches)", COUNT),
    _H("momentum", 0.9, "momentum of sgd and gd", v.Range(0, 1, high_open=True)),
    _H("early_stopping", False, "stop when the validation score stalls", validate=_bool,
       allowed="True or False"),
    _H("validation_fraction", 0.1, "share of the training data held out for validation",
       v.Range(0, 1, low_open=True, high_open=True), aliases=("--val-fraction",), metavar="F"),
    _H("n_iter_no_change", 5, "early-stopping patience in epochs (with --early-stopping)", COUNT,
       aliases=("--patience",), metavar="N"),
    _H("tol", 1e-4, "improvement below which an epoch is no progress; L-BFGS: largest gradient component",
       NON_NEGATIVE),
    _H("class_weight", None, "per-class weights", validate=_class_weight,
       allowed="None, 'balanced' or a dict {label: weight}", option=False),
    _H("preprocess", "standardize", "input transform folded into the weights",
       validate=_choice(PREPROCESSORS.names), allowed="a name in linclass.preprocess.PREPROCESSORS",
       choices=PREPROCESSORS.names),
    _H("random_state", None, "random seed", v.Range(0, integer=True), _random_state,
       allowed="None, an int or a numpy.random.Generator", aliases=("--seed",), metavar="SEED",
       command_line=0),
    _H("dtype", None, "computation dtype", validate=_dtype, allowed="None, 'float32' or 'float64'",
       choices=lambda: list(DTYPES)),
    _H("verbose", False, "progress bar on a terminal", validate=_verbosity,
       allowed="True, False or an integer >= 0", option=False),
    _H("backend", None, "kernels doing the array work", validate=_backend,
       allowed="None, a name in linclass.kernels.KERNELS or a Kernels object", choices=KERNELS.names),
    _H("device", None, "train with PyTorch on this device: cpu, cuda, cuda:1 (none: the CPU kernels)",
       validate=_device, allowed="None or a torch device ('cpu', 'cuda', 'cuda:1')"),
)  # fmt: skip
HYPERPARAMETERS: dict[str, Hyperparameter] = {h.name: h for h in SCHEMA}


def parameter_constraints(names: Iterable[str]) -> dict[str, list[str]]:
    """scikit-learn-style ``_parameter_constraints`` for ``names``: name -> [what is allowed]."""
    return {name: [HYPERPARAMETERS[name].constraint] for name in names}


def validate(estimator: Any, names: Iterable[str]) -> None:
    """Check the hyperparameters ``names`` of ``estimator``; the first bad one raises its error."""
    for name in names:
        HYPERPARAMETERS[name].check(getattr(estimator, name))


def ignored(settings: Mapping[str, Any]) -> dict[str, str]:
    """The hyperparameters that have no effect under ``settings``, each with the one that rules it out.

    ``settings`` maps names to values, ``optimizer`` a registered name (not ``"auto"``). What an
    optimizer uses comes from its spec in ``linclass.optim.OPTIMIZERS``: a step size
    (``learning_rate``), a schedule, minibatches (``batch_size``), the shared ``momentum`` and
    ``max_iter``; an optimizer with ``max_iter`` counts iterations instead of ``epochs``.
    ``l1_ratio`` needs the elastic net and ``n_iter_no_change`` early stopping. The estimators
    ignore such values, as scikit-learn does; the command line refuses them when typed.

        >>> ignored({"optimizer": "lbfgs", "penalty": "l2", "early_stopping": True})
        {'learning_rate': 'optimizer', 'schedule': 'optimizer', 'batch_size': 'optimizer', \
'momentum': 'optimizer', 'epochs': 'optimizer', 'l1_ratio': 'penalty'}
    """
    spec = OPTIMIZERS.resolve(settings["optimizer"])
    unused = {
        "learning_rate": spec.step_size is None,
        "schedule": not spec.scheduled,
        "batch_size": spec.data != "minibatch",
        "momentum": "momentum" not in spec.shared,
        "epochs": "max_iter" in spec.shared,
        "max_iter": "max_iter" not in spec.shared,
    }
    causes = {name: "optimizer" for name, unused_here in unused.items() if unused_here}
    if get_penalty(settings.get("penalty", "l2")).name != "elasticnet":
        causes["l1_ratio"] = "penalty"
    if not settings.get("early_stopping", False):
        causes["n_iter_no_change"] = "early_stopping"
    return causes


def add_arguments(
    parser: argparse.ArgumentParser,
    names: Iterable[str],
    defaults: dict | None = None,
    helps: dict | None = None,
) -> None:
    """Add the command-line options of the hyperparameters ``names`` to ``parser``.

    Each option is the hyperparameter's flag and aliases (``--learning-rate``, ``--lr``), its
    destination the hyperparameter's name (``args.learning_rate``), its type ``int`` or
    ``float`` from its rule, its choices from its registry, and its default and help the
    schema's unless ``defaults`` or ``helps`` give others (``linclass.cli`` adds the default
    to the help, and checks the value against the rule as it is parsed).
    """
    defaults, helps = defaults or {}, helps or {}
    for name in names:
        h = HYPERPARAMETERS[name]
        if not h.option:
            raise ValueError(f"hyperparameter {name!r} has no command-line option")
        if h.default is False:
            parser.add_argument(*h.flags, dest=name, action="store_true", help=helps.get(name, h.help))
            continue
        options: dict[str, Any] = {"dest": name, "default": defaults.get(name, h.cli_default)}
        options["help"] = helps.get(name, h.help)
        if h.choices is not None:
            options["choices"] = h.choices()
        if h.rule is not None:
            options["type"] = int if h.rule.integer else float
        if h.metavar is not None:
            options["metavar"] = h.metavar
        parser.add_argument(*h.flags, **options)
