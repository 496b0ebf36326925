"""A training run from a declarative configuration: data source, split, model, checkpoints.

This is what ``linclass train`` does, callable from Python:

    >>> from linclass.app.experiment import TrainConfig, train_model
    >>> run = train_model(TrainConfig(data="digits", optimizer="sgd", epochs=5))
    >>> round(run.accuracy["test"], 2)
    0.9

A checkpoint holds the configuration and the full ``TrainState``, so ``resume_training(path)``
needs nothing else: it reloads the same data, makes the same split and continues the run bit for
bit where it stopped.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from typing import NamedTuple

import numpy as np

from linclass import io
from linclass.app.config import TEST_FRACTION, SettingError, TrainConfig
from linclass.datasets import Dataset, load_source, train_val_split
from linclass.estimator import LinearClassifier
from linclass.schema import Fields
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


class Checkpoint(NamedTuple):
    """What a checkpoint holds: the run's configuration, its state and the model file it writes."""

    config: TrainConfig
    state: TrainState
    model_path: str | None  # absolute; None in checkpoints that did not record one


class TrainRun(NamedTuple):
    """A finished run: the fitted model, its data and its accuracies by split."""

    model: LinearClassifier
    splits: Splits
    accuracy: dict[str, float]


def prepare_data(config: TrainConfig) -> Splits:
    """Load ``config.data`` and split it into training, validation and test rows.

    The test rows are, in order of precedence: all rows of ``config.test_data`` (its test split
    when it has one), a seeded, stratified ``config.test_fraction`` of the source's rows (for a
    source without a test split), or the source's own test split (possibly empty). A seeded,
    stratified ``validation_fraction`` of the remaining rows is held out for validation.
    """
    TEST_FRACTION.check(config.test_fraction, "test_fraction")
    if config.test_data is not None and config.test_fraction:
        raise ValueError("test_data and test_fraction both choose the test rows; give one of them")
    dataset = load_source(config.data).flatten()
    X_pool, y_pool, X_test, y_test = dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test
    if config.test_data is not None:
        X_test, y_test = _second_source(config.test_data, dataset, config.data)
    elif config.test_fraction:
        if len(y_test):
            raise SettingError(
                "test_fraction", config.test_fraction,
                f"data {config.data!r} already has a test split ({len(y_test)} rows); a test fraction is "
                "for a source without one",
            )  # fmt: skip
        X_pool, y_pool, X_test, y_test = train_val_split(
            X_pool, y_pool, config.test_fraction, stratify=True, random_state=config.random_state
        )
    X_tr, y_tr, X_val, y_val = train_val_split(
        X_pool, y_pool, config.validation_fraction, stratify=True, random_state=config.random_state
    )
    return Splits(dataset, X_tr, y_tr, X_val, y_val, X_test, y_test)


def _second_source(spec: str, dataset: Dataset, data: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows of ``spec`` (its test split, or all its rows) with labels in ``dataset``'s classes."""
    other = load_source(spec).flatten()
    X, y = (other.X_test, other.y_test) if len(other.y_test) else (other.X_train, other.y_train)
    if X.shape[1] != dataset.X_train.shape[1]:
        raise SettingError(
            "test_data", spec,
            f"its rows have {X.shape[1]} features but those of data {data!r} have "
            f"{dataset.X_train.shape[1]}; expected the same",
        )  # fmt: skip
    index = {name: k for k, name in enumerate(dataset.classes)}
    unknown = [name for name in other.classes if name not in index]
    if unknown:
        raise SettingError(
            "test_data", spec,
            f"it has classes {', '.join(unknown)} that data {data!r} does not have "
            f"(its classes: {', '.join(dataset.classes)})",
        )  # fmt: skip
    to_train_classes = np.array([index[name] for name in other.classes], dtype=np.int64)
    return X, to_train_classes[y]


def train_model(
    config: TrainConfig,
    *,
    callbacks=(),
    checkpoint_path: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: TrainState | None = None,
    verbose: bool = False,
    splits: Splits | None = None,
    model_path: str | os.PathLike | None = None,
    backend=None,
) -> TrainRun:
    """Train a ``LinearClassifier`` as ``config`` says and measure its accuracy on every split.

    Args:
        callbacks: per-epoch callbacks (see ``linclass.train.fit``).
        checkpoint_path: where to write checkpoints (atomically) every ``checkpoint_every``
            epochs and on interruption (SIGINT/SIGTERM arrive as KeyboardInterrupt).
        resume: the ``TrainState`` of an interrupted run of the same configuration.
        splits: already prepared data (otherwise ``prepare_data(config)``).
        model_path: the model file the caller will write, recorded in the checkpoints so a
            resumed run writes the same file.
        backend: the estimator's ``backend`` (None: its default); ``"dask"`` trains on the
            active ``distributed.Client`` (the weights are the same bits for any worker count).
    """
    splits = prepare_data(config) if splits is None else splits
    model = config.estimator().set_params(verbose=verbose, backend=backend)
    checkpoint = None
    if checkpoint_path is not None:

        def checkpoint(state: TrainState) -> None:
            save_checkpoint(checkpoint_path, state, config, model_path=model_path)

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


def save_checkpoint(
    path: str | os.PathLike,
    state: TrainState,
    config: TrainConfig,
    *,
    model_path: str | os.PathLike | None = None,
) -> None:
    """Write ``state``, ``config`` and the run's ``model_path`` to ``path`` as a checkpoint, atomically."""
    arrays, state_metadata = state.to_bundle()
    metadata = {"format": CHECKPOINT_FORMAT, "config": config.to_dict(), "state": state_metadata}
    if model_path is not None:
        metadata["model_path"] = os.path.abspath(os.fspath(model_path))
    io.write_bundle(path, arrays, metadata, kind="checkpoint")


def read_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``; refuse anything else with a clear error."""
    if not os.path.lexists(path):
        raise FileNotFoundError(
            errno.ENOENT, "no such file; expected a checkpoint written by 'linclass train --checkpoint'",
            os.fspath(path),
        )
    arrays, metadata = io.read_bundle(path, kind="checkpoint")
    name = os.fspath(path)
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise io.ModelFileError(f"{name}: not a linclass training checkpoint")
    fields = Fields(metadata, name)
    fields.only({"format", "config", "state", "model_path"}, {"config", "state"})
    try:
        config = TrainConfig.from_dict(fields.sub("config").values)
        config.estimator()._check_hyperparameters()
        if not isinstance(config.data, str):
            raise TypeError(f"data must be a data spec string, got {config.data!r}")
    except (TypeError, ValueError, KeyError) as exc:
        raise io.ModelFileError(f"{name}: field config is refused ({exc})") from None
    state = TrainState.from_bundle(arrays, fields.sub("state").values, name, "state.")
    model_path = fields.str("model_path", optional=True)
    return Checkpoint(config, state, model_path)


def load_checkpoint(path: str | os.PathLike) -> tuple[TrainConfig, TrainState]:
    """The configuration and state of the checkpoint at ``path`` (see ``read_checkpoint``)."""
    config, state, _ = read_checkpoint(path)
    return config, state


def resume_training(
    path: str | os.PathLike,
    *,
    epochs: int | None = None,
    max_iter: int | None = None,
    device: str | None = None,
    **options,
) -> TrainRun:
    """Continue the run saved at ``path``; ``options`` as for ``train_model``.

    ``device`` (a torch device name) moves the rest of the run to another device; None keeps
    the run's own.

    Checkpoints go to ``path`` and record the checkpoint's model file unless ``options`` say
    otherwise. ``epochs`` extends (or keeps) the run's length (``max_iter`` that of an L-BFGS
    run); a schedule that decays over the run (cosine) then spans the new total from the step
    where the run stopped.
    """
    config, state, model_path = read_checkpoint(path)
    if epochs is not None:
        if epochs < state.epoch:
            raise ValueError(
                f"epochs={epochs} but the checkpoint {os.fspath(path)} has already run {state.epoch} epochs; "
                "expected at least that many"
            )
        config = dataclasses.replace(config, epochs=epochs)
    if max_iter is not None:
        config = dataclasses.replace(config, max_iter=max_iter)
    if device is not None:
        config = dataclasses.replace(config, device=device)
    options.setdefault("checkpoint_path", path)
    options.setdefault("model_path", model_path)
    return train_model(config, resume=state, **options)
