"""Fuzzing the users'-file readers, the image decoder and the size limits.

Arbitrary and mutated ``.npz``/``.npy``/CSV/LIBSVM files, images and tar archives raise only
``DataFormatError``, under the default limit and under a tiny one (so the limit checks run on
every path). The example count comes from ``LINCLASS_FUZZ_EXAMPLES`` (default 200).
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from linclass.datasets import DataFormatError, load_csv, load_npy, load_npz, load_svmlight
from linclass.datasets.archive import iter_tar_files
from linclass.datasets.cifar import parse_python_batch
from linclass.datasets.images import decode_image
from test_fuzz_readers import FUZZ, mutated

LIMITS = st.sampled_from([None, 64, 4096])


def _read_file(read, content: bytes, suffix: str, **options):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(content)
        try:
            return read(path, **options)
        except DataFormatError:
            return None


@st.composite
def npz_files(draw) -> bytes:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.integers(1, 6))
    buffer = io.BytesIO()
    arrays = {"X": rng.standard_normal((n, draw(st.integers(1, 4)))).astype(draw(st.sampled_from(["f4", "f8"]))),
              "y": rng.integers(0, 3, n)}  # fmt: skip
    (np.savez_compressed if draw(st.booleans()) else np.savez)(buffer, **arrays)
    return buffer.getvalue()


@st.composite
def npy_files(draw) -> bytes:
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    buffer = io.BytesIO()
    np.save(buffer, rng.integers(0, 3, (draw(st.integers(1, 5)), draw(st.integers(2, 4)))))
    return buffer.getvalue()


@FUZZ
@given(st.one_of(st.binary(max_size=1024), mutated(npz_files())), LIMITS)
def test_npz_reader_raises_only_format_errors(content, limit):
    ds = _read_file(load_npz, content, ".npz", max_bytes=limit)
    assert ds is None or ds.X_train.ndim >= 2


@FUZZ
@given(st.one_of(st.binary(max_size=512), mutated(npy_files())), LIMITS)
def test_npy_reader_raises_only_format_errors(content, limit):
    ds = _read_file(load_npy, content, ".npy", max_bytes=limit)
    assert ds is None or ds.X_train.ndim == 2


CSV_TEXT = st.text(st.sampled_from("0123456789.,-e nainfx\n\r\"\ufeff"), max_size=200)


@FUZZ
@given(st.one_of(CSV_TEXT.map(str.encode), mutated(st.just(b"\xef\xbb\xbfa,b,y\n1,2,0\n3,4,1\n"))), LIMITS,
       st.sampled_from(["float32", "float64", "int8", "uint8", "bool"]))  # fmt: skip
def test_csv_reader_raises_only_format_errors(content, limit, dtype):
    ds = _read_file(load_csv, content, ".csv", max_bytes=limit, dtype=dtype)
    assert ds is None or ds.X_train.dtype == np.dtype(dtype)


SVM_TEXT = st.text(st.sampled_from("0123456789.:-+ #qid\n"), max_size=200)


@FUZZ
@given(st.one_of(SVM_TEXT.map(str.encode), mutated(st.just(b"1 1:0.5 3:2\n-1 2:1.5\n"))), LIMITS)
def test_libsvm_reader_raises_only_format_errors(content, limit):
    ds = _read_file(load_svmlight, content, ".svm", max_bytes=limit)
    assert ds is None or ds.X_train.ndim == 2


@st.composite
def images(draw) -> bytes:
    from PIL import Image

    mode = draw(st.sampled_from(["L", "RGB", "I;16", "F", "P", "RGBA"]))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    fmt = draw(st.sampled_from(["PNG", "BMP", "GIF", "TIFF", "JPEG", "WEBP"]))
    image = Image.new(mode, size)
    if fmt in ("BMP", "GIF", "JPEG", "WEBP") and mode not in ("L", "RGB"):
        image = image.convert("RGB")
    if fmt == "PNG" and mode == "F":
        image = image.convert("L")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


@FUZZ
@given(st.one_of(st.binary(max_size=512), mutated(images())), st.sampled_from([None, "L", "RGB"]),
       st.sampled_from([None, (3, 5)]), st.sampled_from([64, 1 << 30]))  # fmt: skip
def test_image_decoder_raises_only_format_errors(content, mode, size, limit):
    try:
        pixels = decode_image(content, mode, size, "fuzz.png", limit)
    except DataFormatError:
        return
    assert pixels.dtype == np.uint8 and pixels.ndim in (2, 3)
    if size is not None:
        assert pixels.shape[:2] == size


def _tar(sizes: list[int]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for k, size in enumerate(sizes):
            info = tarfile.TarInfo(f"d/{k}.bin")
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    return buffer.getvalue()


@FUZZ
@given(mutated(st.builds(_tar, st.lists(st.integers(0, 3000), max_size=4))), LIMITS)
def test_tar_reader_and_its_limits_raise_only_format_errors(content, limit):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.tar.gz"
        path.write_bytes(content)
        try:
            total = sum(len(data) for _, data in iter_tar_files(path, max_bytes=limit))
        except DataFormatError:
            return
    assert limit is None or total <= limit


@st.composite
def nested_lists(draw) -> object:
    depth, width = draw(st.integers(0, 12)), draw(st.integers(0, 3))
    value: object = draw(st.sampled_from([0, 255, -1, 1.5, None, b"x"]))
    for _ in range(depth):
        value = [value] * width if draw(st.booleans()) else (value,) * width
    return value


@FUZZ
@given(nested_lists(), nested_lists(), st.sampled_from([None, 4096]), st.sampled_from([2, 4]))
def test_pickled_nested_values_raise_only_format_errors(data, labels, limit, protocol):
    import pickle

    content = pickle.dumps({b"data": data, b"labels": labels}, protocol=protocol)
    try:
        images, y = parse_python_batch(content, "fuzz_batch", max_bytes=limit)
    except DataFormatError:
        return
    assert images.shape[1:] == (32, 32, 3) and len(y) == len(images)
