"""Numba kernels of the dense k-means features (see :mod:`linclass.features.dense`).

``normalized_patches_fused`` cuts and normalizes every patch of a chunk of images in one pass
per patch (the NumPy path copies the windows, then makes three passes for the mean, the
variance and the scaling). ``triangle_pool_fused`` computes a patch's ``K`` distances into a
row buffer with their mean, then adds ``max(0, mean − z_k)`` into the patch's pooling region:
the ``(B · P, K)`` activations never exist. Both run the images of a chunk in parallel and
keep to float32 in the inner loops (float64 constants would widen them and stop them being
vectorized).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(parallel=True, fastmath=True, cache=True)
def normalized_patches_fused(images, size, stride, epsilon, out):  # pragma: no cover - compiled
    """``out (B·r·q, p·p·c)`` ← every patch of ``images (B, H, W, c)`` uint8, normalized."""
    n_images, height, width, channels = images.shape
    rows = (height - size) // stride + 1
    columns = (width - size) // stride + 1
    d = size * size * channels
    for image in numba.prange(n_images):
        for i in range(rows):
            for j in range(columns):
                row = (image * rows + i) * columns + j
                total = 0.0
                squares = 0.0
                col = 0
                for u in range(size):
                    for v in range(size):
                        for channel in range(channels):
                            pixel = np.float64(images[image, i * stride + u, j * stride + v, channel])
                            out[row, col] = pixel
                            total += pixel
                            squares += pixel * pixel
                            col += 1
                # pixels are integers: these sums are exact in float64, so this variance is too
                mean = total / d
                variance = (squares - d * mean * mean) / (d - 1)
                scale = np.float32(1.0 / math.sqrt(variance + epsilon))
                shift = np.float32(mean)
                for col in range(d):
                    out[row, col] = (out[row, col] - shift) * scale


@numba.njit(parallel=True, fastmath=True, cache=True)
def triangle_pool_fused(products, patch_sq, centroid_sq, regions, out):  # pragma: no cover - compiled
    """``out (B, R, K) += triangle activations of products (B·P, K)`` summed per region."""
    n_positions = regions.shape[0]
    n_centroids = centroid_sq.shape[0]
    two = np.float32(2.0)
    zero = np.float32(0.0)
    for image in numba.prange(out.shape[0]):
        distance = np.empty(n_centroids, np.float32)
        for position in range(n_positions):
            row = image * n_positions + position
            region = regions[position]
            base = patch_sq[row]
            total = zero
            for k in range(n_centroids):
                z = math.sqrt(max(base - two * products[row, k] + centroid_sq[k], zero))
                distance[k] = z
                total += z
            mean = total / np.float32(n_centroids)
            for k in range(n_centroids):
                out[image, region, k] += max(mean - distance[k], zero)
