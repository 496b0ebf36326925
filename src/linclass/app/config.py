"""``TrainConfig``: everything that determines a training run, as plain data.

Its defaults come from the one hyperparameter table (``linclass.hyperparameters``); see
``linclass.app.experiment`` for running one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from linclass.hyperparameters import HYPERPARAMETERS

# Hyperparameter search (linclass.app.tune): strategies and the default grid.
SEARCHES = ("grid", "random")
DEFAULT_LEARNING_RATES = (1e-3, 1e-2, 1e-1)
DEFAULT_ALPHAS = (1e-4, 1e-3, 1e-2)


def _default(name: str) -> Any:
    return HYPERPARAMETERS[name].cli_default


# TrainConfig fields that the command line names differently from the estimator.
ESTIMATOR_NAMES = {
    "patience": "n_iter_no_change",
    "val_fraction": "validation_fraction",
    "seed": "random_state",
}
# Settings of the run that are no hyperparameters of the estimator.
RUN_SETTINGS = ("data", "test_data", "test_fraction")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (the command line's options).

    The hyperparameters' defaults and meaning are those of ``linclass.hyperparameters.SCHEMA``
    (``patience``, ``val_fraction`` and ``seed`` are its ``n_iter_no_change``,
    ``validation_fraction`` and ``random_state``; the command line seeds with 0).
    """

    data: str = "digits"
    loss: str = _default("loss")
    penalty: str | None = _default("penalty")
    alpha: float = _default("alpha")
    l1_ratio: float = _default("l1_ratio")
    optimizer: str = _default("optimizer")
    learning_rate: float = _default("learning_rate")
    schedule: str = _default("schedule")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    momentum: float = _default("momentum")
    early_stopping: bool = _default("early_stopping")
    patience: int = _default("n_iter_no_change")
    val_fraction: float = _default("validation_fraction")
    test_data: str | None = None
    test_fraction: float = 0.0
    preprocess: str = _default("preprocess")
    seed: int = 0
    dtype: str | None = _default("dtype")
    device: str | None = _default("device")

    def estimator(self):
        """A ``LinearClassifier`` with these settings."""
        from linclass.estimator import LinearClassifier

        settings = {
            ESTIMATOR_NAMES.get(field.name, field.name): getattr(self, field.name)
            for field in dataclasses.fields(self)
            if field.name not in RUN_SETTINGS
        }
        return LinearClassifier(**settings)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; expected a subset of {sorted(known)}")
        return cls(**values)
