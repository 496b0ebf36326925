"""The linear probe's validation curve: accuracy on the validation split against ``C``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from linclass.viz._figure import png_figure


def plot_validation_curve(
    Cs: Sequence[float],
    accuracies: Sequence[float],
    path: str | os.PathLike,
    *,
    chosen: float | None = None,
    title: str = "linear probe: validation accuracy against C",
    figsize: tuple[float, float] = (7.0, 4.0),
    dpi: int = 100,
) -> Path:
    """Write validation accuracy against the inverse strength ``C`` (log axis) as a PNG.

    Args:
        Cs, accuracies: the points of the search, ``(n,)`` each (any order; drawn sorted by ``C``).
        path: the PNG file to write (atomically).
        chosen: the ``C`` picked, marked with a vertical line and its accuracy.

    Example:
        >>> plot_validation_curve([0.1, 1.0, 10.0], [0.90, 0.95, 0.93], "curve.png", chosen=1.0)
        PosixPath('curve.png')
    """
    Cs, accuracies = np.asarray(Cs, dtype=np.float64), np.asarray(accuracies, dtype=np.float64)
    if Cs.ndim != 1 or Cs.shape != accuracies.shape or Cs.size == 0 or np.any(Cs <= 0):
        raise ValueError(
            f"Cs and accuracies must be non-empty 1-D of equal length with Cs > 0, got shapes "
            f"{Cs.shape} and {accuracies.shape}"
        )
    order = np.argsort(Cs)
    with png_figure(path, figsize, dpi) as figure:
        axes = figure.subplots()
        axes.plot(Cs[order], accuracies[order], marker="o", markersize=4, label="validation accuracy")
        if chosen is not None:
            best = accuracies[np.argmin(np.abs(np.log(Cs) - np.log(chosen)))]
            axes.axvline(chosen, color="#d62728", linestyle="--", linewidth=1.2,
                         label=f"chosen C = {chosen:.3g} ({best:.4f})")  # fmt: skip
        axes.set_xscale("log")
        axes.set_xlabel("C (inverse regularization strength; alpha = 1 / (2 C N))")
        axes.set_ylabel("validation accuracy")
        axes.set_title(title)
        axes.legend(loc="lower center")
    return Path(path)
