"""Single-layer k-means features (Coates, Lee & Ng, AISTATS 2011).

*fit* learns a dictionary from the training images: ``n_patches`` random ``p×p`` patches, each
brightness/contrast normalized, ZCA-whitened, clustered into ``K`` centroids by k-means.
*transform* applies it densely: every patch at stride ``s`` of every image is normalized and
whitened the same way, encoded by the triangle activation ``f_k = max(0, mean_j(z_j) − z_k)``
(``z_k`` its distance to centroid ``k``) and the encodings are summed over the image's 2 × 2
quadrants, giving ``4 · K`` features. The defaults are the paper's: 6×6 patches, stride 1,
400,000 patches, normalization ε = 10, whitening ε = 0.1, 50 k-means iterations, 1,600
centroids (77.9 % on CIFAR-10 with a linear SVM; 4,000 centroids give 79.6 %). k-means starts
from random patches (scikit-learn's ``KMeans``, ``init="random"``) or, with ``init="normal"``,
as the authors' published code does: centroids drawn from ``N(0, 0.1²)``, and a cluster that
loses all its patches set to zero.
"""

from __future__ import annotations

import numpy as np

from linclass._validation import check_int, check_positive, check_random_state
from linclass.features._base import ImageFeatures
from linclass.features.dense import (
    normalize_patches,
    normalized_patches,
    pooling_regions,
    triangle_pool,
)


def zca_whitening(patches: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """ZCA whitening of row vectors: ``x ↦ (x − μ) P`` with ``P = V (Λ + ε I)^(-1/2) Vᵀ``.

    ``μ`` is the mean patch and ``V Λ Vᵀ`` the eigendecomposition of the patch covariance
    (``ddof=1``). With ``ε = 0`` the whitened patches have identity covariance on the subspace
    the patches span; ``ε > 0`` damps the directions of small variance (pixel noise).

    Args:
        patches: ``(n, d)``.
        epsilon: ``ε ≥ 0``.

    Returns:
        ``(mean (d,), P (d, d))``, float64; ``P`` is symmetric.
    """
    patches = np.asarray(patches, dtype=np.float64)
    mean = patches.mean(axis=0)
    centred = patches - mean
    covariance = centred.T @ centred / (len(patches) - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    variance = np.maximum(eigenvalues, 0.0) + epsilon
    # with epsilon 0, directions the patches do not span (the mean-removed constant patch)
    # have rounding-level variance: leave them at 0 rather than amplify rounding noise
    null = variance <= eigenvalues.max() * 1e-10
    scale = np.where(null, 0.0, 1.0 / np.sqrt(np.where(null, 1.0, variance)))
    return mean, (eigenvectors * scale) @ eigenvectors.T


def kmeans_from_normal(
    X: np.ndarray, n_clusters: int, max_iter: int, rng: np.random.Generator, batch_size: int = 10_000
) -> tuple[np.ndarray, float]:
    """Lloyd's k-means started from ``c_k ~ N(0, 0.1² I)``, as Coates et al.'s code.

    Each iteration assigns every row to ``argmax_k (x·c_k − ||c_k||²/2)`` (its nearest
    centroid), then moves each centroid to the mean of its rows; a centroid with no rows becomes
    ``0`` (the authors' "zap empty centroids") instead of being moved to a far point.

    Args:
        X: ``(n, d)`` float32 rows (whitened patches).
        n_clusters: ``K``; max_iter: Lloyd iterations (all are run); rng: draws the start.
        batch_size: rows per assignment product ``(batch, d) @ (d, K)``.

    Returns:
        ``(centroids (K, d) float32, inertia)``: the inertia is ``Σ_i min_k ||x_i − c_k||²`` of
        the last assignment.
    """
    from scipy.sparse import csr_matrix

    X = np.asarray(X, dtype=np.float32)
    centroids = (rng.standard_normal((n_clusters, X.shape[1])) * 0.1).astype(np.float32)
    inertia = 0.0
    for _ in range(max_iter):
        half_sq = 0.5 * np.einsum("ij,ij->i", centroids, centroids)
        sums = np.zeros(centroids.shape, dtype=np.float64)
        counts = np.zeros(n_clusters, dtype=np.int64)
        inertia = 0.0
        for start in range(0, len(X), batch_size):
            batch = X[start : start + batch_size]
            score = batch @ centroids.T - half_sq
            labels = score.argmax(axis=1)
            inertia += float(np.einsum("ij,ij->", batch, batch, dtype=np.float64))
            inertia -= 2.0 * float(score[np.arange(len(batch)), labels].sum(dtype=np.float64))
            onehot = csr_matrix((np.ones(len(batch), np.float32), (labels, np.arange(len(batch)))),
                                shape=(n_clusters, len(batch)))  # fmt: skip
            sums += onehot @ batch
            counts += np.bincount(labels, minlength=n_clusters)
        centroids = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)  # empty: 0 / 1 = 0
    return centroids, inertia


class KMeansFeatures(ImageFeatures):
    """Coates–Lee–Ng k-means features of images: ``(N, H, W[, 3])`` uint8 → ``(N, pooling² · K)``.

    Args:
        n_centroids: ``K``, the dictionary size.
        patch_size: the side ``p`` of the square receptive field.
        stride: the step between patches in ``transform``.
        n_patches: random patches drawn from the training images in ``fit``.
        normalize_epsilon: ``ε`` of the per-patch normalization ``(x − mean) / sqrt(var + ε)``
            (pixels in 0..255).
        whiten_epsilon: ``ε`` of the ZCA whitening.
        max_iter: k-means (Lloyd) iterations.
        init: ``"random"`` (scikit-learn's ``KMeans`` from random patches; an emptied cluster
            moves to a far patch) or ``"normal"`` (:func:`kmeans_from_normal`, the authors' code).
        pooling: the image is split into ``pooling × pooling`` regions for sum-pooling.
        random_state: seed or Generator for the patches and the k-means initialization.
        chunk_size: images per chunk of ``transform``.
        verbose: draw a progress bar on a terminal.

    Attributes:
        centroids_: ``(K, p·p·c)`` float32, in whitened patch space.
        patch_mean_: ``(p·p·c,)`` the mean normalized patch; ``whitening_``: ``(d, d)`` ``P``.
        n_features_out_: ``pooling² · K``.

    Example:
        >>> km = KMeansFeatures(n_centroids=8, n_patches=500, max_iter=5, random_state=0)
        >>> km.fit_transform(np.random.default_rng(0).integers(0, 256, (10, 16, 16, 3), np.uint8)).shape
        (10, 32)
    """

    _label = "k-means features"

    def __init__(
        self,
        *,
        n_centroids: int = 1600,
        patch_size: int = 6,
        stride: int = 1,
        n_patches: int = 400_000,
        normalize_epsilon: float = 10.0,
        whiten_epsilon: float = 0.1,
        max_iter: int = 50,
        init: str = "random",
        pooling: int = 2,
        random_state: int | np.random.Generator | None = None,
        chunk_size: int = 50,
        verbose: bool = False,
    ) -> None:
        self.n_centroids = n_centroids
        self.patch_size = patch_size
        self.stride = stride
        self.n_patches = n_patches
        self.normalize_epsilon = normalize_epsilon
        self.whiten_epsilon = whiten_epsilon
        self.max_iter = max_iter
        self.init = init
        self.pooling = pooling
        self.random_state = random_state
        self.chunk_size = chunk_size
        self.verbose = verbose

    def _fit_images(self, images: np.ndarray) -> int:
        from sklearn.cluster import KMeans

        n_centroids = check_int(self.n_centroids, "n_centroids")
        size = check_int(self.patch_size, "patch_size")
        check_int(self.stride, "stride")
        n_patches = check_int(self.n_patches, "n_patches")
        check_positive(self.normalize_epsilon, "normalize_epsilon", allow_zero=True)
        check_positive(self.whiten_epsilon, "whiten_epsilon", allow_zero=True)
        check_int(self.max_iter, "max_iter")
        if self.init not in ("random", "normal"):
            raise ValueError(f"init must be 'random' or 'normal', got {self.init!r}")
        pooling = check_int(self.pooling, "pooling")
        height, width = images.shape[1:3]
        if size > min(height, width):
            raise ValueError(f"patch_size={size} is larger than the images ({height}x{width})")
        rows, columns = self._positions()
        if pooling > min(rows, columns):
            raise ValueError(f"pooling={pooling} is more regions than the {rows}x{columns} patch positions")
        if n_centroids > n_patches:
            raise ValueError(
                f"n_centroids={n_centroids} needs at least as many patches, got n_patches={n_patches}"
            )
        rng = check_random_state(self.random_state)
        patches = self._random_patches(images, n_patches, rng)
        self.patch_mean_, whitening = zca_whitening(patches, self.whiten_epsilon)
        self.whitening_ = whitening.astype(np.float32)
        whitened = ((patches - self.patch_mean_) @ whitening).astype(np.float32)
        if self.init == "normal":
            self.centroids_, self.inertia_ = kmeans_from_normal(whitened, n_centroids, self.max_iter, rng)
            return pooling * pooling * n_centroids
        kmeans = KMeans(
            n_clusters=n_centroids,
            init="random",
            n_init=1,
            max_iter=self.max_iter,
            tol=0.0,
            algorithm="lloyd",
            random_state=int(rng.integers(2**31 - 1)),
        ).fit(whitened)
        self.centroids_ = kmeans.cluster_centers_.astype(np.float32)
        self.inertia_ = float(kmeans.inertia_)
        return pooling * pooling * n_centroids

    def _positions(self) -> tuple[int, int]:
        height, width = self.image_shape_[:2]
        return ((height - self.patch_size) // self.stride + 1, (width - self.patch_size) // self.stride + 1)

    def _random_patches(self, images: np.ndarray, n_patches: int, rng: np.random.Generator) -> np.ndarray:
        """``(n_patches, d)`` float64 normalized patches at uniform random images and corners."""
        size = self.patch_size
        height, width = images.shape[1:3]
        which = rng.integers(0, len(images), n_patches)
        top = rng.integers(0, height - size + 1, n_patches)
        left = rng.integers(0, width - size + 1, n_patches)
        offsets = np.arange(size)
        rows = (top[:, None] + offsets)[:, :, None]
        cols = (left[:, None] + offsets)[:, None, :]
        patches = images[which[:, None, None], rows, cols].reshape(n_patches, -1).astype(np.float64)
        return normalize_patches(patches, self.normalize_epsilon)

    def _transform_chunk(self, images: np.ndarray) -> np.ndarray:
        patches = normalized_patches(images, self.patch_size, self.stride, self.normalize_epsilon)
        # (x − μ) P as one product: x P − μ P
        whitened = patches @ self.whitening_
        whitened -= (self.patch_mean_ @ self.whitening_).astype(np.float32)
        products = whitened @ self.centroids_.T
        patch_sq = np.einsum("ij,ij->i", whitened, whitened)
        centroid_sq = np.einsum("ij,ij->i", self.centroids_, self.centroids_)
        regions = pooling_regions(*self._positions(), self.pooling)
        return triangle_pool(products, patch_sq, centroid_sq, regions, self.pooling**2)
