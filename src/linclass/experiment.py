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

import os
from typing import NamedTuple

import numpy as np

from linclass import io
from linclass.config import TrainConfig
from linclass.datasets import Dataset, load_source, train_val_split
from linclass.estimator import LinearClassifier
from linclass.train import TrainState

CHECKPOINT_FORMAT = "linclass-train-run"


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
