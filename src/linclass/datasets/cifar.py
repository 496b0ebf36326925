"""CIFAR-10 in both official formats, from a folder, a single batch file or the downloaded archive.

The "python version" (``cifar-10-python.tar.gz``) holds pickled dicts ``data_batch_1..5`` and
``test_batch`` with ``b'data'``: ``(N, 3072)`` uint8 rows (1024 red, then 1024 green, then 1024
blue bytes, each plane row-major 32x32) and ``b'labels'``: N ints, plus ``batches.meta`` with
``b'label_names'``. They are read with a restricted unpickler (see ``_unpickle``).
The "binary version" (``cifar-10-binary.tar.gz``) holds ``data_batch_1.bin..5.bin`` and
``test_batch.bin``: records of 1 label byte and 3072 pixel bytes in the same plane order, plus
``batches.meta.txt`` with one class name per line. Both give identical arrays.
"""

from __future__ import annotations

import functools
import re
import reprlib
from pathlib import Path

import numpy as np

from linclass import limits

from ._unpickle import as_array, restricted_loads
from .archive import is_tar_archive, iter_tar_files
from .base import DataFormatError, DataNotFoundError, Dataset, empty_like_rows

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
IMAGE_SHAPE = (32, 32, 3)
PIXELS = 32 * 32 * 3
RECORD_BYTES = 1 + PIXELS
_FOLDERS = ("cifar-10-batches-py", "cifar-10-batches-bin")
_BATCH = re.compile(r"(data_batch_(\d+)|test_batch)(\.bin)?|batches\.meta(\.txt)?")


def rows_to_images(rows: np.ndarray) -> np.ndarray:
    """``(N, 3072)`` rows of R, G, B planes -> ``(N, 32, 32, 3)`` contiguous uint8 images."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def parse_python_batch(
    data: bytes, source: str, n_classes: int = 10, *, max_bytes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Decode one pickled batch into ``(images (N, 32, 32, 3) uint8, labels (N,) int64)``."""
    batch = restricted_loads(data, source)
    rows = as_array(_entry(batch, "data", source), source, "data", max_bytes)
    if rows.ndim != 2 or rows.shape[1] != PIXELS:
        raise DataFormatError(
            f"{source}: data has shape {rows.shape}; expected (N, 3072) rows of 1024 red, 1024 green and "
            "1024 blue bytes"
        )
    if rows.dtype != np.uint8:
        if rows.dtype.kind not in "biu" or (rows.size and (rows.min() < 0 or rows.max() > 255)):
            raise DataFormatError(f"{source}: data holds values outside 0..255; expected uint8 pixels")
        rows = rows.astype(np.uint8)
    labels = as_array(_entry(batch, "labels", source), source, "labels", max_bytes)
    if labels.ndim != 1 or labels.shape[0] != rows.shape[0]:
        raise DataFormatError(
            f"{source}: labels has shape {labels.shape} but data has {rows.shape[0]} rows; "
            "expected one label per row"
        )
    return rows_to_images(rows), _check_labels(labels, n_classes, source)


def parse_python_meta(data: bytes, source: str) -> tuple[str, ...]:
    """Class names from a pickled ``batches.meta``."""
    names = _entry(restricted_loads(data, source), "label_names", source)
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names) or not names:
        raise DataFormatError(f"{source}: label_names must be a non-empty list of strings")
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


def parse_binary_batch(data: bytes, source: str, n_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Decode one binary batch of 3073-byte records into ``(images, labels)``."""
    if len(data) % RECORD_BYTES:
        raise DataFormatError(
            f"{source}: holds {len(data):,} bytes, not a multiple of the {RECORD_BYTES}-byte records "
            "(1 label byte + 3072 pixel bytes) of the CIFAR-10 binary format"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    return rows_to_images(records[:, 1:]), _check_labels(records[:, 0], n_classes, source)


def parse_binary_meta(data: bytes, source: str) -> tuple[str, ...]:
    """Class names from ``batches.meta.txt`` (one per line, blank lines ignored)."""
    names = tuple(line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip())
    if not names:
        raise DataFormatError(f"{source}: holds no class names; expected one name per line")
    return names


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def load_cifar10(root: str | Path, *, max_bytes: int | None = None) -> Dataset:
    """Load CIFAR-10 from either official format as ``(N, 32, 32, 3)`` uint8 images.

    Args:
        root: a folder holding the batches (directly or in ``cifar-10-batches-py``/``-bin``),
            the downloaded ``cifar-10-python.tar.gz``/``cifar-10-binary.tar.gz`` (read in memory),
            or a single batch file (which becomes the train split; the test split is empty).
        max_bytes: the size limit (see :mod:`linclass.limits`) for each file and what it holds.

    Returns:
        Dataset with 50,000 train and 10,000 test images for the official files; ``classes``
        from ``batches.meta`` (or the CIFAR-10 names when it is absent).

    Example (with the downloaded archive)::

        ds = load_cifar10("cifar-10-python.tar.gz")
        ds.X_train.shape, ds.classes[:2]    # ((50000, 32, 32, 3), ('airplane', 'automobile'))
    """
    path = Path(root)
    limit = limits.max_bytes(max_bytes)
    if not path.exists():
        raise DataNotFoundError(
            f"{path}: no such file or folder; expected a CIFAR-10 folder, batch file or "
            "cifar-10-python.tar.gz (get it with linclass.datasets.fetch('cifar10'))"
        )
    if path.is_dir():
        files = _read_folder(path, limit)
    elif is_tar_archive(path):
        files = _read_archive(path, limit)
    else:
        return _load_single_batch(path, limit)
    return _assemble(files, str(path), limit)


def _read_folder(path: Path, limit: int) -> dict[str, tuple[str, bytes]]:
    for folder in (path, *(path / name for name in _FOLDERS)):
        if (folder / "data_batch_1").exists() or (folder / "data_batch_1.bin").exists():
            return {
                f.name: (str(f), limits.read_regular(f, "a CIFAR-10 batch file", DataFormatError, limit))
                for f in sorted(folder.iterdir())
                if _BATCH.fullmatch(f.name) and not f.is_dir()
            }
    raise DataNotFoundError(
        f"{path}: holds no data_batch_1 or data_batch_1.bin (also looked in {' and '.join(_FOLDERS)}); "
        "expected the CIFAR-10 python or binary batches"
    )


def _read_archive(path: Path, limit: int) -> dict[str, tuple[str, bytes]]:
    files: dict[str, tuple[str, bytes]] = {}
    images = []

    def select(member: str) -> bool:
        if member.lower().endswith(_IMAGE_SUFFIXES):
            images.append(member)
        return _BATCH.fullmatch(member.rsplit("/", 1)[-1]) is not None

    for member, content in iter_tar_files(path, select=select, max_bytes=limit):
        base = member.rsplit("/", 1)[-1]
        if base in files:
            raise DataFormatError(
                f"{path}: holds {base} twice ({files[base][0]} and {member}); expected one of each"
            )
        files[base] = (f"{path}:{member}", content)
    if not files and images:
        raise DataNotFoundError(
            f"{path}: holds image files ({images[0]}, ...) but no CIFAR-10 batches; for an archive of "
            f"<split>/<class>/<image> folders write folder:{path}"
        )
    return files


def _assemble(files: dict[str, tuple[str, bytes]], source: str, limit: int) -> Dataset:
    binary = "data_batch_1" not in files and "data_batch_1.bin" in files
    suffix = ".bin" if binary else ""
    parse = parse_binary_batch if binary else functools.partial(parse_python_batch, max_bytes=limit)
    numbers = sorted(
        int(m.group(2))
        for m in map(_BATCH.fullmatch, files)
        if m and m.group(2) and bool(m.group(3)) == binary
    )
    if not numbers or numbers != list(range(1, numbers[-1] + 1)):
        missing = sorted(set(range(1, (numbers or [1])[-1] + 1)) - set(numbers))
        raise DataFormatError(
            f"{source}: data_batch_{missing[0]}{suffix} is missing; expected data_batch_1{suffix} .. "
            f"data_batch_N{suffix} without gaps"
        )
    meta_name = "batches.meta.txt" if binary else "batches.meta"
    classes = CIFAR10_CLASSES
    if meta_name in files:
        meta_source, meta = files[meta_name]
        classes = (parse_binary_meta if binary else parse_python_meta)(meta, meta_source)
    parts = [
        parse(files[f"data_batch_{k}{suffix}"][1], files[f"data_batch_{k}{suffix}"][0], len(classes))
        for k in numbers
    ]
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    test_name = f"test_batch{suffix}"
    if test_name in files:
        X_test, y_test = parse(files[test_name][1], files[test_name][0], len(classes))
    else:
        X_test, y_test = empty_like_rows(X_train), np.empty(0, dtype=np.int64)
    return Dataset(X_train, y_train, X_test, y_test, classes, IMAGE_SHAPE, name=f"cifar10:{source}")


def _load_single_batch(path: Path, limit: int) -> Dataset:
    binary = path.suffix == ".bin"
    meta = path.with_name("batches.meta.txt" if binary else "batches.meta")
    classes = CIFAR10_CLASSES
    if meta.exists():
        content = limits.read_regular(meta, "a CIFAR-10 meta file", DataFormatError, limit)
        classes = (parse_binary_meta if binary else parse_python_meta)(content, str(meta))
    parse = parse_binary_batch if binary else functools.partial(parse_python_batch, max_bytes=limit)
    data = limits.read_regular(path, "a CIFAR-10 batch file or archive", DataFormatError, limit)
    X, y = parse(data, str(path), len(classes))
    return Dataset(
        X, y, empty_like_rows(X), np.empty(0, dtype=np.int64), classes, IMAGE_SHAPE, name=f"cifar10:{path}"
    )


def _entry(batch: object, key: str, source: str) -> object:
    if not isinstance(batch, dict):
        raise DataFormatError(f"{source}: holds a {type(batch).__name__}; expected a dict with b'{key}'")
    for candidate in (key.encode(), key):
        if candidate in batch:
            return batch[candidate]
    found = sorted(repr(k) if isinstance(k, (bytes, str)) else type(k).__name__ for k in batch)
    raise DataFormatError(f"{source}: has no b'{key}' entry; found keys {reprlib.repr(found)}")


def _check_labels(labels: np.ndarray, n_classes: int, source: str) -> np.ndarray:
    if labels.dtype.kind not in "biu":
        raise DataFormatError(f"{source}: labels have dtype {labels.dtype}; expected integers")
    bad = np.flatnonzero((labels < 0) | (labels >= n_classes))
    if bad.size:
        raise DataFormatError(
            f"{source}: record {bad[0]} has label {labels[bad[0]]}; expected 0..{n_classes - 1} "
            f"({n_classes} classes)"
        )
    return labels.astype(np.int64)
