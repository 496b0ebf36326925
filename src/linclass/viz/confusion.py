"""The confusion matrix as an annotated heatmap."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from linclass.viz._figure import png_figure

_MAX_ANNOTATED_CLASSES = 30


def plot_confusion_matrix(
    cm: ArrayLike,
    classes: Sequence,
    path: str | os.PathLike,
    *,
    normalize: bool = False,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """Write a confusion matrix heatmap with class names and per-cell values as a PNG.

    Rows are true classes and columns predicted classes (scikit-learn's convention):
    ``cm[i, j]`` counts samples of class ``i`` predicted as ``j``. With ``normalize=True``
    each row is divided by its sum, so the diagonal is the per-class recall (a row with no
    samples stays 0). Cells are annotated for up to 30 classes.

    Args:
        cm: counts of shape ``(C, C)``, non-negative.
        classes: ``C`` class names (shown with ``str``).
        path: the PNG file to write (atomically).
        normalize: show row fractions instead of counts.
        figsize: inches; default grows with ``C`` (``max(5, 0.55 * C + 2.5)`` square-ish).
        dpi: pixels per inch.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Example:
        >>> plot_confusion_matrix([[5, 1], [2, 7]], ["cat", "dog"], "cm.png")
        PosixPath('cm.png')
    """
    counts = np.asarray(cm)
    if counts.dtype.kind not in "biuf":
        raise TypeError(f"cm must be a numeric array, got dtype {counts.dtype}")
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
        raise ValueError(f"cm must be a square (C, C) array with C >= 1, got shape {counts.shape}")
    if not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("cm must hold finite non-negative values")
    names = [str(c) for c in classes]
    n_classes = counts.shape[0]
    if len(names) != n_classes:
        raise ValueError(f"classes has {len(names)} names but cm is {n_classes}x{n_classes}")
    values = counts.astype(np.float64)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    side = max(5.0, 0.55 * n_classes + 2.5)
    size = figsize if figsize is not None else (side + 1.0, side)
    with png_figure(path, size, dpi) as figure:
        ax = figure.add_subplot()
        # aspect="auto": constrained layout cannot place labels around a fixed-aspect image.
        vmax = 1.0 if normalize else max(values.max(), 1.0)
        image = ax.imshow(values, cmap="Blues", vmin=0, vmax=vmax, aspect="auto")
        figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                        label="fraction of the true class" if normalize else "samples")
        ticks = np.arange(n_classes)
        ax.set_xticks(ticks, names, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticks(ticks, names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.grid(False)
        ax.set_title("Confusion matrix" + (" (normalized by row)" if normalize else ""))
        if n_classes <= _MAX_ANNOTATED_CLASSES:
            _annotate(ax, values, normalize, image.norm)
    return Path(path)


def _annotate(ax, values: np.ndarray, normalize: bool, norm) -> None:
    fontsize = 9 if values.shape[0] <= 12 else 7
    for (i, j), value in np.ndenumerate(values):
        if normalize:
            text = f"{value:.2f}"
        else:
            text = f"{int(value)}" if float(value).is_integer() else f"{value:.3g}"
        colour = "white" if norm(value) > 0.55 else "black"
        ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=fontsize)
