"""The fused triangle-activation-and-pooling kernel (see :func:`linclass.features.dense.triangle_pool`).

One pass per patch over its ``K`` products computes the distances into a row buffer and their
mean; a second pass over the buffer adds ``max(0, mean − z_k)`` into the patch's pooling
region. Images run in parallel; the ``(B · P, K)`` activations never exist.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(parallel=True, fastmath=True, cache=True)
def triangle_pool_fused(products, patch_sq, centroid_sq, regions, out):  # pragma: no cover - compiled
    """``out (B, R, K) += triangle activations of products (B·P, K)`` summed per region."""
    n_positions = regions.shape[0]
    n_centroids = centroid_sq.shape[0]
    for image in numba.prange(out.shape[0]):
        distance = np.empty(n_centroids, np.float32)
        for position in range(n_positions):
            row = image * n_positions + position
            region = regions[position]
            base = patch_sq[row]
            total = 0.0
            for k in range(n_centroids):
                squared = base - 2.0 * products[row, k] + centroid_sq[k]
                z = math.sqrt(squared) if squared > 0.0 else 0.0
                distance[k] = z
                total += z
            mean = total / n_centroids
            for k in range(n_centroids):
                activation = mean - distance[k]
                if activation > 0.0:
                    out[image, region, k] += activation
