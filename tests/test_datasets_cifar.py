"""CIFAR-10 python and binary formats: round trips, archive forms, corruptions, malicious pickles."""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest

from linclass.datasets import (
    CIFAR10_CLASSES,
    DataFormatError,
    DataNotFoundError,
    UnsafeDataError,
    load_cifar10,
)
from test_datasets_support import (
    cifar_binary_batch,
    cifar_python_batch,
    planes,
    py2_pickle,
    random_images,
    tar_folder,
    tar_gz,
    write_cifar_folder,
)

TRAIN = random_images(12, seed=1)
TEST = random_images(5, seed=2)


def assert_matches(ds, train=TRAIN, test=TEST):
    np.testing.assert_array_equal(ds.X_train, train[0])
    np.testing.assert_array_equal(ds.y_train, train[1])
    np.testing.assert_array_equal(ds.X_test, test[0])
    np.testing.assert_array_equal(ds.y_test, test[1])
    assert ds.X_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.classes == CIFAR10_CLASSES and ds.image_shape == (32, 32, 3)


@pytest.mark.parametrize("fmt", ["py2", "numpy2", "list", "binary"])
def test_folder_of_batches_round_trips_every_format(tmp_path, fmt):
    assert_matches(load_cifar10(write_cifar_folder(tmp_path / "cifar", TRAIN, TEST, fmt, n_batches=3)))


@pytest.mark.parametrize(
    ("fmt", "folder"), [("py2", "cifar-10-batches-py"), ("binary", "cifar-10-batches-bin")]
)
def test_official_archive_layout_loads_from_tar_gz_and_from_its_parent_folder(tmp_path, fmt, folder):
    batches = write_cifar_folder(tmp_path / "extracted" / folder, TRAIN, TEST, fmt)
    assert_matches(load_cifar10(tmp_path / "extracted"))
    assert_matches(load_cifar10(tar_folder(tmp_path / "cifar.tar.gz", batches, folder)))


def test_python_and_binary_formats_give_identical_arrays(tmp_path):
    py = load_cifar10(write_cifar_folder(tmp_path / "py", TRAIN, TEST, "py2"))
    binary = load_cifar10(write_cifar_folder(tmp_path / "bin", TRAIN, TEST, "binary"))
    for name in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(py, name), getattr(binary, name))


def test_single_batch_file_becomes_the_train_split(tmp_path):
    batch = tmp_path / "data_batch_1"
    batch.write_bytes(cifar_python_batch(*TRAIN))
    ds = load_cifar10(batch)
    np.testing.assert_array_equal(ds.X_train, TRAIN[0])
    assert ds.X_test.shape == (0, 32, 32, 3) and ds.y_test.shape == (0,)


def test_meta_label_names_become_classes(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", TRAIN, TEST, "binary")
    (folder / "batches.meta.txt").write_text("\n".join(f"class{k}" for k in range(10)))
    assert load_cifar10(folder).classes == tuple(f"class{k}" for k in range(10))


def test_batches_with_any_number_of_images_concatenate_in_order(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", TRAIN, TEST, "py2", n_batches=5)
    assert load_cifar10(folder).X_train.shape == (12, 32, 32, 3)


def test_binary_size_not_multiple_of_record_is_an_error(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", TRAIN, TEST, "binary")
    (folder / "data_batch_2.bin").write_bytes(cifar_binary_batch(*TRAIN)[:-1])
    with pytest.raises(
        DataFormatError, match=r"data_batch_2\.bin: holds 36,875 bytes, not a multiple of the 3073"
    ):
        load_cifar10(folder)


def test_binary_label_above_nine_is_an_error(tmp_path):
    content = bytearray(cifar_binary_batch(*TRAIN))
    content[3 * 3073] = 10
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(bytes(content))
    with pytest.raises(DataFormatError, match=r"data_batch_1\.bin: record 3 has label 10; expected 0\.\.9"):
        load_cifar10(path)


def test_python_label_above_nine_is_an_error(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar_python_batch(TRAIN[0], np.full(12, 11)))
    with pytest.raises(DataFormatError, match=r"data_batch_1: record 0 has label 11; expected 0\.\.9"):
        load_cifar10(path)


def test_python_batch_with_wrong_row_length_is_an_error(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(DataFormatError, match=r"data has shape \(2, 100\); expected \(N, 3072\)"):
        load_cifar10(path)


def test_python_batch_with_short_array_bytes_is_an_error(tmp_path):
    raw = planes(TRAIN[0]).tobytes()
    content = cifar_python_batch(*TRAIN)
    short = content.replace(
        b"T" + struct.pack("<i", len(raw)) + raw, b"T" + struct.pack("<i", len(raw) - 1) + raw[1:]
    )
    assert short != content
    path = tmp_path / "data_batch_1"
    path.write_bytes(short)
    with pytest.raises(
        DataFormatError,
        match=r"data declares shape \(12, 3072\) of uint8 \(36,864 bytes\) but holds 36,863 bytes",
    ):
        load_cifar10(path)


def test_empty_array_with_unindexable_shape_is_an_error(tmp_path):
    path = tmp_path / "data_batch_1"
    huge = b"\x8a\x05\x00\x00\x00\x00\x01"  # LONG1 2**32
    path.write_bytes(
        b"\x80\x02}U\x04data" + b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
        b"(K\x01" + huge + huge + b"K\x00\x87cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R\x89U\x00tbs."
    )
    with pytest.raises(
        DataFormatError, match=r"data declares shape \(4294967296, 4294967296, 0\), more than"
    ):
        load_cifar10(path)


def test_missing_batch_in_the_middle_is_an_error(tmp_path):
    folder = write_cifar_folder(tmp_path / "c", TRAIN, TEST, "py2", n_batches=3)
    (folder / "data_batch_2").unlink()
    with pytest.raises(
        DataFormatError, match="data_batch_2 is missing; expected data_batch_1 .. data_batch_N"
    ):
        load_cifar10(folder)


def test_labels_count_must_match_rows(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar_python_batch(TRAIN[0], TRAIN[1][:5]))
    with pytest.raises(DataFormatError, match=r"labels has shape \(5,\) but data has 12 rows"):
        load_cifar10(path)


def test_absent_path_and_folder_without_batches_say_what_was_expected(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"no such file or folder.*fetch\('cifar10'\)"):
        load_cifar10(tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match="holds no data_batch_1 or data_batch_1.bin"):
        load_cifar10(tmp_path)


def test_not_a_pickle_is_a_format_error(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"hello world")
    with pytest.raises(DataFormatError, match="data_batch_1: not a readable pickle"):
        load_cifar10(path)


# --- malicious pickles: refused before anything runs --------------------------------------------


class _Call:
    """Pickles as ``func(*args)``: what an attacker would put in a file."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker: Path) -> dict[str, tuple[bytes, str]]:
    touch = f"touch {marker}"
    write = f"open({str(marker)!r}, 'w').write('x')"
    npy = marker.with_suffix(".npy")
    return {
        "os.system": (pickle.dumps(_Call(os.system, touch), protocol=2), r"posix\.system"),
        "os.system protocol 0": (f"cos\nsystem\n(S'{touch}'\ntR.".encode(), r"os\.system"),
        "eval": (pickle.dumps(_Call(eval, write), protocol=2), r"__builtin__\.eval"),
        "exec": (pickle.dumps(_Call(exec, write), protocol=4), r"builtins\.exec"),
        "py2 eval": (b"c__builtin__\neval\n(S'" + write.encode() + b"'\ntR.", r"__builtin__\.eval"),
        "subprocess.Popen": (pickle.dumps(_Call(subprocess.Popen, ["touch", str(marker)]), protocol=4),
                             r"subprocess\.Popen"),
        "numpy.load allow_pickle": (pickle.dumps(_Call(np.load, str(npy), None, True), protocol=2), r"numpy\.load"),
        "hidden in labels": (py2_pickle({b"data": np.zeros((1, 3072), np.uint8),
                                         b"labels": _Call(os.system, touch)}), r"posix\.system"),
        "object array": (pickle.dumps({b"data": np.array([_Call(os.system, touch)], dtype=object)}, protocol=4),
                         r"posix\.system"),
    }  # fmt: skip


@pytest.mark.parametrize("payload", list(_payloads(Path("m"))))
def test_malicious_pickle_is_refused_and_nothing_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    np.save(marker.with_suffix(".npy"), np.array([_Call(os.system, f"touch {marker}")], dtype=object),
            allow_pickle=True)  # fmt: skip
    content, refused = _payloads(marker)[payload]
    path = tmp_path / "data_batch_1"
    path.write_bytes(content)
    with pytest.raises(UnsafeDataError, match=rf"data_batch_1: refusing to load pickle global '{refused}'"):
        load_cifar10(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "global_name",
    ["numpy.core.multiarray scalar", "numpy frombuffer", "numpy load", "builtins getattr", "builtins __import__",
     "os system", "posix system", "subprocess Popen", "functools partial", "operator attrgetter",
     "codecs encode", "copyreg _reconstructor", "numpy.core.numeric frombuffer", "_codecs decode"],
)  # fmt: skip
def test_every_global_outside_the_allowlist_is_refused(tmp_path, global_name):
    module, name = global_name.split()
    path = tmp_path / "test_batch"
    path.write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"q\x00.")
    with pytest.raises(
        UnsafeDataError, match=rf"test_batch: refusing to load pickle global '{module}\.{name}'"
    ):
        load_cifar10(path)


def test_object_dtype_array_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": np.array([1, 2], dtype=object), b"labels": [0]}, protocol=4))
    with pytest.raises(
        UnsafeDataError, match=r"data_batch_1: data has dtype 'O8' \(object\); refusing object arrays"
    ):
        load_cifar10(path)


def test_reconstruct_of_anything_but_ndarray_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\ndtype\nK\x00\x85U\x01b\x87R.")
    with pytest.raises(DataFormatError, match="data_batch_1: _reconstruct may only build a numpy.ndarray"):
        load_cifar10(path)


def test_build_on_an_admitted_global_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02cnumpy\nndarray\n}U\x08__code__K\x01sb.")
    with pytest.raises(DataFormatError, match="data_batch_1: _NdarrayToken does not accept pickled state"):
        load_cifar10(path)


def test_protocol_5_out_of_band_buffers_are_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x05\x97.")
    with pytest.raises(UnsafeDataError, match="data_batch_1: refusing pickle opcode NEXT_BUFFER"):
        load_cifar10(path)


# --- unsafe archives: refused as a whole, nothing written ------------------------------------------


def _archive_with(path: Path, info: tarfile.TarInfo, content: bytes = b"") -> Path:
    good = cifar_python_batch(*TRAIN)
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        ok = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        ok.size = len(good)
        tar.addfile(ok, io.BytesIO(good))
        info.size = len(content) if info.isfile() else 0
        tar.addfile(info, io.BytesIO(content) if info.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        (_member("../data_batch_2"), "has a '..' path component"),
        (_member("cifar-10-batches-py/../../test_batch"), "has a '..' path component"),
        (_member("/tmp/test_batch"), "has an absolute path"),
        (
            _member("cifar-10-batches-py/test_batch", tarfile.SYMTYPE, "/etc/passwd"),
            "is a link to '/etc/passwd'",
        ),
        (_member("cifar-10-batches-py/test_batch", tarfile.LNKTYPE, "../x"), "is a link to '../x'"),
        (_member("cifar-10-batches-py/dev", tarfile.CHRTYPE), "is a device or pipe"),
        (_member("cifar-10-batches-py/fifo", tarfile.FIFOTYPE), "is a device or pipe"),
    ],
)
def test_unsafe_archive_members_are_refused(tmp_path, member, problem):
    archive = _archive_with(tmp_path / "sub" / "cifar-10-python.tar.gz", member, cifar_python_batch(*TEST))
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(UnsafeDataError, match=rf"cifar-10-python\.tar\.gz: member '{member.name}' {problem}"):
        load_cifar10(archive)
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_corrupt_archive_is_a_format_error(tmp_path):
    archive = tar_gz(
        tmp_path / "cifar.tar.gz", {"cifar-10-batches-py/data_batch_1": cifar_python_batch(*TRAIN)}
    )
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(DataFormatError, match=r"cifar\.tar\.gz: not a readable tar archive"):
        load_cifar10(archive)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_python3_repickles_of_every_protocol_load(tmp_path, protocol):
    # Python 3 writes bytes into protocol 2 as _codecs.encode(text, "latin1"); protocol 5 (the
    # default from Python 3.14) writes arrays as numpy._core.numeric._frombuffer(buffer, ...).
    images, labels = TRAIN
    batch = {b"data": planes(images), b"labels": [int(v) for v in labels]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch, protocol=protocol))
    ds = load_cifar10(path)
    np.testing.assert_array_equal(ds.X_train, images)
    np.testing.assert_array_equal(ds.y_train, labels)


def test_codecs_encode_is_admitted_only_for_latin1_text(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(b"\x80\x02c_codecs\nencode\nq\x00X\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.")
    with pytest.raises(DataFormatError, match="_codecs.encode may only turn latin-1 text into bytes"):
        load_cifar10(path)
