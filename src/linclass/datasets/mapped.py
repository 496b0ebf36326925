"""Arrays of ``.npy`` and ``.npz`` files, memory-mapped: a row is read from disk when it is used.

``numpy.load(path, mmap_mode="r")`` maps a ``.npy`` file but reads every member of an ``.npz``
archive (a zip file) into memory. A member stored without compression is one ``.npy`` file
inside the archive, at a known offset: its local zip header (30 bytes, then the member's name
and an extra field) is followed by the ``.npy`` magic, header and data, so the data maps like a
``.npy`` file's. Compressed members (``numpy.savez_compressed``) cannot be mapped and are read
whole. Object arrays are refused: nothing is unpickled.

    >>> import numpy as np
    >>> np.savez("feats.npz", X=np.arange(6, dtype=np.float32).reshape(3, 2), y=np.array([0, 1, 0]))
    >>> arrays = map_arrays("feats.npz")
    >>> type(arrays["X"]).__name__, arrays["X"][2].tolist(), arrays["y"].tolist()
    ('memmap', [4.0, 5.0], [0, 1, 0])
"""

from __future__ import annotations

import os
import struct
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from .base import DataFormatError

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, 22 bytes we skip, name and extra lengths
_HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}


def map_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a ``.npy`` file (under the name ``""``) or of an ``.npz`` archive, by name.

    Raises:
        DataFormatError: not a NumPy file, an object array, or a member whose data would run
            past its end; the message names the file.
    """
    path = os.fspath(path)
    try:
        if not zipfile.is_zipfile(path):
            return {"": _map_npy(path)}
        with open(path, "rb") as stream, zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
            return {_member_name(info): _map_member(path, stream, archive, info) for info in members}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, struct.error) as exc:
        if isinstance(exc, (DataFormatError, FileNotFoundError, IsADirectoryError, PermissionError)):
            raise
        raise DataFormatError(f"{path}: not a readable NumPy .npy/.npz file ({exc})") from None


def _member_name(info: zipfile.ZipInfo) -> str:
    return info.filename[:-4] if info.filename.endswith(".npy") else info.filename


def _map_npy(path: str) -> np.ndarray:
    with open(path, "rb") as stream:
        if stream.read(len(npy_format.MAGIC_PREFIX)) != npy_format.MAGIC_PREFIX:
            raise DataFormatError(f"{path}: not a NumPy .npy or .npz file")
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _map_member(path: str, stream, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One member: mapped when stored uncompressed with a version 1 or 2 header, else read."""
    if info.compress_type == zipfile.ZIP_STORED:
        stream.seek(info.header_offset)
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
        start = info.header_offset + _LOCAL_HEADER.size + name_length + extra_length
        stream.seek(start)
        version = npy_format.read_magic(stream)
        if signature == b"PK\x03\x04" and version in _HEADER_READERS:
            shape, fortran_order, dtype = _HEADER_READERS[version](stream)
            return _mapped(path, info, start, stream.tell(), shape, fortran_order, dtype)
    with archive.open(info) as member:
        return npy_format.read_array(member, allow_pickle=False)


def _mapped(path, info, start, offset, shape, fortran_order, dtype) -> np.ndarray:
    if dtype.hasobject:
        raise DataFormatError(f"{path}: member {info.filename} holds Python objects; expected numbers")
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + size > start + info.file_size:
        raise DataFormatError(
            f"{path}: member {info.filename} is shorter than its header says ({shape}, {dtype})"
        )
    if size == 0:
        return np.zeros(shape, dtype)
    order = "F" if fortran_order else "C"
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=tuple(shape), order=order)
