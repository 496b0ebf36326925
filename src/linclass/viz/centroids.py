"""Learned k-means centroids as a mosaic of small images (the filters of Coates et al.'s Figure 1)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from linclass.viz._figure import png_figure


def centroid_mosaic(centroids: ArrayLike, patch_shape: Sequence[int], ncols: int, gap: int = 1) -> np.ndarray:
    """Tile centroids into one image, each stretched to the full 0..1 range on its own.

    Args:
        centroids: ``(K, p·p·c)``, rows flattened as ``(row, column, channel)``.
        patch_shape: ``(p, p)`` or ``(p, p, c)``.
        ncols: tiles per row.
        gap: white pixels between tiles.

    Returns:
        ``(rows·(p+gap)−gap, ncols·(p+gap)−gap, c)`` float in ``[0, 1]`` (``c`` = 1 for grey).
    """
    shape = tuple(int(n) for n in patch_shape)
    tiles = np.asarray(centroids, dtype=np.float64).reshape(
        -1, shape[0], shape[1], shape[2] if len(shape) == 3 else 1
    )
    low = tiles.min(axis=(1, 2, 3), keepdims=True)
    span = tiles.max(axis=(1, 2, 3), keepdims=True) - low
    tiles = (tiles - low) / np.where(span > 0, span, 1.0)
    rows = math.ceil(len(tiles) / ncols)
    step_r, step_c = shape[0] + gap, shape[1] + gap
    mosaic = np.ones((rows * step_r - gap, ncols * step_c - gap, tiles.shape[3]))
    for index, tile in enumerate(tiles):
        r, c = divmod(index, ncols)
        mosaic[r * step_r : r * step_r + shape[0], c * step_c : c * step_c + shape[1]] = tile
    return mosaic


def plot_centroids(
    centroids: ArrayLike,
    patch_shape: Sequence[int],
    path: str | os.PathLike,
    *,
    count: int = 256,
    title: str = "k-means centroids",
    dpi: int = 100,
) -> Path:
    """Write the first ``count`` centroids as a square-ish mosaic PNG.

    Args:
        centroids: ``(K, p·p·c)`` (for example ``KMeansFeatures().centroids_``, in whitened space).
        patch_shape: ``(p, p)`` or ``(p, p, c)``.
        path: the PNG to write (atomically).
        count: how many centroids to show.
        title: the figure title.
        dpi: pixels per inch.

    Example:
        >>> centroids = np.random.default_rng(0).normal(size=(16, 6 * 6 * 3))
        >>> plot_centroids(centroids, (6, 6, 3), "centroids.png")
        PosixPath('centroids.png')
        >>> open("centroids.png", "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """
    shown = np.asarray(centroids)[:count]
    ncols = math.ceil(math.sqrt(len(shown)))
    mosaic = centroid_mosaic(shown, patch_shape, ncols)
    with png_figure(path, (7.0, 7.4), dpi) as figure:
        ax = figure.add_subplot()
        ax.set_axis_off()
        if mosaic.shape[2] == 1:
            ax.imshow(mosaic[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(mosaic, interpolation="nearest")
        figure.suptitle(title)
    return Path(path)
