"""What a file may make linclass allocate, and reading only regular files.

**The size limit.** Every reader computes what a file will expand to (an array's declared
shape times its item size, a compressed member's declared size, a dense LIBSVM table, an
image's pixels) and refuses before allocating when that exceeds one limit, ``B`` bytes:

- the keyword ``max_bytes=B`` of the reader, else
- the environment variable ``LINCLASS_MAX_BYTES`` (an integer, optionally with a ``K``,
  ``M``, ``G`` or ``T`` suffix for powers of 1024: ``LINCLASS_MAX_BYTES=2G``), else
- half of the machine's available memory (``MemAvailable`` in ``/proc/meminfo``, or the free
  physical pages), at least 256 MiB.

Compressed data is also refused when it expands more than ``MAX_EXPANSION`` (200) times its
compressed size, once past ``EXPANSION_FLOOR`` (16 MiB): real data sets compress 1-10 times.

**Regular files only.** ``open_regular`` looks at a path with ``stat`` before opening it and
refuses FIFOs, devices, sockets and folders without ever opening them for reading (opening a
FIFO blocks until a writer appears); the open itself is non-blocking and the opened file is
checked again, so a path swapped in between cannot block either.
"""

from __future__ import annotations

import os
import re
import stat
import tokenize
import zipfile
import zlib
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

ENV_MAX_BYTES = "LINCLASS_MAX_BYTES"
MAX_MEMBERS = 10_000
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"
MAX_EXPANSION = 200
EXPANSION_FLOOR = 16 << 20
MIN_DEFAULT_BYTES = 256 << 20
_SIZE = re.compile(r"\s*(\d+)\s*([KMGT]?)i?B?\s*", re.IGNORECASE)
_SUFFIX = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def max_bytes(value: int | None = None) -> int:
    """The size limit in bytes: ``value`` if given, else ``$LINCLASS_MAX_BYTES``, else the default.

    Raises:
        ValueError: ``value`` is not a positive integer, or the environment variable is not a
            size such as ``1073741824`` or ``1G``.
    """
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"max_bytes must be a positive integer number of bytes, got {value!r}")
        return int(value)
    text = os.environ.get(ENV_MAX_BYTES, "")
    if text.strip():
        match = _SIZE.fullmatch(text)
        if match is None or int(match.group(1)) == 0:
            raise ValueError(
                f"{ENV_MAX_BYTES}={text!r} is not a size; expected a positive integer of bytes, "
                "optionally with K, M, G or T (for example 2G)"
            )
        return int(match.group(1)) << _SUFFIX[match.group(2).upper()]
    return max(available_memory() // 2, MIN_DEFAULT_BYTES)


def available_memory() -> int:
    """Bytes of memory available to new allocations (0 when the platform does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 0


def check_size(nbytes: int, limit: int, what: str, error: type[Exception]) -> None:
    """Raise ``error`` when ``what`` (e.g. ``"f.npz: array 'X' of shape (9, 9) float64"``) needs
    more than ``limit`` bytes."""
    if nbytes > limit:
        raise error(
            f"{what} would take {nbytes:,} bytes, more than the limit of {limit:,} bytes "
            f"(set {ENV_MAX_BYTES} or max_bytes= to allow more)"
        )


def check_expansion(expanded: int, compressed: int, what: str, error: type[Exception]) -> None:
    """Raise ``error`` when ``what`` expands ``compressed`` bytes to more than ``MAX_EXPANSION``
    times as many (past ``EXPANSION_FLOOR``): a compression bomb."""
    if expanded > EXPANSION_FLOOR and expanded > MAX_EXPANSION * max(compressed, 1):
        raise error(
            f"{what} expands {compressed:,} compressed bytes to {expanded:,} "
            f"({expanded / max(compressed, 1):,.0f} times, more than {MAX_EXPANSION}); "
            "refusing a compression bomb"
        )


def file_kind(mode: int) -> str | None:
    """``None`` for a regular file, else what the ``st_mode`` is (``"a FIFO (named pipe)"``, ...)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def require_regular(path: str | os.PathLike, what: str, error: type[Exception]) -> os.stat_result:
    """``stat`` ``path`` (following links) and raise ``error`` unless it is a regular file.

    A missing path raises ``FileNotFoundError`` as ``open`` would.
    """
    info = os.stat(path)
    kind = file_kind(info.st_mode)
    if kind is not None:
        raise error(f"{os.fspath(path)}: is {kind}, not a regular file; expected {what}")
    return info


def open_regular(path: str | os.PathLike, what: str, error: type[Exception]) -> IO[bytes]:
    """Open ``path`` for binary reading if (and only if) it is a regular file.

    Args:
        what: what the file should be, for the message (``"a .npz file"``).
        error: the exception class raised for a path that is not a regular file.
    """
    require_regular(path, what, error)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise error(f"{os.fspath(path)}: is {kind}, not a regular file; expected {what}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike, what: str, error: type[Exception], limit: int) -> bytes:
    """The whole content of the regular file ``path``, refused with ``error`` past ``limit`` bytes."""
    with open_regular(path, what, error) as f:
        size = os.fstat(f.fileno()).st_size
        check_size(size, limit, f"{os.fspath(path)}: the file", error)
        data = f.read(limit + 1)
    check_size(len(data), limit, f"{os.fspath(path)}: the file", error)
    return data


def read_npy_header(
    stream: IO[bytes], prefix: str, error: type[Exception], kinds: str = "biufc"
) -> tuple[tuple, bool, np.dtype, int]:
    """Parse a ``.npy`` header from ``stream``: ``(shape, fortran_order, dtype, data_bytes)``.

    ``data_bytes`` is ``prod(shape) * itemsize``, computed in Python integers (no overflow).
    Only dtypes of the given ``kinds`` (default bool and numeric; ``"U"``/``"S"`` admit
    fixed-width text) are accepted; object and structured dtypes always raise ``error`` with
    ``prefix`` (``"f.npz: array 'X'"``) before anything is read.
    """
    try:
        version = npy_format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(stream)
        else:
            raise error(f"{prefix} has npy format version {version}; expected 1.0 or 2.0")
    except (
        ValueError,
        SyntaxError,
        EOFError,
        OverflowError,
        TypeError,
        RecursionError,
        tokenize.TokenError,
    ) as exc:
        if isinstance(exc, error):
            raise
        raise error(
            f"{prefix} has no valid .npy header ({str(exc).splitlines()[0] if str(exc) else exc!r})"
        ) from None
    if dtype.hasobject or dtype.kind not in kinds or dtype.fields is not None or dtype.subdtype is not None:
        raise error(
            f"{prefix} has unsupported dtype {dtype}; "
            "expected a bool or numeric array (object arrays are refused)"
        )
    count = 1
    for size in shape:
        count *= int(size)
    return tuple(shape), bool(fortran), dtype, count * dtype.itemsize


def read_npy(path: str | os.PathLike, error: type[Exception], limit: int, kinds: str = "biufc") -> np.ndarray:
    """Read a ``.npy`` file (never unpickling), checking its header against the file and ``limit``."""
    name = os.fspath(path)
    with open_regular(path, "a .npy file", error) as f:
        if f.read(4) == _ZIP_MAGIC:
            raise error(f"{name}: holds a .npz archive; expected a single .npy array")
        f.seek(0)
        shape, fortran, dtype, nbytes = read_npy_header(f, f"{name}: the array", error, kinds)
        available = os.fstat(f.fileno()).st_size - f.tell()
        return _read_data(f, shape, fortran, dtype, nbytes, available, f"{name}: the array", error, limit)


def read_npz(
    path: str | os.PathLike, error: type[Exception], limit: int, kinds: str = "biufc"
) -> dict[str, np.ndarray]:
    """Read every array of a ``.npz`` archive (stored or deflated ``.npy`` members, never unpickling).

    Before a member's data is read, its header's shape and dtype must match the member's
    declared size, the arrays together must fit in ``limit`` bytes and a deflated member must
    pass :func:`check_expansion`; the zip's CRC-32 is checked as the data is read.
    """
    name = os.fspath(path)
    with open_regular(path, "a .npz file", error) as f:
        if f.read(6) == _NPY_MAGIC:
            raise error(f"{name}: holds a single array (.npy content); expected a .npz archive")
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except UNREADABLE_ARCHIVE as exc:
            raise error(f"{name}: not a readable .npz archive ({exc})") from None
        with archive:
            infos = archive.infolist()
            if len(infos) > MAX_MEMBERS:
                raise error(
                    f"{name}: has {len(infos):,} members; a .npz file may hold at most {MAX_MEMBERS:,}"
                )
            arrays: dict[str, np.ndarray] = {}
            total = 0
            for info in infos:
                if not info.filename.endswith(".npy") or info.filename[:-4] in arrays:
                    raise error(f"{name}: member {info.filename!r} is not a (single) .npy array")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise error(
                        f"{name}: member {info.filename!r} uses compression {info.compress_type}; "
                        "expected stored or deflated"
                    )
                prefix = f"{name}: array {info.filename[:-4]!r}"
                check_expansion(info.file_size, info.compress_size, prefix, error)
                try:
                    with archive.open(info) as stream:
                        shape, fortran, dtype, nbytes = read_npy_header(stream, prefix, error, kinds)
                        available = info.file_size - stream.tell()
                        _check_declared(shape, dtype, nbytes, available, prefix, error)
                        total += nbytes
                        check_size(total, limit, f"{name}: its arrays", error)
                        arrays[info.filename[:-4]] = _read_data(
                            stream, shape, fortran, dtype, nbytes, available, prefix, error, limit
                        )
                except _DAMAGED_MEMBER as exc:
                    raise error(f"{prefix}: the member is damaged ({exc})") from None
    return arrays


# NotImplementedError: a zip feature version Python lacks; RuntimeError: an encrypted member
UNREADABLE_ARCHIVE = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError
)
_DAMAGED_MEMBER = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError)


def _read_data(
    stream: IO[bytes],
    shape: tuple,
    fortran: bool,
    dtype: np.dtype,
    nbytes: int,
    available: int,
    prefix: str,
    error: type[Exception],
    limit: int,
) -> np.ndarray:
    _check_declared(shape, dtype, nbytes, available, prefix, error)
    check_size(nbytes, limit, f"{prefix} of shape {shape} and dtype {dtype}", error)
    buffer = bytearray(nbytes)
    view, filled = memoryview(buffer), 0
    while filled < nbytes:
        got = stream.readinto(view[filled:])
        if not got:
            raise error(f"{prefix} ends after {filled:,} of its {nbytes:,} bytes")
        filled += got
    try:
        return np.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    except ValueError:  # an empty array whose other sizes overflow NumPy's index type
        raise error(f"{prefix} declares shape {shape}, more than an array can index") from None


def _check_declared(
    shape: tuple, dtype: np.dtype, nbytes: int, available: int, prefix: str, error: type[Exception]
) -> None:
    if nbytes != available:
        raise error(
            f"{prefix} declares shape {shape} of {dtype} ({nbytes:,} bytes) but holds {available:,} bytes"
        )
