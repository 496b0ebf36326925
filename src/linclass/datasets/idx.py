"""IDX files (the MNIST format) and the MNIST / Fashion-MNIST loaders.

An IDX file is a 4-byte magic number ``0x00 0x00 TYPE NDIM``, ``NDIM`` big-endian uint32
sizes, then the values in C order, big-endian. ``TYPE`` is 0x08 uint8, 0x09 int8, 0x0B int16,
0x0C int32, 0x0D float32 or 0x0E float64. Files may be gzipped (detected by their first bytes,
not by name). Sizes are checked against the data actually present, against the size limit
and, for gzip, against the compressed size (see :mod:`linclass.limits`) before anything is
allocated, so a corrupt header or a gzip bomb is an error message, not a ``MemoryError``.
"""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from linclass import limits

from ._dirs import data_home
from .archive import GZIP_MAGIC
from .base import DataFormatError, DataNotFoundError, Dataset

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_CHUNK = 1 << 20


def parse_idx(data: bytes, source: str, noun: str = "items", *, max_bytes: int | None = None) -> np.ndarray:
    """Decode the bytes of an IDX file (gzipped or not) into a native-endian array.

    Args:
        data: the file content.
        source: the file name used in error messages.
        noun: what the first dimension counts (``"images"``, ``"labels"``) for error messages.
        max_bytes: the size limit (see :mod:`linclass.limits`).
    """
    return _read_idx(io.BytesIO(data), len(data), source, noun, limits.max_bytes(max_bytes))


def load_idx(path: str | Path, *, noun: str = "items", max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file, gzipped or not, into a NumPy array of its declared shape.

    Args:
        path: the file (``*-ubyte`` or ``*-ubyte.gz``; gzip is detected from the content).
        noun: what the first dimension counts, used in error messages.
        max_bytes: the size limit (see :mod:`linclass.limits`).

    Returns:
        Array of shape ``(d0, d1, ...)`` with the file's dtype in native byte order (uint8 for
        MNIST images and labels); writable.

    Example (with MNIST's training images)::

        images = load_idx("train-images-idx3-ubyte.gz")
        images.shape, images.dtype      # ((60000, 28, 28), dtype('uint8'))
    """
    path = Path(path)
    limit = limits.max_bytes(max_bytes)
    try:
        raw = limits.open_regular(path, "an IDX file", DataFormatError)
    except (FileNotFoundError, NotADirectoryError):
        raise DataNotFoundError(f"{path}: no such file; expected an IDX file") from None
    with raw:
        return _read_idx(raw, path.stat().st_size, str(path), noun, limit)


def _read_idx(raw: BinaryIO, size: int, source: str, noun: str, limit: int) -> np.ndarray:
    compressed = raw.read(2) == GZIP_MAGIC
    raw.seek(0)
    stream = gzip.GzipFile(fileobj=raw) if compressed else raw
    try:
        dtype, ndim = _parse_header(_read_exactly(stream, 4, source, "the 4-byte magic number"), source)
        dims = _parse_dims(_read_exactly(stream, 4 * ndim, source, f"{ndim} dimension sizes"), ndim, source)
        expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
        if compressed:
            limits.check_size(
                expected,
                limit,
                f"{source}: header's {'x'.join(map(str, dims))} {dtype.name} values",
                DataFormatError,
            )
            limits.check_expansion(expected, size, f"{source}: the gzip stream", DataFormatError)
            payload = _read_at_most(stream, expected + 1)
            _check_payload(dims, dtype, len(payload), source, noun)
        else:
            _check_payload(dims, dtype, size - 4 - 4 * ndim, source, noun)
            payload = bytearray(expected)
            stream.readinto(payload)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(
            f"{source}: not a readable gzip stream ({exc}); expected a gzipped IDX file"
        ) from None
    try:
        values = np.frombuffer(payload, dtype=dtype).reshape(dims)
    except ValueError:  # an empty array whose other sizes overflow NumPy's index type
        raise DataFormatError(
            f"{source}: header declares sizes {'x'.join(map(str, dims))}, more than an array can index"
        ) from None
    return values if dtype.itemsize == 1 else values.astype(dtype.newbyteorder("="))


def load_mnist(root: str | Path) -> Dataset:
    """Load MNIST (or any data set in its four-file IDX layout) from a folder.

    Args:
        root: folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
            ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally ``.gz``
            (the ``train-images.idx3-ubyte`` spelling is accepted too).

    Returns:
        Dataset of ``(N, 28, 28)`` uint8 images, classes ``"0".."9"``.
    """
    return _load_mnist_layout(Path(root), MNIST_CLASSES, "mnist")


def load_fashion_mnist(root: str | Path | None = None) -> Dataset:
    """Load Fashion-MNIST (60,000 train + 10,000 test 28x28 grey images of 10 clothing classes).

    Args:
        root: folder with the four IDX files. ``None`` searches ``$LINCLASS_DATA/fashion-mnist``
            (default ``~/.cache/linclass/fashion-mnist``, where ``fetch("fashion-mnist")`` puts
            them), ``$LINCLASS_DATA`` itself, then ``/usr/share/datasets/fashion-mnist`` (Debian
            package ``dataset-fashion-mnist``).

    Returns:
        Dataset with classes T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker,
        Bag, Ankle boot.
    """
    if root is not None:
        return _load_mnist_layout(Path(root), FASHION_MNIST_CLASSES, "fashion-mnist")
    candidates = (data_home() / "fashion-mnist", data_home(), FASHION_MNIST_SYSTEM_DIR)
    for folder in candidates:
        if _find(folder, MNIST_FILES["train_images"]) is not None:
            return _load_mnist_layout(folder, FASHION_MNIST_CLASSES, "fashion-mnist")
    raise DataNotFoundError(
        f"Fashion-MNIST not found; looked in {', '.join(map(str, candidates))}. Install the Debian package "
        "(apt-get install dataset-fashion-mnist), run linclass.datasets.fetch('fashion-mnist'), or pass "
        "root=FOLDER holding train-images-idx3-ubyte.gz and the three other IDX files"
    )


def _load_mnist_layout(root: Path, classes: tuple[str, ...], name: str) -> Dataset:
    paths = {}
    for key, stem in MNIST_FILES.items():
        found = _find(root, stem)
        if found is None:
            raise DataNotFoundError(
                f"{root}: has no {stem} or {stem}.gz; expected the four MNIST-layout IDX files"
            )
        paths[key] = found
    splits = []
    for split in ("train", "test"):
        images = load_idx(paths[f"{split}_images"], noun="images")
        labels = load_idx(paths[f"{split}_labels"], noun="labels")
        _expect_magic(images, 3, paths[f"{split}_images"], "images", 0x00000803)
        _expect_magic(labels, 1, paths[f"{split}_labels"], "labels", 0x00000801)
        if len(images) != len(labels):
            raise DataFormatError(
                f"{paths[f'{split}_images']}: holds {len(images)} images but {paths[f'{split}_labels'].name} "
                f"holds {len(labels)} labels; expected one label per image"
            )
        bad = np.flatnonzero(labels >= len(classes))
        if bad.size:
            raise DataFormatError(
                f"{paths[f'{split}_labels']}: label {bad[0]} is {labels[bad[0]]}; "
                f"expected 0..{len(classes) - 1}"
            )
        splits += [images, labels]
    return Dataset(*splits, classes, splits[0].shape[1:], name=f"{name}:{root}")


def _find(root: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (root / name).is_file():
            return root / name
    return None


def _expect_magic(values: np.ndarray, ndim: int, path: Path, noun: str, magic: int) -> None:
    if values.dtype != np.uint8 or values.ndim != ndim:
        raise DataFormatError(
            f"{path}: holds {values.ndim}-D {values.dtype} data; MNIST {noun} need magic number "
            f"0x{magic:08X} (uint8, {ndim}-D)"
        )


def _parse_header(magic: bytes, source: str) -> tuple[np.dtype, int]:
    if len(magic) < 4:
        raise DataFormatError(
            f"{source}: holds {len(magic)} bytes; expected at least the 4-byte IDX magic number"
        )
    if magic[:2] != b"\x00\x00" or magic[2] not in IDX_TYPES:
        raise DataFormatError(
            f"{source}: bad IDX magic number 0x{magic.hex().upper()}; expected 0x0000TTNN with type TT in "
            f"{{{', '.join(f'{t:02X}' for t in IDX_TYPES)}}} and NN dimensions"
        )
    if magic[3] == 0:
        raise DataFormatError(f"{source}: IDX header declares 0 dimensions; expected at least 1")
    return np.dtype(IDX_TYPES[magic[2]]), magic[3]


def _parse_dims(raw: bytes, ndim: int, source: str) -> tuple[int, ...]:
    if len(raw) < 4 * ndim:
        raise DataFormatError(
            f"{source}: header ends after {len(raw)} of the {4 * ndim} bytes of {ndim} sizes"
        )
    return struct.unpack(f">{ndim}I", raw)


def _check_payload(dims: tuple[int, ...], dtype: np.dtype, available: int, source: str, noun: str) -> None:
    expected = int(np.prod(dims, dtype=object)) * dtype.itemsize
    if available != expected:
        shape = "x".join(map(str, dims[1:]))
        what = f"{dims[0]} {noun}" + (f" of {shape}" if shape else "")
        raise DataFormatError(
            f"{source}: header declares {what} ({expected:,} bytes) but the file holds {available:,} bytes"
        )


def _read_exactly(stream: BinaryIO, n: int, source: str, what: str) -> bytes:
    data = stream.read(n)
    if len(data) < n:
        raise DataFormatError(f"{source}: ends after {len(data)} bytes while reading {what}; not an IDX file")
    return data


def _read_at_most(stream: BinaryIO, limit: int) -> bytearray:
    """Read up to ``limit`` bytes in chunks, so a header's claim allocates nothing by itself."""
    buffer = bytearray()
    while len(buffer) < limit:
        chunk = stream.read(min(_CHUNK, limit - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer
