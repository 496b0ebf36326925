"""IDX files and the MNIST-layout loaders: every type byte, gzip detection, every corruption."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from linclass.datasets import (
    FASHION_MNIST_CLASSES,
    MNIST_CLASSES,
    DataFormatError,
    DataNotFoundError,
    load_fashion_mnist,
    load_idx,
    load_mnist,
)
from linclass.datasets import idx as idx_module
from test_datasets_support import IMAGES, LABELS, idx_bytes, write_mnist


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_every_idx_type_round_trips_in_native_byte_order(tmp_path, dtype, compress):
    values = (np.arange(24).reshape(2, 3, 4) * (-1 if dtype[0] in "if" and dtype != "u1" else 1)).astype(
        dtype
    )
    path = tmp_path / "values.idx"
    path.write_bytes(idx_bytes(values, compress=compress))
    loaded = load_idx(path)
    np.testing.assert_array_equal(loaded, values)
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative and loaded.flags.writeable


def test_gzip_is_detected_by_content_not_by_name(tmp_path):
    (tmp_path / "plain.gz").write_bytes(idx_bytes(LABELS))
    (tmp_path / "zipped").write_bytes(idx_bytes(LABELS, compress=True))
    np.testing.assert_array_equal(load_idx(tmp_path / "plain.gz"), LABELS)
    np.testing.assert_array_equal(load_idx(tmp_path / "zipped"), LABELS)


@pytest.mark.parametrize("compress", [False, True])
def test_huge_declared_size_is_a_clear_error_not_a_memory_error(tmp_path, compress):
    content = b"\x00\x00\x08\x03" + struct.pack(">3I", 1_000_000_000, 28, 28) + bytes(784)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content) if compress else content)
    # Uncompressed, the file's size tells; gzipped, the size limit refuses before any read.
    message = (
        r"header's 1000000000x28x28 uint8 values would take 784,000,000,000 bytes, more than the limit of "
        r"1,048,576 bytes \(set LINCLASS_MAX_BYTES"
        if compress
        else r"header declares 1000000000 images of 28x28 \(784,000,000,000 bytes\) but the file holds 784 bytes"
    )
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte\.gz: " + message):
        load_idx(path, noun="images", max_bytes=1 << 20)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", r"bad IDX magic number 0x01000801; expected 0x0000TTNN"),
        (b"\x00\x00\x0a\x01\x00\x00\x00\x01\x05", r"bad IDX magic number 0x00000A01"),
        (b"\x00\x00\x08\x00", r"IDX header declares 0 dimensions; expected at least 1"),
        (b"\x00\x00\x08\x03\xa9\x00\x00\x00\xc2\x00\x00\x00\x00\x00\x00\x00",
         r"header declares sizes 2835349504x3254779904x0, more than an array can index"),
        (b"\x00\x00", r"ends after 2 bytes while reading the 4-byte magic number"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", r"ends after 4 bytes while reading 3 dimension sizes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", r"header declares 3 items \(3 bytes\) but the file holds 2 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", r"header declares 1 items \(1 bytes\) but the file holds 2 bytes"),
        (b"\x00\x00\x0b\x02\x00\x00\x00\x01\x00\x00\x00\x02\x00\x01\x00",
         r"header declares 1 items of 2 \(4 bytes\) but the file holds 3 bytes"),
    ],
)  # fmt: skip
def test_corrupt_idx_files_raise_format_errors_naming_the_file(tmp_path, content, message):
    path = tmp_path / "broken-idx"
    path.write_bytes(content)
    with pytest.raises(DataFormatError, match="broken-idx: " + message):
        load_idx(path)


def test_corrupt_gzip_stream_is_a_format_error(tmp_path):
    path = tmp_path / "labels.gz"
    content = idx_bytes(LABELS, compress=True)
    path.write_bytes(content[:-8] + bytes(b ^ 0xFF for b in content[-8:-4]) + content[-4:])  # bad CRC-32
    with pytest.raises(DataFormatError, match=r"labels\.gz: not a readable gzip stream"):
        load_idx(path)


def test_missing_idx_file_is_reported(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"nothing-here: no such file; expected an IDX file"):
        load_idx(tmp_path / "nothing-here")


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_folder_loads_as_uint8_images_with_digit_classes(tmp_path, compress):
    ds = load_mnist(write_mnist(tmp_path / "mnist", compress=compress))
    np.testing.assert_array_equal(ds.X_train, IMAGES)
    np.testing.assert_array_equal(ds.y_train, LABELS)
    assert ds.X_test.shape == (2, 28, 28) and ds.classes == MNIST_CLASSES and ds.image_shape == (28, 28)


def test_mnist_accepts_the_dotted_file_names(tmp_path):
    folder = write_mnist(tmp_path / "m", compress=False)
    for path in folder.iterdir():
        path.rename(folder / path.name.replace("-idx", ".idx"))
    assert load_mnist(folder).X_train.shape == (6, 28, 28)


def test_mnist_image_and_label_counts_must_agree(tmp_path):
    folder = write_mnist(tmp_path / "m", labels=LABELS[:5])
    with pytest.raises(
        DataFormatError, match=r"holds 6 images but train-labels-idx1-ubyte\.gz holds 5 labels"
    ):
        load_mnist(folder)


def test_mnist_label_above_nine_is_an_error(tmp_path):
    folder = write_mnist(tmp_path / "m", labels=np.array([0, 1, 2, 10, 4, 5], dtype=np.uint8))
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte\.gz: label 3 is 10; expected 0\.\.9"):
        load_mnist(folder)


def test_mnist_requires_uint8_label_and_image_magic_numbers(tmp_path):
    folder = write_mnist(tmp_path / "m", labels=LABELS.astype(np.int16))
    with pytest.raises(
        DataFormatError, match=r"holds 1-D int16 data; MNIST labels need magic number 0x00000801"
    ):
        load_mnist(folder)
    folder = write_mnist(tmp_path / "m2", images=IMAGES.reshape(6, 784))
    with pytest.raises(
        DataFormatError, match=r"holds 2-D uint8 data; MNIST images need magic number 0x00000803"
    ):
        load_mnist(folder)


def test_mnist_folder_without_files_says_which_is_missing(tmp_path):
    with pytest.raises(
        DataNotFoundError, match=r"has no train-images-idx3-ubyte or train-images-idx3-ubyte\.gz"
    ):
        load_mnist(tmp_path)


def test_fashion_mnist_prefers_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    write_mnist(tmp_path / "fashion-mnist")
    ds = load_fashion_mnist()
    np.testing.assert_array_equal(ds.X_train, IMAGES)
    assert ds.classes == FASHION_MNIST_CLASSES
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "Ankle boot"


def test_fashion_mnist_with_explicit_root(tmp_path):
    assert load_fashion_mnist(write_mnist(tmp_path / "f")).y_train.tolist() == LABELS.tolist()


def test_fashion_mnist_absent_everywhere_explains_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    monkeypatch.setattr(idx_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "not-installed")
    with pytest.raises(DataNotFoundError, match=r"Fashion-MNIST not found; looked in .*apt-get install "
                       r"dataset-fashion-mnist.*fetch\('fashion-mnist'\)"):  # fmt: skip
        load_fashion_mnist()


def test_fashion_mnist_files_directly_in_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LINCLASS_DATA", str(tmp_path))
    write_mnist(tmp_path, compress=False)
    assert load_fashion_mnist().name == f"fashion-mnist:{tmp_path}"
