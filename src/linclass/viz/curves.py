"""Training curves: loss and accuracy per epoch, from a training history."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from linclass.viz._figure import png_figure


def plot_history(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    *,
    figsize: tuple[float, float] = (10.0, 4.0),
    dpi: int = 100,
) -> Path:
    """Write loss and accuracy curves of a training run as a PNG.

    Series whose name contains ``"loss"`` go to the left panel and those containing
    ``"acc"`` to the right panel, one point per epoch (epoch 1, 2, ...). Other keys (learning
    rate, timings) are ignored; NaN values leave gaps. A panel with no series is
    left out rather than drawn empty.

    Args:
        history: e.g. ``{"loss": [...], "train_accuracy": [...], "val_accuracy": [...]}``.
        path: the PNG file to write (atomically).
        figsize: inches.
        dpi: pixels per inch.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Example:
        >>> plot_history({"loss": [2.3, 1.9, 1.7], "val_accuracy": [0.3, 0.35, 0.38]},
        ...              "history.png")
        PosixPath('history.png')
    """
    if not isinstance(history, Mapping):
        raise TypeError(f"history must be a mapping of series names to lists, got {type(history).__name__}")
    plotted = [name for name in history if isinstance(name, str) and ("loss" in name or "acc" in name)]
    series = {name: _as_series(history[name], name) for name in plotted}
    series = {name: values for name, values in series.items() if values.size}
    losses = {name: v for name, v in series.items() if "loss" in name}
    accuracies = {name: v for name, v in series.items() if "acc" in name}
    if not losses and not accuracies:
        raise ValueError(f"history has no non-empty loss or accuracy series; got keys {list(history)}")
    panels = int(bool(losses)) + int(bool(accuracies))
    with png_figure(path, figsize, dpi) as figure:
        axes = list(figure.subplots(1, panels, squeeze=False)[0])
        if losses:
            _loss_panel(axes.pop(0), losses)
        if accuracies:
            _accuracy_panel(axes.pop(0), accuracies)
    return Path(path)


def _loss_panel(ax, losses: dict[str, np.ndarray]) -> None:
    for name, values in losses.items():
        ax.plot(_epochs(values), values, marker="o" if values.size <= 30 else None, markersize=4,
                label=_label(name))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("Loss")
    ax.legend()


def _accuracy_panel(ax, accuracies: dict[str, np.ndarray]) -> None:
    for name, values in accuracies.items():
        ax.plot(_epochs(values), values, marker="o" if values.size <= 30 else None, markersize=4,
                label=_label(name))
    finite = np.concatenate([v[np.isfinite(v)] for v in accuracies.values()])
    if finite.size and finite.min() >= 0 and finite.max() <= 1:
        ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy")
    ax.legend(loc="lower right")


def _epochs(values: np.ndarray) -> np.ndarray:
    return np.arange(1, values.size + 1)


def _label(name: str) -> str:
    return name.replace("_", " ")


def _as_series(values: Sequence[float], name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "biuf":
        raise ValueError(
            f"history[{name!r}] must be a 1-D list of numbers, got {array.dtype} array of shape {array.shape}"
        )
    return array.astype(np.float64)
