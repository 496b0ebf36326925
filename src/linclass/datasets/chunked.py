"""Data larger than memory as ``dask.array`` row chunks: ``.npy`` files, memory maps, zarr, image folders.

Each chunk is read where it is computed (on a worker), with plain file reads into a fresh
array rather than through a memory map, so a worker holds one chunk at a time and the pages it
read do not count against its memory limit. Nothing is read when the array is made::

    X = npy_chunks("features.npy", chunk_bytes=32 * 2**20)   # (N, D) in row chunks of ~32 MB
    LinearClassifier(optimizer="lbfgs").fit(X, y)               # on the active distributed.Client

zarr arrays are read by dask itself: ``dask.array.from_zarr(path)`` (rows chunked as stored).
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np

from linclass.datasets.base import DataFormatError

# A worker holds a few chunks at once (the one it computes on and the next ones it reads), so a
# chunk should stay well below a worker's memory limit: about an eighth of it or less.
DEFAULT_CHUNK_BYTES = 32 * 2**20


def rows_per_chunk(row_bytes: int, chunk_bytes: int) -> int:
    """Rows in a chunk of at most ``chunk_bytes`` (at least one)."""
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
    return max(1, chunk_bytes // max(1, row_bytes))


def read_rows(
    path: str, offset: int, dtype: str, row_shape: tuple[int, ...], start: int, stop: int
) -> np.ndarray:
    """Rows ``start:stop`` of a C-ordered array stored raw at byte ``offset`` of ``path``."""
    out = np.empty((stop - start, *row_shape), dtype=np.dtype(dtype))
    row_bytes = out.itemsize * int(np.prod(row_shape, dtype=np.int64))
    with open(path, "rb") as file:
        file.seek(offset + start * row_bytes)
        read = file.readinto(memoryview(out).cast("B"))
    if read != out.nbytes:
        raise DataFormatError(
            f"{path}: rows {start}:{stop} end after {read} of {out.nbytes} bytes; the file is truncated"
        )
    return out


def raw_chunks(
    path: str | os.PathLike,
    offset: int,
    dtype: Any,
    shape: tuple[int, ...],
    *,
    chunk_rows: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Any:
    """A ``dask.array`` of the C-ordered ``shape``/``dtype`` array stored at ``offset`` of ``path``.

    Args:
        chunk_rows: rows per chunk (None: as many as fit in ``chunk_bytes``).
    """
    import dask
    import dask.array as da

    dtype = np.dtype(dtype)
    n_rows, row_shape = int(shape[0]), tuple(int(s) for s in shape[1:])
    row_bytes = dtype.itemsize * int(np.prod(row_shape, dtype=np.int64))
    rows = rows_per_chunk(row_bytes, chunk_bytes) if chunk_rows is None else int(chunk_rows)
    if rows <= 0:
        raise ValueError(f"chunk_rows must be positive, got {chunk_rows}")
    name = os.fspath(path)
    read = dask.delayed(read_rows, pure=True)
    blocks = [
        da.from_delayed(
            read(name, offset, dtype.str, row_shape, start, min(start + rows, n_rows)),
            shape=(min(start + rows, n_rows) - start, *row_shape),
            dtype=dtype,
        )
        for start in range(0, n_rows, rows)
    ]
    return da.concatenate(blocks, axis=0)


def npy_chunks(
    path: str | os.PathLike, *, chunk_rows: int | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Any:
    """The array of a ``.npy`` file as a ``dask.array`` in row chunks (read lazily, on the workers).

    Only C-ordered files of plain numeric dtypes are accepted (no pickled objects).
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(file)
            offset = file.tell()
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except ValueError as exc:
        raise DataFormatError(f"{path}: not a .npy file ({exc})") from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise DataFormatError(f"{path}: holds dtype {dtype}; expected a numeric array")
    if fortran and len(shape) > 1:
        raise DataFormatError(
            f"{path}: stored in Fortran order; expected C order (save np.ascontiguousarray(X))"
        )
    if len(shape) == 0:
        raise DataFormatError(f"{path}: holds a scalar; expected an array of rows")
    return raw_chunks(path, offset, dtype, shape, chunk_rows=chunk_rows, chunk_bytes=chunk_bytes)


def memmap_chunks(
    array: np.memmap, *, chunk_rows: int | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Any:
    """A C-contiguous ``numpy.memmap`` as a ``dask.array`` whose chunks the workers read from its file."""
    if not isinstance(array, np.memmap) or getattr(array, "filename", None) is None:
        raise TypeError(f"array must be a numpy.memmap of a file, got {type(array).__name__}")
    if not array.flags.c_contiguous or not isinstance(array.base, mmap.mmap):
        raise ValueError("array must be a whole C-contiguous memmap, not a view of one")
    return raw_chunks(
        array.filename, array.offset, array.dtype, array.shape, chunk_rows=chunk_rows, chunk_bytes=chunk_bytes
    )


def decode_images(paths: tuple[str, ...], grayscale: bool, size: tuple[int, int], limit: int) -> np.ndarray:
    """Decode and resize ``paths`` to uint8 rows ``(len(paths), H * W * channels)`` (on a worker).

    Each file must be an image of an allowed format within the size limit ``limit`` (bytes).
    """
    from linclass.datasets.images import decode_image

    mode = "L" if grayscale else "RGB"
    return np.stack([decode_image(path, mode, size, path, limit).reshape(-1) for path in paths])


def image_folder_chunks(
    root: str | os.PathLike,
    *,
    size: tuple[int, int],
    grayscale: bool = False,
    split: str = "train",
    chunk_images: int = 1024,
    max_bytes: int | None = None,
) -> tuple[Any, np.ndarray, tuple[str, ...]]:
    """The images of a folder (layout as :func:`linclass.datasets.load_image_folder`), decoded lazily.

    Each chunk of ``chunk_images`` files is decoded and resized where it is computed, so the
    folder is never decoded whole. Only the file list and the labels are read here.
    ``max_bytes`` is each image's size limit (see :mod:`linclass.limits`; None: the default).

    Returns:
        ``(X, y, classes)``: a uint8 ``dask.array`` ``(N, H * W * channels)`` in chunks of
        ``chunk_images`` rows, the class indices ``(N,)`` and the sorted class names.
    """
    import dask
    import dask.array as da

    from linclass import limits
    from linclass.datasets.folder import _folder_files, _layout

    path = Path(root)
    if not path.is_dir():
        raise DataFormatError(
            f"{path}: not a folder; image_folder_chunks reads <split>/<class>/<image> folders"
        )
    files = _folder_files(path)
    if not files:
        raise DataFormatError(f"{path}: holds no image files; expected <split>/<class>/<image>")
    splits, classes = _layout(sorted(files), str(path))
    if split not in splits:
        raise DataFormatError(f"{path}: has no {split!r} split; found {sorted(splits)}")
    members = splits[split]
    index = {name: k for k, name in enumerate(classes)}
    labels = np.array([index[rel[-2]] for rel in members], dtype=np.int64)
    width = size[0] * size[1] * (1 if grayscale else 3)
    limit = limits.max_bytes(max_bytes)
    decode = dask.delayed(decode_images, pure=True)
    blocks = []
    for start in range(0, len(members), chunk_images):
        names = tuple(str(files[rel]) for rel in members[start : start + chunk_images])
        decoded = decode(names, grayscale, tuple(size), limit)
        blocks.append(da.from_delayed(decoded, shape=(len(names), width), dtype=np.uint8))
    return da.concatenate(blocks, axis=0), labels, classes
