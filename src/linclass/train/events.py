"""What the loop tells its caller: the per-epoch event, the result and the two ways training ends early."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from linclass.train.state import TrainState

Params = tuple[np.ndarray, ...]


class StopTraining(Exception):
    """Raised by a callback to end training after the current epoch (returning False does the same)."""


class DivergenceError(ValueError):
    """The loss or the weights became NaN or infinite.

    Attributes:
        params: the last finite ``(W, b)``, so the caller keeps usable weights.
        epoch: 1-based epoch of the failing step.
        step: 1-based step within that epoch.
    """

    def __init__(self, message: str, *, params: Params, epoch: int, step: int) -> None:
        super().__init__(message)
        self.params = params
        self.epoch = epoch
        self.step = step


@dataclass(frozen=True)
class EpochEnd:
    """Passed to every callback after each epoch.

    Attributes:
        epoch: the 1-based number of the epoch that just ended.
        metrics: this epoch's values, keyed like ``history``.
        history: per-epoch lists so far (do not modify).
        params: the current ``(W, b)``.
        state: the full :class:`TrainState`, e.g. to save a checkpoint.
    """

    epoch: int
    metrics: dict
    history: dict
    params: Params
    state: TrainState


class TrainResult(NamedTuple):
    """What :func:`linclass.train.fit` returns.

    Attributes:
        params: the trained ``(W, b)``: the best validation epoch's with early stopping, else the last.
        history: per-epoch lists (see ``fit``).
        n_iter: epochs run, resumed ones included.
        best_epoch: the 1-based epoch whose weights are ``params``.
        state: the final :class:`TrainState` (last epoch's weights), to resume from.
    """

    params: Params
    history: dict
    n_iter: int
    best_epoch: int
    state: TrainState

