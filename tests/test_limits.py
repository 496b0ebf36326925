"""Sizes are checked before memory is spent: every crafted file here is built by the test and
would allocate gigabytes to terabytes (or hang for minutes) without the checks."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import time
import zipfile

import numpy as np
import pytest

from linclass import limits
from linclass.datasets import (
    DataFormatError,
    load_cifar10,
    load_idx,
    load_image_folder,
    load_npy,
    load_npz,
    load_svmlight,
)
from linclass.datasets.archive import iter_tar_files
from linclass.io import ModelFileError, read_bundle, write_bundle

MiB = 1 << 20


def _npy_header(shape: tuple, descr: str = "<f8") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def _zip(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


# --------------------------------------------------------------------------- the setting


def test_the_limit_is_the_keyword_then_the_environment_then_half_the_available_memory(monkeypatch):
    monkeypatch.delenv("LINCLASS_MAX_BYTES", raising=False)
    assert limits.max_bytes() == max(limits.available_memory() // 2, 256 * MiB)
    assert limits.available_memory() > 0
    monkeypatch.setenv("LINCLASS_MAX_BYTES", "2G")
    assert limits.max_bytes() == 2 << 30
    monkeypatch.setenv("LINCLASS_MAX_BYTES", "512 MiB")
    assert limits.max_bytes() == 512 * MiB
    monkeypatch.setenv("LINCLASS_MAX_BYTES", "12345")
    assert limits.max_bytes() == 12345
    assert limits.max_bytes(77) == 77


@pytest.mark.parametrize("text", ["lots", "-5", "0", "1.5G", "3P"])
def test_a_bad_environment_value_is_an_error_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv("LINCLASS_MAX_BYTES", text)
    with pytest.raises(ValueError, match=rf"LINCLASS_MAX_BYTES='{text}' is not a size; expected a positive"):
        limits.max_bytes()


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1G"])
def test_a_bad_keyword_value_is_an_error(value):
    with pytest.raises(ValueError, match=r"max_bytes must be a positive integer number of bytes, got"):
        limits.max_bytes(value)


def test_the_environment_variable_reaches_the_readers(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((100, 10)), y=np.zeros(100))
    monkeypatch.setenv("LINCLASS_MAX_BYTES", "4K")
    with pytest.raises(DataFormatError, match=r"its arrays would take 8,000 bytes, more than the limit of 4,096"):
        load_npz(path)
    assert load_npz(path, max_bytes=1 * MiB).X_train.shape == (100, 10)


# --------------------------------------------------------------------------- .npz / .npy


def test_a_562_byte_npz_declaring_72_tib_is_refused_before_allocating(tmp_path):
    shape = (100_000, 100_000_000)  # float64: 8e13 bytes = 72.8 TiB
    path = _zip(tmp_path / "huge.npz", {"X.npy": _npy_header(shape) + bytes(64), "y.npy": _npy_header((1,))})
    assert path.stat().st_size < 1000
    with pytest.raises(
        DataFormatError,
        match=r"huge\.npz: array 'X' declares shape \(100000, 100000000\) of float64 \(80,000,000,000,000 bytes\) "
        r"but holds 64 bytes",
    ):
        load_npz(path)


def test_an_npz_declaring_more_than_the_limit_is_refused_even_when_the_bytes_are_there(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((256, 1024)), y=np.zeros(256))
    with pytest.raises(
        DataFormatError, match=r"d\.npz: its arrays would take 2,097,152 bytes, more than the limit of 1,048,576"
    ):
        load_npz(path, max_bytes=MiB)


def test_a_zip_bomb_member_is_refused_by_its_expansion_ratio(tmp_path):
    X = np.zeros((20 * MiB // 8, 1))
    buffer = io.BytesIO()
    np.save(buffer, X)
    path = _zip(tmp_path / "bomb.npz", {"X.npy": buffer.getvalue(), "y.npy": _npy_header((0,))})
    assert path.stat().st_size < 100_000
    with pytest.raises(DataFormatError, match=r"bomb\.npz: array 'X' expands [\d,]+ compressed bytes to "
                       r"20,971,648 \([\d,]+ times, more than 200\); refusing a compression bomb"):  # fmt: skip
        load_npz(path)


def test_an_npy_header_larger_than_the_file_is_refused(tmp_path):
    path = tmp_path / "t.npy"
    path.write_bytes(_npy_header((10**9, 10**6)) + bytes(16))
    with pytest.raises(
        DataFormatError,
        match=r"t\.npy: the array declares shape \(1000000000, 1000000\) of float64 "
        r"\(8,000,000,000,000,000 bytes\) but holds 16 bytes",
    ):
        load_npy(path)


def test_a_model_file_larger_than_the_limit_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "m.npz"
    write_bundle(path, {"W": np.zeros((100, 100))}, {}, kind="model")
    size = path.stat().st_size
    with pytest.raises(ModelFileError, match=rf"m\.npz: the file would take {size:,} bytes, more than the limit "
                       r"of 10,000 bytes"):  # fmt: skip
        read_bundle(path, kind="model", max_bytes=10_000)
    assert read_bundle(path, kind="model")[0]["W"].shape == (100, 100)


# --------------------------------------------------------------------------- gzip, tar


def test_a_gzip_idx_bomb_is_refused_by_its_expansion_ratio(tmp_path):
    content = b"\x00\x00\x08\x03" + struct.pack(">3I", 6000, 64, 64) + bytes(6000 * 64 * 64)
    path = tmp_path / "bomb-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(content, 9))
    with pytest.raises(DataFormatError, match=r"bomb-idx3-ubyte\.gz: the gzip stream expands [\d,]+ compressed "
                       r"bytes to 24,576,000 \([\d,]+ times, more than 200\)"):  # fmt: skip
        load_idx(path)


def _tar_gz(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_tar_bomb_is_refused_by_its_expansion_ratio(tmp_path):
    path = _tar_gz(tmp_path / "bomb.tar.gz", {"cifar-10-batches-bin/data_batch_1.bin": bytes(30 * MiB)})
    assert path.stat().st_size < 100_000
    with pytest.raises(DataFormatError, match=r"bomb\.tar\.gz: its members expands [\d,]+ compressed bytes to "
                       r"31,457,280 \(.* times, more than 200\); refusing a compression bomb"):  # fmt: skip
        load_cifar10(path)


def test_a_tar_archive_whose_files_exceed_the_limit_is_refused_before_the_one_that_passes_it(tmp_path):
    rng = np.random.default_rng(0)
    members = {f"train/c/{k}.png": rng.bytes(300_000) for k in range(4)}
    path = _tar_gz(tmp_path / "a.tar.gz", members)
    read = []
    with pytest.raises(DataFormatError, match=r"a\.tar\.gz: the files read up to member 'train/c/3\.png' would "
                       r"take 1,200,000 bytes, more than the limit of 1,000,000"):  # fmt: skip
        for name, _ in iter_tar_files(path, max_bytes=1_000_000):
            read.append(name)
    assert read == ["train/c/0.png", "train/c/1.png", "train/c/2.png"]


# --------------------------------------------------------------------------- pickles


def _laughs(depth: int, width: int) -> list:
    value: list = [0] * width
    for _ in range(depth):
        value = [value] * width  # the pickler stores each level once and refers to it width times
    return value


def test_a_billion_laughs_cifar_pickle_is_refused_in_milliseconds(tmp_path):
    data = pickle.dumps({b"data": _laughs(9, 10), b"labels": [0]}, protocol=2)
    assert len(data) < 1000  # 10**10 elements
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    start = time.perf_counter()
    with pytest.raises(DataFormatError, match=r"data_batch_1: data is a nested list of 100,000,000 values; a "
                       r"CIFAR-10 batch holds at most 33,554,432 as lists"):  # fmt: skip
        load_cifar10(path)
    assert time.perf_counter() - start < 5


def test_a_nested_list_within_the_value_cap_still_counts_against_the_size_limit(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _laughs(5, 10), b"labels": [0]}, protocol=2))
    with pytest.raises(DataFormatError, match=r"data_batch_1: data, a nested list of 1,000,000 values, would take "
                       r"8,000,000 bytes, more than the limit of 1,048,576"):  # fmt: skip
        load_cifar10(path, max_bytes=MiB)


def test_a_billion_laughs_in_tuples_is_refused_before_unpickling(tmp_path):
    level = b"\x80\x02K\x00"  # push 0
    for _ in range(40):
        level += b"q\x00h\x00\x86"  # memoize the top, fetch it again, pair them: (t, t)
    data = b"\x80\x02}" + level[2:] + b"K\x01s."  # {(((0, 0), (0, 0)), ...): 1} -- hashing it never ends
    path = tmp_path / "data_batch_1"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=r"data_batch_1: the pickle builds a tuple nested \d+ deep standing "
                       r"for [\d,]+ values; a CIFAR-10 batch needs at most 64 levels and 100,000 values"):  # fmt: skip
        load_cifar10(path)


# --------------------------------------------------------------------------- LIBSVM, images


def test_a_15_byte_libsvm_file_implying_4_gb_is_refused(tmp_path):
    path = tmp_path / "d.svm"
    path.write_bytes(b"1 1000000000:1\n")
    assert path.stat().st_size == 15
    with pytest.raises(DataFormatError, match=r"d\.svm: 1 samples x 1000000000 features as a dense float32 array "
                       r"would take 4,000,000,000 bytes, more than the limit of 1,073,741,824"):  # fmt: skip
        load_svmlight(path, max_bytes=1 << 30)


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_with_too_many_pixels_is_refused_from_its_header(tmp_path):
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "train" / "a" / "big.png").write_bytes(_png(3000, 2000))
    with pytest.raises(DataFormatError, match=r"big\.png: the image of 3000x2000 pixels would take 48,000,000 "
                       r"bytes, more than the limit of 10,000,000"):  # fmt: skip
        load_image_folder(tmp_path, cache=False, max_bytes=10_000_000)


def test_a_resize_target_beyond_the_limit_is_refused_before_any_file_is_read(tmp_path):
    with pytest.raises(DataFormatError, match=r"size: the resize target of 100000x50000 pixels would take "
                       r"40,000,000,000 bytes, more than the limit of 1,048,576"):  # fmt: skip
        load_image_folder(tmp_path / "missing", size=(50_000, 100_000), max_bytes=MiB)


def test_all_decoded_images_together_count_against_the_limit(tmp_path):
    (tmp_path / "a").mkdir()
    for k in range(5):
        (tmp_path / "a" / f"{k}.png").write_bytes(_png(100, 100))
    # Each 100x100 grey image passes alone (8 bytes per pixel from its header: 80,000) and
    # counts 30,000 decoded (room for RGB, should another image be in colour).
    with pytest.raises(DataFormatError, match=r"the images decoded up to a/3\.png would take 120,000 bytes, more "
                       r"than the limit of 100,000"):  # fmt: skip
        load_image_folder(tmp_path, cache=False, max_bytes=100_000)
