"""``TrainConfig``: everything that determines a training run, as plain data.

Kept free of heavy imports so the command line can read its defaults without loading the
library (see ``linclass.app.experiment`` for running one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

# Hyperparameter search (linclass.app.tune): strategies and the default grid.
SEARCHES = ("grid", "random")
DEFAULT_LEARNING_RATES = (1e-3, 1e-2, 1e-1)
DEFAULT_ALPHAS = (1e-4, 1e-3, 1e-2)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (the command line's options)."""

    data: str = "digits"
    loss: str = "softmax"
    penalty: str | None = "l2"
    alpha: float = 1e-4
    l1_ratio: float = 0.15
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    schedule: str = "cosine"
    epochs: int = 20
    batch_size: int = 64
    momentum: float = 0.9
    early_stopping: bool = False
    patience: int = 5
    val_fraction: float = 0.1
    test_data: str | None = None
    test_fraction: float = 0.0
    preprocess: str = "standardize"
    seed: int = 0
    dtype: str | None = None
    device: str | None = None

    def estimator(self):
        """A ``LinearClassifier`` with these settings."""
        from linclass.estimator import LinearClassifier

        return LinearClassifier(
            loss=self.loss,
            penalty=self.penalty,
            alpha=self.alpha,
            l1_ratio=self.l1_ratio,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            schedule=self.schedule,
            batch_size=self.batch_size,
            epochs=self.epochs,
            momentum=self.momentum,
            early_stopping=self.early_stopping,
            validation_fraction=self.val_fraction,
            n_iter_no_change=self.patience,
            preprocess=self.preprocess,
            random_state=self.seed,
            dtype=self.dtype,
            device=self.device,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training settings {unknown}; expected a subset of {sorted(known)}")
        return cls(**values)
