"""Image feature extractors: HOG and hue histogram against scikit-image, k-means features piece by piece."""

import numpy as np
import pytest
from skimage.color import rgb2hsv
from skimage.feature import hog
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

import linclass
from linclass.features import HOG, ColorHistogram, KMeansFeatures, hog_color, zca_whitening
from linclass.features.dense import (
    extract_patches,
    normalize_patches,
    normalized_patches,
    pooling_regions,
    triangle_pool,
    triangle_pool_reference,
)
from linclass.features.kmeans import kmeans_from_normal


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def fitted(images):
    return KMeansFeatures(n_centroids=10, n_patches=600, max_iter=10, random_state=0).fit(images)


# --------------------------------------------------------------------------- input checks


def test_extractors_refuse_non_uint8_and_wrong_shapes(images):
    with pytest.raises(
        TypeError,
        match=r"^X must be uint8 images \(N, H, W\) or \(N, H, W, 3\) with values 0..255, got dtype float64$",
    ):
        HOG().fit(images.astype(float))
    with pytest.raises(
        ValueError, match=r"^X must be images of shape \(N, H, W\) or \(N, H, W, 3\), got shape \(12, 768\)$"
    ):
        HOG().fit(images.reshape(12, -1))
    with pytest.raises(
        ValueError, match=r"^X must be RGB images of shape \(N, H, W, 3\), got shape \(12, 16, 16\)$"
    ):
        ColorHistogram().fit(images[..., 0])
    with pytest.raises(
        ValueError, match=r"^X holds no images \(shape \(0, 16, 16, 3\)\); expected at least one$"
    ):
        HOG().fit(images[:0])


def test_transform_needs_fit_and_the_fitted_image_shape(images, fitted):
    with pytest.raises(NotFittedError):
        HOG().transform(images)
    with pytest.raises(
        ValueError,
        match=r"^X has images of shape \(8, 8, 3\), but KMeansFeatures was fitted on \(16, 16, 3\)$",
    ):
        fitted.transform(images[:, :8, :8])


def test_kmeans_parameter_errors_name_the_parameter(images):
    with pytest.raises(
        ValueError, match=r"^n_centroids=50 needs at least as many patches, got n_patches=20$"
    ):
        KMeansFeatures(n_centroids=50, n_patches=20).fit(images)
    with pytest.raises(ValueError, match=r"^patch_size=20 is larger than the images \(16x16\)$"):
        KMeansFeatures(patch_size=20).fit(images)
    with pytest.raises(ValueError, match=r"^n_centroids must be an integer >= 1, got 0$"):
        KMeansFeatures(n_centroids=0).fit(images)
    with pytest.raises(ValueError, match=r"^normalize_epsilon must be a finite number >= 0, got -1$"):
        KMeansFeatures(normalize_epsilon=-1).fit(images)
    with pytest.raises(ValueError, match=r"^init must be 'random' or 'normal', got 'k-means\+\+'$"):
        KMeansFeatures(init="k-means++").fit(images)


# --------------------------------------------------------------------------- HOG and colour


def test_hog_is_scikit_images_hog_of_each_image(images):
    features = HOG(chunk_size=5).fit_transform(images)
    expected = np.stack(
        [
            hog(
                im,
                orientations=9,
                pixels_per_cell=(8, 8),
                cells_per_block=(2, 2),
                block_norm="L2-Hys",
                channel_axis=-1,
            )
            for im in images
        ]
    )
    assert features.shape == (12, 36) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected, rtol=1e-6)


def test_hog_takes_grey_images_and_a_32x32_image_gives_324_features():
    grey = np.random.default_rng(1).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    features = HOG().fit_transform(grey)
    assert features.shape == (3, 324)
    np.testing.assert_allclose(
        features[2], hog(grey[2], pixels_per_cell=(8, 8), cells_per_block=(2, 2)), rtol=1e-6
    )


def test_hog_refuses_images_smaller_than_one_block():
    with pytest.raises(
        ValueError, match=r"^images of 8x8 pixels hold 1x1 cells of \(8, 8\) pixels, fewer than one block"
    ):
        HOG().fit(np.zeros((2, 8, 8), np.uint8))


def test_colour_histogram_is_the_share_of_pixels_per_hue_bin(images):
    features = ColorHistogram(bins=7).fit_transform(images)
    expected = np.stack(
        [np.histogram(rgb2hsv(im)[..., 0], bins=np.linspace(0, 1, 8))[0] / (16 * 16) for im in images]
    )
    np.testing.assert_allclose(features, expected, rtol=1e-6)
    np.testing.assert_allclose(features.sum(axis=1), 1.0, rtol=1e-6)


def test_hog_color_concatenates_both_extractors(images):
    union = hog_color(bins=5)
    features = union.fit_transform(images)
    np.testing.assert_array_equal(
        features, np.hstack([HOG().fit_transform(images), ColorHistogram(bins=5).fit_transform(images)])
    )


# --------------------------------------------------------------------------- k-means pieces


def test_extract_patches_cuts_every_window_at_the_stride():
    image = np.arange(2 * 5 * 5 * 3, dtype=np.uint8).reshape(2, 5, 5, 3)
    patches = extract_patches(image, 3, stride=2)
    expected = [image[b, r : r + 3, c : c + 3].ravel() for b in range(2) for r in (0, 2) for c in (0, 2)]
    np.testing.assert_array_equal(patches, np.array(expected, dtype=np.float32))


def test_normalize_patches_gives_zero_mean_and_damped_unit_variance():
    patches = np.random.default_rng(2).normal(5.0, 3.0, (50, 108))
    variance = patches.var(axis=1, ddof=1)
    normalized = normalize_patches(patches.copy(), 10.0)
    np.testing.assert_allclose(normalized.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(normalized.var(axis=1, ddof=1), variance / (variance + 10.0), rtol=1e-10)


@pytest.mark.parametrize("shape, size, stride", [((3, 11, 9, 3), 6, 1), ((2, 8, 8), 3, 2), ((1, 6, 6, 3), 6, 1)])
def test_fused_patches_equal_extraction_then_normalization(shape, size, stride):
    images = np.random.default_rng(7).integers(0, 256, shape, dtype=np.uint8)
    images[0, :size, :size] = 17  # a flat patch: variance 0, only epsilon keeps it finite
    expected = normalize_patches(extract_patches(images, size, stride).astype(np.float64), 10.0)
    fused = normalized_patches(images, size, stride, 10.0)
    assert fused.dtype == np.float32 and fused.shape == expected.shape
    np.testing.assert_allclose(fused, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(fused[0], 0.0)


def test_zca_whitening_makes_the_patch_covariance_the_identity():
    rng = np.random.default_rng(3)
    patches = rng.normal(size=(4000, 12)) @ rng.normal(size=(12, 12))  # correlated pixels
    mean, P = zca_whitening(patches, 0.0)
    whitened = (patches - mean) @ P
    np.testing.assert_allclose(np.cov(whitened, rowvar=False), np.eye(12), atol=1e-8)
    np.testing.assert_allclose(P, P.T, atol=1e-12)  # ZCA: the symmetric whitening, closest to the input


def test_zca_whitening_of_normalized_patches_is_the_identity_off_the_constant_patch():
    # brightness normalization removes each patch's mean, so the constant direction has no
    # variance: the whitened covariance is the projection I - 11^T / d
    patches = normalize_patches(
        np.random.default_rng(4).normal(size=(5000, 9)) @ np.diag(np.arange(1.0, 10)), 0.0
    )
    mean, P = zca_whitening(patches, 0.0)
    covariance = np.cov((patches - mean) @ P, rowvar=False)
    np.testing.assert_allclose(covariance, np.eye(9) - np.full((9, 9), 1 / 9), atol=1e-8)


def test_zca_epsilon_shrinks_each_eigen_direction_to_lambda_over_lambda_plus_epsilon():
    rng = np.random.default_rng(5)
    patches = rng.normal(size=(3000, 6)) * np.array([0.1, 0.5, 1, 2, 4, 8])
    mean, P = zca_whitening(patches, 0.1)
    eigenvalues, V = np.linalg.eigh(np.cov(patches, rowvar=False))
    expected = V @ np.diag(eigenvalues / (eigenvalues + 0.1)) @ V.T
    np.testing.assert_allclose(np.cov((patches - mean) @ P, rowvar=False), expected, atol=1e-10)


@pytest.mark.parametrize("kernel", [triangle_pool_reference, triangle_pool])
def test_triangle_activation_fires_for_centroids_nearer_than_average(kernel):
    # one patch x = 0 and centroids at distances 1, 2, 3, 6: mean 3, so f = (2, 1, 0, 0)
    centroids = np.array([[1.0], [2.0], [3.0], [6.0]], dtype=np.float32)
    products = np.zeros((1, 4), np.float32)  # x . c_k
    features = kernel(products, np.zeros(1, np.float32), (centroids**2).ravel(), np.array([0]), 1)
    np.testing.assert_allclose(features, [[2.0, 1.0, 0.0, 0.0]], rtol=1e-6)


def test_pooling_regions_split_27_positions_at_14_as_coates_et_al():
    regions = pooling_regions(27, 27, 2).reshape(27, 27)
    assert (regions[:14, :14] == 0).all() and (regions[:14, 14:] == 1).all()
    assert (regions[14:, :14] == 2).all() and (regions[14:, 14:] == 3).all()
    assert np.bincount(pooling_regions(9, 9, 3)).tolist() == [9] * 9


def test_fused_kernel_equals_the_numpy_reference():
    rng = np.random.default_rng(6)
    patches, centroids = (
        rng.normal(size=(3 * 25, 8)).astype(np.float32),
        rng.normal(size=(17, 8)).astype(np.float32),
    )
    args = (patches @ centroids.T, (patches**2).sum(1), (centroids**2).sum(1), pooling_regions(5, 5, 2), 4)
    np.testing.assert_allclose(triangle_pool(*args), triangle_pool_reference(*args), rtol=1e-5, atol=1e-5)


def test_pooling_gives_regions_times_centroids_features(images):
    for pooling in (1, 2, 3):
        km = KMeansFeatures(n_centroids=6, n_patches=300, max_iter=3, pooling=pooling, random_state=0)
        assert km.fit_transform(images).shape == (12, pooling**2 * 6)


def _naive_kmeans_features(km, images):
    """The paper's recipe, one patch at a time."""
    size, K, g = km.patch_size, km.n_centroids, km.pooling
    side = images.shape[1] - size + 1
    regions = pooling_regions(side, side, g).reshape(side, side)
    out = np.zeros((len(images), g * g, K))
    for n, image in enumerate(images.astype(np.float64)):
        for r in range(side):
            for c in range(side):
                x = image[r : r + size, c : c + size].ravel()
                x = (x - x.mean()) / np.sqrt(x.var(ddof=1) + km.normalize_epsilon)
                x = (x - km.patch_mean_) @ km.whitening_
                z = np.sqrt(((km.centroids_ - x) ** 2).sum(axis=1))
                out[n, regions[r, c]] += np.maximum(0.0, z.mean() - z)
    return out.reshape(len(images), -1)


def test_transform_equals_the_recipe_applied_patch_by_patch(images, fitted):
    np.testing.assert_allclose(
        fitted.transform(images[:3]), _naive_kmeans_features(fitted, images[:3]), rtol=2e-4, atol=2e-3
    )


def test_transform_is_deterministic_for_a_seed_and_independent_of_chunking(images, fitted):
    again = KMeansFeatures(n_centroids=10, n_patches=600, max_iter=10, random_state=0, chunk_size=1).fit(
        images
    )
    np.testing.assert_array_equal(again.centroids_, fitted.centroids_)
    # BLAS blocks differ with the chunk size, so the last bits may too
    np.testing.assert_allclose(again.transform(images), fitted.transform(images), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fitted.transform(images), fitted.transform(images))
    other = KMeansFeatures(n_centroids=10, n_patches=600, max_iter=10, random_state=1).fit(images)
    assert not np.allclose(other.centroids_, fitted.centroids_)


def test_defaults_are_the_papers_constants():
    params = KMeansFeatures().get_params()
    assert {
        k: params[k]
        for k in (
            "n_centroids",
            "patch_size",
            "stride",
            "n_patches",
            "normalize_epsilon",
            "whiten_epsilon",
            "max_iter",
            "pooling",
        )
    } == {
        "n_centroids": 1600,
        "patch_size": 6,
        "stride": 1,
        "n_patches": 400_000,
        "normalize_epsilon": 10.0,
        "whiten_epsilon": 0.1,
        "max_iter": 50,
        "pooling": 2,
    }


def _stripes(n, rng):
    """Horizontal (label 0) and vertical (label 1) stripes of random phase and colour, with noise."""
    y = np.arange(n) % 2
    grid = np.arange(16)
    X = np.empty((n, 16, 16, 3))
    for i in range(n):
        wave = np.sin(grid * 1.3 + rng.uniform(0, 6.3))
        pattern = np.tile(wave[:, None], (1, 16)) if y[i] == 0 else np.tile(wave[None, :], (16, 1))
        X[i] = 128 + 90 * pattern[..., None] * rng.uniform(0.5, 1, 3) + rng.normal(0, 20, (16, 16, 3))
    return np.clip(X, 0, 255).astype(np.uint8), y


def test_kmeans_features_and_a_classifier_work_in_a_pipeline():
    rng = np.random.default_rng(7)
    X, y = _stripes(80, rng)
    X_test, y_test = _stripes(40, rng)
    pipeline = make_pipeline(
        KMeansFeatures(n_centroids=16, n_patches=2000, max_iter=20, random_state=0),
        linclass.LinearClassifier(loss="svm", optimizer="sgd", alpha=1e-4, epochs=30, random_state=0),
    )
    assert pipeline.fit(X, y).score(X_test, y_test) == 1.0
    assert clone(pipeline).get_params()["kmeansfeatures__n_centroids"] == 16


# --------------------------------------------------------------------------- the authors' k-means


def test_kmeans_from_normal_finds_separated_clusters_and_their_inertia():
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0], [-5.0, -5.0, -5.0]])
    labels = np.arange(400) % 4
    X = (centres[labels] + rng.normal(0, 0.3, (400, 3))).astype(np.float32)
    centroids, inertia = kmeans_from_normal(X, 4, 10, np.random.default_rng(1), batch_size=64)
    assert centroids.dtype == np.float32 and centroids.shape == (4, 3)
    nearest = ((X[:, None] - centroids[None]) ** 2).sum(axis=2)
    found = nearest.argmin(axis=1)
    # each true cluster is exactly one found cluster, centred on its mean
    assert len({(a, b) for a, b in zip(labels, found, strict=True)}) == 4
    for k in range(4):
        np.testing.assert_allclose(centroids[found[labels == k][0]], X[labels == k].mean(axis=0), rtol=1e-5)
    assert inertia == pytest.approx(nearest.min(axis=1).sum(), rel=1e-5)


def test_kmeans_from_normal_sets_empty_clusters_to_zero():
    # two distinct rows and five centroids: at most two keep rows, the others become 0
    X = np.repeat(np.array([[3.0, 1.0], [-2.0, 4.0]], dtype=np.float32), 10, axis=0)
    centroids, inertia = kmeans_from_normal(X, 5, 3, np.random.default_rng(0))
    kept = np.flatnonzero(np.abs(centroids).sum(axis=1) > 0)
    assert len(kept) == 2 and inertia == pytest.approx(0.0, abs=1e-4)
    np.testing.assert_array_equal(np.sort(centroids[kept], axis=0), np.sort(X[[0, 10]], axis=0))
    assert not np.any(np.delete(centroids, kept, axis=0))


def test_kmeans_from_normal_starts_from_a_normal_draw_of_scale_a_tenth():
    X = np.ones((50, 4), dtype=np.float32)
    start, _ = kmeans_from_normal(X, 6, 0, np.random.default_rng(5))
    np.testing.assert_array_equal(start, (np.random.default_rng(5).standard_normal((6, 4)) * 0.1).astype(np.float32))


def test_kmeans_features_with_normal_init_are_deterministic_and_differ_from_patch_init(images, fitted):
    def make():
        return KMeansFeatures(n_centroids=10, n_patches=600, max_iter=10, init="normal", random_state=0)
    fitted_a, fitted_b = make().fit(images), make().fit(images)
    np.testing.assert_array_equal(fitted_a.centroids_, fitted_b.centroids_)
    np.testing.assert_array_equal(fitted_a.transform(images), fitted_b.transform(images))
    assert fitted_a.transform(images).shape == (12, 40)
    # the same patches and whitening as the default init, other centroids
    np.testing.assert_array_equal(fitted_a.whitening_, fitted.whitening_)
    assert not np.allclose(fitted_a.centroids_, fitted.centroids_)
