"""The template view of a linear classifier: each column of ``W`` shown as an image.

With ``scores = X @ W + b``, class ``c`` scores an image by its dot product with column
``W[:, c]``; reshaped to the image's shape, that column is a "template" the class matches
(the lecture's picture of CIFAR-10 templates: a blurry two-headed horse, a blue-ish plane).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from linclass.viz._figure import png_figure


def weight_templates(W: ArrayLike, image_shape: Sequence[int]) -> np.ndarray:
    """Reshape each column of ``W`` into an image, min-max scaled to 0..255 per template.

    ``template_c = 255 * (w_c - min(w_c)) / (max(w_c) - min(w_c))``; a constant column becomes
    mid-grey (128).

    Args:
        W: weights of shape ``(D, C)`` with ``D = prod(image_shape)``.
        image_shape: ``(H, W)`` for grey or ``(H, W, channels)`` with 1 or 3 channels; columns
            are reshaped in C order, matching ``images.reshape(N, -1)``.

    Returns:
        ``uint8`` array of shape ``(C, *image_shape)``.

    Example:
        >>> weight_templates(np.eye(4), (2, 2))[0]
        array([[255,   0],
               [  0,   0]], dtype=uint8)
    """
    weights = np.asarray(W)
    if weights.dtype.kind not in "biuf":
        raise TypeError(f"W must be a real numeric array, got dtype {weights.dtype}")
    if weights.ndim != 2:
        raise ValueError(f"W must be 2-D of shape (D, C), got an array of shape {weights.shape}")
    shape = _check_image_shape(image_shape)
    size = math.prod(shape)
    if weights.shape[0] != size:
        raise ValueError(
            f"W has {weights.shape[0]} rows (D) but image_shape {shape} holds {size} values; "
            f"expected W of shape ({size}, C) (drop a bias row folded in by the bias trick)"
        )
    if not np.isfinite(weights).all():
        raise ValueError("W contains NaN or inf values")
    columns = weights.T.astype(np.float64)
    low = columns.min(axis=1, keepdims=True)
    span = columns.max(axis=1, keepdims=True) - low
    scaled = np.divide(columns - low, span, out=np.full_like(columns, 128 / 255), where=span > 0)
    return np.round(255 * scaled).astype(np.uint8).reshape(-1, *shape)


def plot_weight_templates(
    W: ArrayLike,
    image_shape: Sequence[int],
    classes: Sequence,
    path: str | os.PathLike,
    *,
    ncols: int | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """Write a grid of the class templates of ``W`` (see :func:`weight_templates`) as a PNG.

    Args:
        W: weights of shape ``(D, C)``.
        image_shape: ``(H, W)`` or ``(H, W, channels)`` with ``prod(image_shape) == D``.
        classes: ``C`` class names (any values; shown with ``str``) used as tile titles.
        path: the PNG file to write (atomically).
        ncols: tiles per row; default ``min(C, 5)``.
        figsize: inches; default ``(1.7 * ncols, 1.9 * nrows + 0.4)``.
        dpi: pixels per inch.

    Returns:
        ``path`` as a ``pathlib.Path``.

    Example:
        >>> W = np.random.default_rng(0).normal(size=(8 * 8, 3))       # (D, C), one column per class
        >>> plot_weight_templates(W, (8, 8), ["zero", "one", "two"], "templates.png")
        PosixPath('templates.png')
    """
    templates = weight_templates(W, image_shape)
    names = [str(c) for c in classes]
    if len(names) != len(templates):
        raise ValueError(f"classes has {len(names)} names but W has {len(templates)} columns (C)")
    columns = min(len(templates), 5) if ncols is None else ncols
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols!r}")
    rows = math.ceil(len(templates) / columns)
    size = figsize if figsize is not None else (1.7 * columns, 1.9 * rows + 0.4)
    grey = templates.ndim == 3 or templates.shape[-1] == 1
    with png_figure(path, size, dpi) as figure:
        axes = figure.subplots(rows, columns, squeeze=False)
        for ax in axes.flat[len(names) :]:
            ax.set_axis_off()
        for ax, template, name in zip(axes.flat[: len(names)], templates, names, strict=True):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():  # a thin frame, so white template edges stay visible
                spine.set_visible(True)
                spine.set_color("0.75")
            if grey:
                ax.imshow(template.reshape(template.shape[:2]), cmap="gray", vmin=0, vmax=255,
                          interpolation="nearest")
            else:
                ax.imshow(template, interpolation="nearest")
            ax.set_title(name, fontsize=10, fontweight="normal")
        figure.suptitle("Weight templates")
    return Path(path)


def _check_image_shape(image_shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(n) for n in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (H, W) or (H, W, channels), got {image_shape!r}") from None
    valid = len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3))
    if not valid or min(shape) < 1 or any(int(n) != n for n in image_shape):
        raise ValueError(
            f"image_shape must be (H, W) or (H, W, channels) with 1 or 3 channels, got {image_shape!r}"
        )
    return shape
