"""``TrainConfig``: everything that determines a training run, as plain data.

Its defaults come from the one hyperparameter table (``linclass.hyperparameters``); see
``linclass.app.experiment`` for running one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from linclass._validation import Range
from linclass.hyperparameters import HYPERPARAMETERS

# Hyperparameter search (linclass.app.tune): strategies and the default grid.
SEARCHES = ("grid", "random")
DEFAULT_LEARNING_RATES = (1e-3, 1e-2, 1e-1)
DEFAULT_ALPHAS = (1e-4, 1e-3, 1e-2)


def _default(name: str) -> Any:
    return HYPERPARAMETERS[name].cli_default


#: The keys that configurations written before the one vocabulary used, read as today's names.
FORMER_NAMES = {"patience": "n_iter_no_change", "val_fraction": "validation_fraction", "seed": "random_state"}
# Settings of the run that are no hyperparameters of the estimator.
RUN_SETTINGS = ("data", "test_data", "test_fraction")
#: The allowed share of rows held out as the test split (0: none).
TEST_FRACTION = Range(0, 1, high_open=True)


class SettingError(ValueError):
    """A setting that cannot work with the data or with the other settings, found as the run starts.

    The message names the setting (``test_fraction=0.2: data 'digits' already has a test
    split ...``); the command line names the flag the user typed instead, from ``setting``,
    ``value`` and ``problem``.
    """

    def __init__(self, setting: str, value: Any, problem: str) -> None:
        super().__init__(f"{setting}={value!r}: {problem}")
        self.setting, self.value, self.problem = setting, value, problem


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (the command line's options).

    The hyperparameters' names, defaults and meaning are those of
    ``linclass.hyperparameters.SCHEMA`` (the estimator's names; the command line seeds with
    ``random_state=0``). ``data``, ``test_data`` and ``test_fraction`` choose the rows.
    """

    data: str = "digits"
    loss: str = _default("loss")
    penalty: str | None = _default("penalty")
    alpha: float = _default("alpha")
    l1_ratio: float = _default("l1_ratio")
    penalize_intercept: bool = _default("penalize_intercept")
    optimizer: str = _default("optimizer")
    max_iter: int = _default("max_iter")
    learning_rate: float = _default("learning_rate")
    schedule: str = _default("schedule")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    momentum: float = _default("momentum")
    early_stopping: bool = _default("early_stopping")
    n_iter_no_change: int = _default("n_iter_no_change")
    validation_fraction: float = _default("validation_fraction")
    test_data: str | None = None
    test_fraction: float = 0.0
    preprocess: str = _default("preprocess")
    random_state: int = _default("random_state")
    dtype: str | None = _default("dtype")
    device: str | None = _default("device")

    def estimator(self):
        """A ``LinearClassifier`` with these settings."""
        from linclass.estimator import LinearClassifier

        settings = {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in RUN_SETTINGS
        }
        return LinearClassifier(**settings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The configuration ``to_dict`` wrote; keys of :data:`FORMER_NAMES` are read as today's."""
        known = {f.name for f in dataclasses.fields(cls)}
        renamed = {FORMER_NAMES.get(key, key): value for key, value in values.items()}
        twice = sorted(key for key in FORMER_NAMES if key in values and FORMER_NAMES[key] in values)
        if twice:
            names = [FORMER_NAMES[key] for key in twice]
            raise ValueError(f"settings {twice} are the former names of {names}; give one")
        unknown = sorted(set(renamed) - known)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; expected a subset of {sorted(known)}")
        return cls(**renamed)
