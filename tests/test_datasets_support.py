"""Writers for small files in the official data formats, shared by the data set tests.

The CIFAR-10 python batches were written by Python 2 (``cPickle``, protocol 2) with NumPy 1.x:
strings are ``BINSTRING`` opcodes (bytes once loaded with ``encoding="bytes"``) and arrays
reference ``numpy.core.multiarray._reconstruct``. ``py2_pickle`` reproduces that byte layout;
``pickle.dumps(..., protocol=4)`` under NumPy 2 gives the ``numpy._core`` re-pickle.
"""

from __future__ import annotations

import gzip
import io
import pickle
import pickletools
import struct
import tarfile
from pathlib import Path

import numpy as np

from linclass.datasets.cifar import CIFAR10_CLASSES

_RECONSTRUCT = np.ndarray.__reduce_ex__(np.zeros(1), 2)[0]
IDX_TYPE_BYTES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
                  np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}  # fmt: skip


class _Py2Pickler(pickle._Pickler):
    """Pure-Python pickler writing bytes and (ASCII) text as Python 2 ``str`` opcodes, and
    ``_reconstruct`` under a chosen NumPy module name."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file: io.BytesIO, numpy_module: str) -> None:
        super().__init__(file, protocol=2)
        self.numpy_module = numpy_module

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str

    def save_py2_ascii(self, obj: str) -> None:
        self.save_py2_str(obj.encode("ascii"))

    dispatch[str] = save_py2_ascii

    def save_global(self, obj: object, name: str | None = None) -> None:
        if obj is _RECONSTRUCT:
            self.write(pickle.GLOBAL + f"{self.numpy_module}.multiarray\n_reconstruct\n".encode())
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def py2_pickle(obj: object, numpy_module: str = "numpy.core") -> bytes:
    buffer = io.BytesIO()
    _Py2Pickler(buffer, numpy_module).dump(obj)
    return buffer.getvalue()


def planes(images: np.ndarray) -> np.ndarray:
    """``(N, 32, 32, 3)`` images -> ``(N, 3072)`` rows of R, G, B planes (the CIFAR layout)."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3 * 32 * 32)


def cifar_python_batch(images: np.ndarray, labels: np.ndarray, style: str = "py2") -> bytes:
    """A pickled batch: ``style`` is ``"py2"`` (original), ``"numpy2"`` (protocol-4 re-pickle) or ``"list"``."""
    if style == "py2":
        batch = {
            b"batch_label": b"training batch 1 of 5",
            b"labels": [int(v) for v in labels],
            b"data": planes(images),
            b"filenames": [b"img_%d.png" % i for i in range(len(labels))],
        }
        return py2_pickle(batch)
    if style == "numpy2":
        return pickle.dumps({b"data": planes(images), b"labels": [int(v) for v in labels]}, protocol=4)
    rows = planes(images).tolist()
    return pickle.dumps({b"data": rows, b"labels": [int(v) for v in labels]}, protocol=4)


def cifar_python_meta(classes: tuple[str, ...] = CIFAR10_CLASSES) -> bytes:
    return py2_pickle({b"num_cases_per_batch": 10000, b"label_names": [c.encode() for c in classes],
                       b"num_vis": 3072})  # fmt: skip


def cifar_binary_batch(images: np.ndarray, labels: np.ndarray) -> bytes:
    return np.column_stack([labels.astype(np.uint8), planes(images)]).tobytes()


def write_cifar_folder(folder: Path, train: tuple, test: tuple, fmt: str, n_batches: int = 2) -> Path:
    """Write CIFAR batches (``fmt`` "py2", "numpy2", "list" or "binary") splitting ``train`` in ``n_batches``."""
    folder.mkdir(parents=True, exist_ok=True)
    binary = fmt == "binary"
    suffix = ".bin" if binary else ""
    chunks = np.array_split(np.arange(len(train[1])), n_batches)
    for k, rows in enumerate(chunks, start=1):
        batch = (train[0][rows], train[1][rows])
        content = cifar_binary_batch(*batch) if binary else cifar_python_batch(*batch, style=fmt)
        (folder / f"data_batch_{k}{suffix}").write_bytes(content)
    content = cifar_binary_batch(*test) if binary else cifar_python_batch(*test, style=fmt)
    (folder / f"test_batch{suffix}").write_bytes(content)
    if binary:
        (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_CLASSES) + "\n\n")
    else:
        (folder / "batches.meta").write_bytes(cifar_python_meta())
    return folder


def tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return path


def tar_folder(path: Path, folder: Path, arcname: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return path


def idx_bytes(array: np.ndarray, compress: bool = False) -> bytes:
    """An IDX file for ``array`` (big-endian values), optionally gzipped."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPE_BYTES[array.dtype.newbyteorder("=")], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    content = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    return gzip.compress(content) if compress else content


IMAGES = np.random.default_rng(0).integers(0, 256, (6, 28, 28), dtype=np.uint8)
LABELS = np.array([0, 9, 3, 3, 1, 7], dtype=np.uint8)


def write_mnist(folder: Path, images=IMAGES, labels=LABELS, compress: bool = True, test=None) -> Path:
    """The four MNIST-layout IDX files (test split: the first two train images unless given)."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    test_images, test_labels = test if test is not None else (images[:2], labels[:2])
    for stem, array in (
        ("train-images-idx3-ubyte", images),
        ("train-labels-idx1-ubyte", labels),
        ("t10k-images-idx3-ubyte", test_images),
        ("t10k-labels-idx1-ubyte", test_labels),
    ):
        (folder / (stem + suffix)).write_bytes(idx_bytes(array, compress=compress))  # fmt: skip
    return folder


def random_images(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def test_py2_pickle_uses_python2_strings_and_the_numpy1_module_name():
    images, labels = random_images(2)
    content = cifar_python_batch(images, labels, style="py2")
    opcodes = {op.name for op, _, _ in pickletools.genops(content)}
    assert b"cnumpy.core.multiarray\n_reconstruct\n" in content
    assert {"BINSTRING", "SHORT_BINSTRING"} <= opcodes
    assert not opcodes & {"BINBYTES", "SHORT_BINBYTES", "BINUNICODE", "SHORT_BINUNICODE"}
    assert content[:2] == b"\x80\x02"


def test_numpy2_repickle_names_numpy_core_underscore_module():
    content = cifar_python_batch(*random_images(2), style="numpy2")
    assert b"numpy._core.multiarray" in content and b"numpy.core.multiarray" not in content


def test_planes_puts_the_red_plane_first():
    images = np.zeros((1, 32, 32, 3), dtype=np.uint8)
    images[0, 0, 1] = (7, 8, 9)
    assert planes(images)[0, [1, 1025, 2049]].tolist() == [7, 8, 9]


def test_idx_bytes_writes_magic_dims_and_big_endian_values():
    content = idx_bytes(np.array([[1, 2]], dtype=np.int16))
    assert content == b"\x00\x00\x0b\x02" + b"\x00\x00\x00\x01\x00\x00\x00\x02" + b"\x00\x01\x00\x02"
