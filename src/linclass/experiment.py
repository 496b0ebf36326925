"""A training run from a declarative configuration: data source, split, model, checkpoints.

This is what ``linclass train`` does, callable from Python:

    >>> from linclass.experiment import TrainConfig, train_model
    >>> run = train_model(TrainConfig(data="digits", epochs=5))       # doctest: +SKIP
    >>> run.accuracy["test"]                                          # doctest: +SKIP
    0.95...

A checkpoint holds the configuration and the full ``TrainState``, so ``resume_training(path)``
needs nothing else: it reloads the same data, makes the same split and continues the run bit for
bit where it stopped.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from linclass import io
from linclass.datasets import Dataset, load_source, train_val_split
from linclass.estimator import LinearClassifier
from linclass.train import TrainState

CHECKPOINT_FORMAT = "linclass-train-run"


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
    schedule: str = "constant"
    epochs: int = 20
    batch_size: int = 200
    momentum: float = 0.9
    early_stopping: bool = False
    patience: int = 5
    val_fraction: float = 0.1
    preprocess: str = "standardize"
    seed: int = 0
    dtype: str | None = None

    def estimator(self) -> LinearClassifier:
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


class Splits(NamedTuple):
    """Train / validation / test parts of a data set, flattened to ``(N, D)``."""

    dataset: Dataset
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


class TrainRun(NamedTuple):
    """A finished run: the fitted model, its data and its accuracies by split."""

    model: LinearClassifier
    splits: Splits
    accuracy: dict[str, float]


def prepare_data(config: TrainConfig) -> Splits:
    """Load ``config.data`` and hold out a seeded, stratified ``val_fraction`` of its training part."""
    dataset = load_source(config.data)
    X_train = dataset.X_train.reshape(len(dataset.X_train), -1)
    X_test = dataset.X_test.reshape(len(dataset.X_test), -1)
    X_tr, y_tr, X_val, y_val = train_val_split(
        X_train, dataset.y_train, config.val_fraction, stratify=True, random_state=config.seed
    )
    return Splits(dataset, X_tr, y_tr, X_val, y_val, X_test, dataset.y_test)


def train_model(
    config: TrainConfig,
    *,
    callbacks=(),
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: TrainState | None = None,
    verbose: bool = False,
    splits: Splits | None = None,
) -> TrainRun:
    """Train a ``LinearClassifier`` as ``config`` says and measure its accuracy on every split.

    Args:
        callbacks: per-epoch callbacks (see ``linclass.train.fit``).
        checkpoint_path: where to write checkpoints (atomically) every ``checkpoint_every``
            epochs and on interruption (SIGINT/SIGTERM arrive as KeyboardInterrupt).
        resume: the ``TrainState`` of an interrupted run of the same configuration.
        splits: already prepared data (otherwise ``prepare_data(config)``).
    """
    splits = prepare_data(config) if splits is None else splits
    model = config.estimator().set_params(verbose=verbose)
    checkpoint = None
    if checkpoint_path is not None:

        def checkpoint(state: TrainState) -> None:
            save_checkpoint(checkpoint_path, state, config)

    validation = (splits.X_val, splits.y_val) if len(splits.y_val) else None
    model.fit(
        splits.X_train,
        splits.y_train,
        validation_data=validation,
        callbacks=callbacks,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every if checkpoint_path is not None else None,
        resume=resume,
    )
    model.class_names_ = tuple(splits.dataset.classes[int(c)] for c in model.classes_)
    model.image_shape_ = splits.dataset.image_shape
    accuracy = {"train": model.score(splits.X_train, splits.y_train)}
    if len(splits.y_val):
        accuracy["val"] = model.score(splits.X_val, splits.y_val)
    if len(splits.y_test):
        accuracy["test"] = model.score(splits.X_test, splits.y_test)
    return TrainRun(model, splits, accuracy)


def save_checkpoint(path: str | os.PathLike, state: TrainState, config: TrainConfig) -> None:
    """Write ``state`` and ``config`` to ``path`` as a checkpoint bundle, atomically."""
    arrays, state_metadata = state.to_bundle()
    metadata = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "state": state_metadata}
    io.write_bundle(path, arrays, metadata, kind="checkpoint")


def load_checkpoint(path: str | os.PathLike) -> tuple[TrainConfig, TrainState]:
    """Read a checkpoint written by ``save_checkpoint``; refuse anything else with a clear error."""
    arrays, metadata = io.read_bundle(path, kind="checkpoint")
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise io.ModelFileError(f"{os.fspath(path)}: not a linclass training checkpoint")
    try:
        config = TrainConfig.from_dict(metadata["config"])
        state = TrainState.from_bundle(arrays, metadata["state"])
    except (KeyError, TypeError, ValueError) as exc:
        raise io.ModelFileError(f"{os.fspath(path)}: damaged checkpoint ({exc})") from exc
    return config, state


def resume_training(path: str | os.PathLike, **options) -> TrainRun:
    """Continue the run saved at ``path``; ``options`` as for ``train_model`` (checkpoints go to ``path``)."""
    config, state = load_checkpoint(path)
    options.setdefault("checkpoint_path", path)
    return train_model(config, resume=state, **options)
