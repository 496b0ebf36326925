"""The course's hand-made features: a histogram of oriented gradients and a hue histogram.

The histogram of oriented gradients (Dalal & Triggs 2005) is scikit-image's ``hog``, applied
image by image; the hue histogram counts, per image, the share of pixels whose HSV hue falls
in each of ``bins`` equal bins of ``[0, 1)``. ``hog_color()`` puts the two side by side, as the
course's features exercise does.
"""

from __future__ import annotations

import numpy as np
from sklearn.pipeline import FeatureUnion

from linclass._validation import check_int
from linclass.features._base import ImageFeatures


class HOG(ImageFeatures):
    """Histogram of oriented gradients of each image (scikit-image's ``skimage.feature.hog``).

    Gradients are taken per channel and, for RGB, the channel with the largest gradient
    magnitude is used at each pixel (Dalal & Triggs). Each ``pixels_per_cell`` cell votes the
    magnitudes into ``orientations`` unsigned-orientation bins; blocks of ``cells_per_block``
    cells are normalized with ``block_norm``. A 32×32 image with the defaults gives
    3 × 3 blocks × 2 × 2 cells × 9 bins = 324 features.

    Args:
        orientations: orientation bins per cell.
        pixels_per_cell: ``(rows, columns)`` of a cell.
        cells_per_block: ``(rows, columns)`` of cells in a normalization block.
        block_norm: ``"L1"``, ``"L1-sqrt"``, ``"L2"`` or ``"L2-Hys"``.
        chunk_size: images per chunk of ``transform``.
        verbose: draw a progress bar on a terminal.

    Shape:
        ``(N, H, W)`` or ``(N, H, W, 3)`` uint8 in, ``(N, n_features_out_)`` float32 out.

    Example:
        >>> HOG().fit_transform(np.zeros((2, 32, 32, 3), np.uint8)).shape
        (2, 324)
    """

    _label = "HOG"

    def __init__(
        self,
        *,
        orientations: int = 9,
        pixels_per_cell: tuple[int, int] = (8, 8),
        cells_per_block: tuple[int, int] = (2, 2),
        block_norm: str = "L2-Hys",
        chunk_size: int = 1000,
        verbose: bool = False,
    ) -> None:
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.chunk_size = chunk_size
        self.verbose = verbose

    def _fit_images(self, images: np.ndarray) -> int:
        check_int(self.orientations, "orientations")
        norms = ("L1", "L1-sqrt", "L2", "L2-Hys")
        if self.block_norm not in norms:
            raise ValueError(
                f"block_norm={self.block_norm!r} is not supported; expected one of {list(norms)}"
            )
        height, width = images.shape[1:3]
        cell, block = tuple(self.pixels_per_cell), tuple(self.cells_per_block)
        cells = (height // cell[0], width // cell[1])
        if cells[0] < block[0] or cells[1] < block[1]:
            raise ValueError(
                f"images of {height}x{width} pixels hold {cells[0]}x{cells[1]} cells of {cell} pixels, fewer "
                f"than one block of cells_per_block={block}; use smaller cells or blocks"
            )
        return len(self._hog(images[0]))

    def _hog(self, image: np.ndarray) -> np.ndarray:
        from skimage.feature import hog

        return hog(
            image,
            orientations=self.orientations,
            pixels_per_cell=tuple(self.pixels_per_cell),
            cells_per_block=tuple(self.cells_per_block),
            block_norm=self.block_norm,
            channel_axis=-1 if image.ndim == 3 else None,
            feature_vector=True,
        )

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self._hog(image) for image in images])


class ColorHistogram(ImageFeatures):
    """Share of each image's pixels in each of ``bins`` equal bins of HSV hue.

    ``hue = skimage.color.rgb2hsv(image)[..., 0]`` lies in ``[0, 1)``; feature ``k`` is the
    fraction of pixels with ``k / bins <= hue < (k + 1) / bins``, so each row sums to 1.

    Args:
        bins: number of hue bins.
        chunk_size: images per chunk of ``transform``.
        verbose: draw a progress bar on a terminal.

    Shape:
        ``(N, H, W, 3)`` uint8 in, ``(N, bins)`` float32 out.

    Example:
        >>> red = np.zeros((1, 4, 4, 3), np.uint8); red[..., 0] = 255
        >>> ColorHistogram(bins=4).fit_transform(red)
        array([[1., 0., 0., 0.]], dtype=float32)
    """

    _needs_rgb = True
    _label = "colour histogram"

    def __init__(self, *, bins: int = 10, chunk_size: int = 1000, verbose: bool = False) -> None:
        self.bins = bins
        self.chunk_size = chunk_size
        self.verbose = verbose

    def _fit_images(self, images: np.ndarray) -> int:
        return check_int(self.bins, "bins")

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        from skimage.color import rgb2hsv

        hue = rgb2hsv(images)[..., 0].reshape(len(images), -1)
        index = np.minimum((hue * self.bins).astype(np.int64), self.bins - 1)
        index += np.arange(len(images))[:, None] * self.bins
        counts = np.bincount(index.ravel(), minlength=len(images) * self.bins)
        return (counts.reshape(len(images), self.bins) / hue.shape[1]).astype(np.float32)


def hog_color(*, bins: int = 10, chunk_size: int = 1000, verbose: bool = False, **hog_params) -> FeatureUnion:
    """HOG and hue histogram side by side: ``[HOG(image), ColorHistogram(image)]`` per row.

    Args:
        bins: hue bins of the colour histogram.
        chunk_size, verbose: passed to both extractors.
        **hog_params: :class:`HOG` parameters (``orientations``, ``pixels_per_cell``, ...).

    Example:
        >>> hog_color().fit_transform(np.zeros((2, 32, 32, 3), np.uint8)).shape
        (2, 334)
    """
    return FeatureUnion(
        [
            ("hog", HOG(chunk_size=chunk_size, verbose=verbose, **hog_params)),
            ("color", ColorHistogram(bins=bins, chunk_size=chunk_size, verbose=verbose)),
        ]
    )
