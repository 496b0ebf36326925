"""Features on a class-balanced subset of the real CIFAR-10 JPEG set: both beat raw pixels by far."""

from __future__ import annotations

import numpy as np
import pytest

import linclass
from linclass.datasets.folder import load_image_folder
from linclass.features import KMeansFeatures, hog_color
from test_datasets_real import CIFAR_JPEG, require

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def subset(tmp_path_factory):
    require(CIFAR_JPEG, "the CIFAR-10 JPEG set lives in shared/data next to the repository")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LINCLASS_CACHE_DIR", str(tmp_path_factory.mktemp("linclass-cache")))
        cifar = load_image_folder(CIFAR_JPEG)
    rng = np.random.default_rng(0)

    def per_class(y, n):
        return np.sort(
            np.concatenate([rng.choice(np.flatnonzero(y == k), n, replace=False) for k in range(10)])
        )

    train, test = per_class(cifar.y_train, 400), per_class(cifar.y_test, 100)
    return cifar.X_train[train], cifar.y_train[train], cifar.X_test[test], cifar.y_test[test]


def _svm_accuracy(F, y, F_test, y_test):
    model = linclass.LinearClassifier(
        loss="svm", alpha=1e-3, learning_rate=1e-2, epochs=20, batch_size=128, random_state=0
    )
    return model.fit(F, y).score(F_test, y_test)


def test_hog_and_colour_features_beat_raw_pixels(subset):
    X, y, X_test, y_test = subset
    raw = _svm_accuracy(X.reshape(len(X), -1), y, X_test.reshape(len(X_test), -1), y_test)
    extractor = hog_color().fit(X)
    accuracy = _svm_accuracy(extractor.transform(X), y, extractor.transform(X_test), y_test)
    assert accuracy >= 0.40 and accuracy > raw + 0.08, (accuracy, raw)


def test_kmeans_features_beat_hog_and_colour(subset):
    X, y, X_test, y_test = subset
    extractor = KMeansFeatures(n_centroids=200, n_patches=50_000, max_iter=10, random_state=0).fit(X)
    accuracy = _svm_accuracy(extractor.transform(X), y, extractor.transform(X_test), y_test)
    assert accuracy >= 0.50, accuracy
