"""The array work of k-means features: patches, their normalization, and triangle activation with pooling.

Every image of a chunk is cut into all its ``p×p`` patches at stride ``s`` (a view, then one
copy into a ``(n_patches, p·p·channels)`` matrix), each patch is normalized, whitened and
compared with every centroid in one matrix product, and the activations are summed over the
image's pooling regions. The first and the last step each exist twice with the same numbers:
in NumPy (:func:`extract_patches` then :func:`normalize_patches`; :func:`triangle_pool_reference`,
a matrix product with a 0/1 pooling matrix) and as fused Numba kernels (one pass per patch;
no ``(n_patches, K)`` activations). :func:`normalized_patches` and :func:`triangle_pool` pick
the kernels when Numba is installed and ``LINCLASS_DISABLE_NUMBA`` is not set.
"""

from __future__ import annotations

import os
from importlib.util import find_spec

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def extract_patches(images: np.ndarray, size: int, stride: int = 1) -> np.ndarray:
    """All ``size×size`` patches of each image, at ``stride``, one patch per row.

    Args:
        images: ``(B, H, W)`` or ``(B, H, W, c)``.
        size: the patch side ``p``.
        stride: the step between patch corners.

    Returns:
        ``(B · r · q, p · p · c)`` float32 with ``r = (H − p) // stride + 1`` (``q`` likewise for
        ``W``), patches in row-major order of their corners, each flattened as ``(row, column,
        channel)``.
    """
    if images.ndim == 3:
        images = images[..., None]
    windows = sliding_window_view(images, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    # windows: (B, r, q, c, p, p) -> rows of (p, p, c)
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, size * size * images.shape[3]).astype(np.float32)


def normalize_patches(patches: np.ndarray, epsilon: float) -> np.ndarray:
    """Brightness and contrast normalization, in place: ``x ← (x − mean(x)) / sqrt(var(x) + ε)``.

    Mean and variance are over each row (the unbiased variance, ``ddof=1``); ``ε`` (10 for
    pixels in 0..255, as Coates et al.) keeps flat patches from being blown up into noise.
    """
    patches -= patches.mean(axis=1, keepdims=True)
    patches /= np.sqrt(patches.var(axis=1, ddof=1, keepdims=True) + epsilon)
    return patches


def normalized_patches(images: np.ndarray, size: int, stride: int, epsilon: float) -> np.ndarray:
    """:func:`normalize_patches` of :func:`extract_patches`, by the fused Numba kernel where it is available.

    Args:
        images: ``(B, H, W)`` or ``(B, H, W, c)`` uint8.
        size, stride: as :func:`extract_patches`; epsilon: as :func:`normalize_patches`.

    Returns:
        ``(B · r · q, p · p · c)`` float32.
    """
    if not numba_enabled():
        return normalize_patches(extract_patches(images, size, stride), epsilon)
    from linclass.features._dense_numba import normalized_patches_fused

    if images.ndim == 3:
        images = images[..., None]
    rows = (images.shape[1] - size) // stride + 1
    columns = (images.shape[2] - size) // stride + 1
    out = np.empty((len(images) * rows * columns, size * size * images.shape[3]), dtype=np.float32)
    normalized_patches_fused(np.ascontiguousarray(images, dtype=np.uint8), size, stride, float(epsilon), out)
    return out


def pooling_regions(rows: int, columns: int, grid: int) -> np.ndarray:
    """The pooling region of each patch position: ``(rows · columns,)`` ints in ``0..grid²−1``.

    The ``rows × columns`` grid of patch positions is cut into ``grid × grid`` regions at
    ``round(i · rows / grid)`` (halves rounded up): for 27 positions and ``grid=2`` the first
    region holds positions 0..13, as in Coates et al.'s code.
    """
    row_region = np.searchsorted(np.floor(np.arange(1, grid) * rows / grid + 0.5), np.arange(rows), "right")
    col_region = np.searchsorted(
        np.floor(np.arange(1, grid) * columns / grid + 0.5), np.arange(columns), "right"
    )
    return (row_region[:, None] * grid + col_region[None, :]).ravel().astype(np.int64)


def triangle_pool_reference(
    products: np.ndarray, patch_sq: np.ndarray, centroid_sq: np.ndarray, regions: np.ndarray, n_regions: int
) -> np.ndarray:
    """Triangle activation summed over pooling regions, in NumPy.

    With ``z_k = ||x − c_k|| = sqrt(||x||² − 2 x·c_k + ||c_k||²)``, the activation of a patch
    ``x`` is ``f_k = max(0, mean_k(z) − z_k)``: centroids nearer than average fire, the others
    are 0. Each image's ``f`` are summed over its pooling regions.

    Args:
        products: ``(B · P, K)`` the products ``x · c_k`` of the ``P`` patches of ``B`` images.
        patch_sq: ``(B · P,)`` ``||x||²``.
        centroid_sq: ``(K,)`` ``||c_k||²``.
        regions: ``(P,)`` the pooling region of each patch position.
        n_regions: ``R``.

    Returns:
        ``(B, R · K)`` float32: region-major, ``out[b, r · K + k]`` sums ``f_k`` over region ``r``.
    """
    distance = patch_sq[:, None] - 2.0 * products + centroid_sq[None, :]
    np.sqrt(np.maximum(distance, 0.0, out=distance), out=distance)
    activation = np.maximum(distance.mean(axis=1, keepdims=True) - distance, 0.0)
    n_positions, n_centroids = len(regions), products.shape[1]
    pool = np.zeros((n_regions, n_positions), dtype=activation.dtype)
    pool[regions, np.arange(n_positions)] = 1.0
    pooled = pool @ activation.reshape(-1, n_positions, n_centroids)  # (B, R, K)
    return pooled.reshape(len(pooled), n_regions * n_centroids).astype(np.float32, copy=False)


def numba_enabled() -> bool:
    """True when the fused kernel is used: Numba is installed and ``LINCLASS_DISABLE_NUMBA`` is unset."""
    disabled = os.environ.get("LINCLASS_DISABLE_NUMBA", "").strip().lower() in ("1", "true", "yes")
    return not disabled and find_spec("numba") is not None


def triangle_pool(
    products: np.ndarray, patch_sq: np.ndarray, centroid_sq: np.ndarray, regions: np.ndarray, n_regions: int
) -> np.ndarray:
    """:func:`triangle_pool_reference`, by the fused Numba kernel where it is available."""
    if not numba_enabled():
        return triangle_pool_reference(products, patch_sq, centroid_sq, regions, n_regions)
    from linclass.features._dense_numba import triangle_pool_fused

    n_images = len(products) // len(regions)
    out = np.zeros((n_images, n_regions, products.shape[1]), dtype=np.float32)
    triangle_pool_fused(
        np.ascontiguousarray(products, dtype=np.float32),
        patch_sq.astype(np.float32, copy=False),
        centroid_sq.astype(np.float32, copy=False),
        regions,
        out,
    )
    return out.reshape(n_images, -1)
