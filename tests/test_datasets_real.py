"""The real data sets available to the project: CIFAR-10 (JPEG image folder) and Fashion-MNIST.

The JPEG set is decoded once per session (module fixture, private cache directory); small
files in both official CIFAR-10 formats are built from its first images.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from linclass.datasets import CIFAR10_CLASSES, FASHION_MNIST_CLASSES, load_cifar10, load_fashion_mnist
from linclass.datasets.folder import load_image_folder
from test_datasets_support import tar_folder, write_cifar_folder

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CIFAR_JPEG = SHARED_DATA / "cifar10-jpeg.tar.gz"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def require(path: Path, how: str) -> None:
    """Real data is optional on a contributor's machine, never in CI (.ci/run sets the variable)."""
    if path.exists():
        return
    message = f"{path} is missing ({how})"
    if os.environ.get("LINCLASS_REQUIRE_REAL_DATA") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def cifar_jpeg(tmp_path_factory):
    require(CIFAR_JPEG, "the CIFAR-10 JPEG set lives in shared/data next to the repository")
    cache = tmp_path_factory.mktemp("linclass-cache")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LINCLASS_CACHE_DIR", str(cache))
        start = time.perf_counter()
        first = load_image_folder(CIFAR_JPEG)
        first_seconds = time.perf_counter() - start
        start = time.perf_counter()
        cached = load_image_folder(CIFAR_JPEG)
        cached_seconds = time.perf_counter() - start
    return {"first": first, "cached": cached, "first_s": first_seconds, "cached_s": cached_seconds,
            "cache_files": sorted(cache.rglob("*"))}  # fmt: skip


@pytest.mark.slow
def test_cifar10_jpeg_loads_with_official_counts_and_class_order(cifar_jpeg):
    ds = cifar_jpeg["first"]
    assert ds.X_train.shape == (50000, 32, 32, 3) and ds.X_test.shape == (10000, 32, 32, 3)
    assert ds.X_train.dtype == np.uint8
    assert ds.classes == CIFAR10_CLASSES
    assert np.bincount(ds.y_train).tolist() == [5000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.y_train[:5000].tolist() == [0] * 5000 and ds.y_test[-1] == 9


@pytest.mark.slow
def test_cifar10_jpeg_order_within_a_class_follows_file_names(cifar_jpeg):
    wanted = {"train/cat/0000.jpg", "train/cat/0001.jpg", "test/truck/0999.jpg"}
    decoded = {}
    with tarfile.open(CIFAR_JPEG, "r|gz") as tar:
        for member in tar:
            if member.name in wanted:
                content = tar.extractfile(member).read()
                decoded[member.name] = np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))
    ds = cifar_jpeg["first"]
    np.testing.assert_array_equal(ds.X_train[3 * 5000], decoded["train/cat/0000.jpg"])
    np.testing.assert_array_equal(ds.X_train[3 * 5000 + 1], decoded["train/cat/0001.jpg"])
    np.testing.assert_array_equal(ds.X_test[-1], decoded["test/truck/0999.jpg"])


@pytest.mark.slow
def test_cifar10_jpeg_cached_load_is_equal_and_fast(cifar_jpeg):
    first, cached = cifar_jpeg["first"], cifar_jpeg["cached"]
    for name in ("X_train", "y_train", "X_test", "y_test"):
        assert np.array_equal(getattr(first, name), getattr(cached, name)), name
    assert cached.classes == first.classes
    assert [p.suffix for p in cifar_jpeg["cache_files"] if p.is_file()] == [".npz"]
    assert cifar_jpeg["cached_s"] < cifar_jpeg["first_s"] / 3
    print(f"CIFAR-10 JPEG: first load {cifar_jpeg['first_s']:.2f} s, cached {cifar_jpeg['cached_s']:.2f} s")


@pytest.fixture(scope="module")
def cifar_subset(cifar_jpeg):
    """2 train images and 1 test image per class, from the real set."""
    ds = cifar_jpeg["first"]
    train = np.concatenate([np.arange(2) + 5000 * c for c in range(10)])
    test = 1000 * np.arange(10)
    return (ds.X_train[train], ds.y_train[train]), (ds.X_test[test], ds.y_test[test])


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["py2", "numpy2", "binary"])
def test_real_images_round_trip_through_official_formats_and_archives(tmp_path, cifar_subset, fmt):
    train, test = cifar_subset
    folder_name = "cifar-10-batches-bin" if fmt == "binary" else "cifar-10-batches-py"
    folder = write_cifar_folder(tmp_path / folder_name, train, test, fmt)
    for source in (folder, tar_folder(tmp_path / "cifar-10.tar.gz", folder, folder_name)):
        ds = load_cifar10(source)
        np.testing.assert_array_equal(ds.X_train, train[0])
        np.testing.assert_array_equal(ds.y_train, train[1])
        np.testing.assert_array_equal(ds.X_test, test[0])
        np.testing.assert_array_equal(ds.y_test, test[1])
        assert ds.classes == CIFAR10_CLASSES


def test_fashion_mnist_from_the_debian_package(monkeypatch, tmp_path):
    require(FASHION_MNIST, "apt-get install dataset-fashion-mnist")
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    start = time.perf_counter()
    ds = load_fashion_mnist()
    seconds = time.perf_counter() - start
    assert ds.X_train.shape == (60000, 28, 28) and ds.X_test.shape == (10000, 28, 28)
    assert ds.X_train.dtype == np.uint8 and ds.image_shape == (28, 28)
    assert np.bincount(ds.y_train).tolist() == [6000] * 10
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    assert ds.classes == FASHION_MNIST_CLASSES
    assert ds.name == "fashion-mnist:/usr/share/datasets/fashion-mnist"
    print(f"Fashion-MNIST load {seconds:.2f} s")


@pytest.mark.slow
def test_softmax_on_raw_cifar10_pixels_reaches_the_course_accuracy(cifar_jpeg):
    """The CS231n assignment reports about 0.38-0.39 test accuracy for a tuned softmax."""
    from linclass import LinearClassifier

    ds = cifar_jpeg["cached"]
    X, X_test = ds.X_train.reshape(50_000, -1), ds.X_test.reshape(10_000, -1)
    clf = LinearClassifier(loss="softmax", learning_rate=1e-3, alpha=1e-3, epochs=5, batch_size=256,
                           random_state=0).fit(X, ds.y_train)  # fmt: skip
    assert X.dtype == np.uint8  # trained on the uint8 pixels: preprocessing is folded into W, b
    assert clf.score(X_test, ds.y_test) >= 0.36
