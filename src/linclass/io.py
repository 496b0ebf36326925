"""Model files and training checkpoints: a safe, versioned, checksummed bundle of arrays.

A bundle is one uncompressed ``.npz`` file (a zip archive of ``.npy`` members written with
NumPy's ``numpy.lib.format``) that never needs pickle to read:

- one member ``NAME.npy`` per array; arrays are bool or numeric (kinds ``b i u f c``), so
  strings, objects and structured dtypes are refused on write;
- one member ``__metadata__.npy``: a 1-D ``uint8`` array holding UTF-8 JSON::

      {"format": "linclass", "kind": "model" | "checkpoint" | "features", "format_version": 1,
       "linclass_version": "0.1.0", "metadata": {...user metadata...},
       "checksum": "sha256:<64 hex digits>"}

  The user metadata is any JSON value tree (hyperparameters, class labels as a list of strings
  or numbers, image shape, preprocessing description, history lists of floats). NumPy scalars
  become Python numbers and tuples become lists; ``NaN`` and ``±Infinity`` are kept (written
  as the literals Python's ``json`` reads back).
- ``checksum`` is SHA-256 over, for each array in name order,
  ``b"array\\0" + name + b"\\0" + dtype.str + b"\\0" + repr(shape) + b"\\0" + len(data)`` (8-byte
  little-endian) ``+ data`` (C-order bytes), followed by ``b"metadata\\0"`` and the canonical
  JSON of the metadata document without its ``checksum`` key (sorted keys, no spaces, ASCII).

Members are stored with a fixed timestamp, so the same content always gives the same bytes.

Reading never unpickles: every member is checked to be stored uncompressed with a declared
size that fits the file (a guard against zip bombs), every ``.npy`` header is parsed and its
dtype and shape checked against the member size, and only then is the array allocated and its
bytes read from the file straight into it (in blocks, with the zip's CRC-32 checked), so a file
of arrays costs its size in memory once, not twice; finally the checksum is verified. Any
problem raises :class:`ModelFileError` with one line naming the file.

Writes are atomic (see :func:`linclass.atomic.atomic_writer`): a crash or ``SIGKILL`` at any
moment leaves either the previous file or the new one at ``path``, never a partial file.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
from numpy.lib import format as npy_format

from linclass import __version__, limits
from linclass.atomic import atomic_writer

FORMAT_NAME = "linclass"
FORMAT_VERSION = 1
KINDS = ("checkpoint", "features", "model")
METADATA_KEY = "__metadata__"

_DOCUMENT_KEYS = {"format", "kind", "format_version", "linclass_version", "metadata", "checksum"}
_ARRAY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
_ARRAY_KINDS = "biufc"
_MAX_MEMBERS = 10_000
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_MAGIC = b"PK\x03\x04"
_READ_BLOCK = 1 << 20  # bytes per read of array data

# Anything the zip, npy or JSON parsers raise on malformed input (zipfile raises OSError when a
# damaged directory points before the start of the file).
_PARSE_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError, TypeError,
    struct.error, zlib.error, NotImplementedError, OverflowError, RecursionError, SyntaxError,
    tokenize.TokenError,
)


class ModelFileError(ValueError):
    """A model or checkpoint file that is not a valid linclass bundle of the expected kind."""


# --------------------------------------------------------------------------- writing


def write_bundle(
    path: str | os.PathLike, arrays: Mapping[str, Any], metadata: Mapping[str, Any], *, kind: str
) -> None:
    """Write ``arrays`` and JSON ``metadata`` to ``path`` as a linclass bundle, atomically.

    Args:
        path: the file to create or replace (conventionally ``*.npz``).
        arrays: name -> array-like of bool or numeric dtype, e.g. ``{"W": W (D, C), "b": b (C,)}``.
            Names use letters, digits, ``_``, ``.`` and ``-``.
        metadata: JSON-serializable mapping with string keys (lists, dicts, str, int, float,
            bool, None; NumPy scalars and tuples are converted).
        kind: ``"model"``, ``"checkpoint"`` or ``"features"``; :func:`read_bundle` refuses the
            other kinds.

    Raises:
        TypeError: an array has an object, string or structured dtype, or metadata holds a
            value JSON cannot represent (the message names the key).
        ValueError: a bad ``kind`` or array name.

    Example:
        >>> W, b = np.zeros((4, 2)), np.zeros(2)
        >>> write_bundle("model.npz", {"W": W, "b": b}, {"classes": ["cat", "dog"]},
        ...              kind="model")
    """
    _check_kind(kind)
    prepared = _prepare_arrays(arrays)
    document = {
        "format": FORMAT_NAME,
        "kind": kind,
        "format_version": FORMAT_VERSION,
        "linclass_version": __version__,
        "metadata": _to_json_value(metadata, "metadata"),
    }
    if not isinstance(document["metadata"], dict):
        raise TypeError(f"metadata must be a mapping with string keys, got {type(metadata).__name__}")
    document["checksum"] = _checksum(prepared, document)
    metadata_bytes = np.frombuffer(_canonical_json(document).encode("ascii"), dtype=np.uint8)
    with atomic_writer(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        _write_member(archive, METADATA_KEY, metadata_bytes)
        for name in sorted(prepared):
            _write_member(archive, name, prepared[name])


def _write_member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=True) as member:
        npy_format.write_array(member, array, allow_pickle=False)


def _prepare_arrays(arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not isinstance(arrays, Mapping):
        raise TypeError(f"arrays must be a mapping of names to arrays, got {type(arrays).__name__}")
    prepared = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not _ARRAY_NAME.fullmatch(name) or name == METADATA_KEY:
            raise ValueError(
                f"array name {name!r} is not allowed; expected 1-200 letters, digits, '_', '.' or '-' "
                f"(not starting with '.' or '-', and not {METADATA_KEY!r})"
            )
        array = np.asarray(value)
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"arrays[{name!r}] has dtype {array.dtype}; only bool and numeric arrays can be stored "
                "(put strings and other values in metadata)"
            )
        prepared[name] = array
    return prepared


def _to_json_value(value: Any, where: str) -> Any:
    """Return ``value`` as plain JSON types, or raise TypeError naming where the bad value is."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_to_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        result = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has key {key!r} of type {type(key).__name__}; keys must be str")
            result[key] = _to_json_value(item, f"{where}[{key!r}]")
        return result
    raise TypeError(
        f"{where} has type {type(value).__name__}, which a model file cannot store; "
        "expected None, bool, int, float, str, list or dict"
    )


def _canonical_json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


def _checksum(arrays: Mapping[str, np.ndarray], document: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = arrays[name]
        # hashed in place (a C-ordered view, copied only when the array is not C-contiguous), so
        # a gigabyte of features is not duplicated to be checksummed
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        header = f"array\0{name}\0{array.dtype.str}\0{array.shape!r}\0".encode("ascii")
        digest.update(header + struct.pack("<Q", data.nbytes))
        digest.update(data)
    unsigned = {key: value for key, value in document.items() if key != "checksum"}
    digest.update(b"metadata\0" + _canonical_json(unsigned).encode("ascii"))
    return "sha256:" + digest.hexdigest()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not supported; expected one of {list(KINDS)}")


# --------------------------------------------------------------------------- reading


def read_bundle(
    path: str | os.PathLike, *, kind: str, max_bytes: int | None = None
) -> tuple[dict[str, np.ndarray], dict]:
    """Read and validate a bundle written by :func:`write_bundle`.

    Args:
        path: the file to read (a regular file: FIFOs and devices are refused unopened).
        kind: ``"model"``, ``"checkpoint"`` or ``"features"``: the kind the file must be.
        max_bytes: the size limit for the file (see :mod:`linclass.limits`); every array is
            checked against the entry holding it, so the file's size bounds the memory used.

    Returns:
        ``(arrays, metadata)``: the arrays by name and the user metadata as written (after
        JSON conversion: tuples come back as lists).

    Raises:
        ModelFileError: the file is not a linclass bundle, is truncated or corrupt, was edited,
            is of the other kind, or was written by a newer format version.
        OSError: the file cannot be opened (for example it does not exist).

    Example:
        >>> write_bundle("model.npz", {"W": np.eye(2)}, {"classes": ["cat", "dog"]}, kind="model")
        >>> arrays, metadata = read_bundle("model.npz", kind="model")
        >>> arrays["W"].shape, metadata["classes"]
        ((2, 2), ['cat', 'dog'])
    """
    _check_kind(kind)
    name = os.fspath(path)
    what = f"linclass {kind} file"
    with limits.open_regular(name, f"a {what}", ModelFileError) as handle:
        size = os.fstat(handle.fileno()).st_size
        limits.check_size(size, limits.max_bytes(max_bytes), f"{name}: the file", ModelFileError)
        try:
            return _parse_bundle(handle, size, name, kind, what)
        except ModelFileError:
            raise
        except _PARSE_ERRORS as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelFileError(f"{name} is not a {what}: {detail}") from exc


def _parse_bundle(
    handle: IO[bytes], size: int, name: str, kind: str, what: str
) -> tuple[dict[str, np.ndarray], dict]:
    if handle.read(4) != _ZIP_MAGIC:
        raise ModelFileError(f"{name} is not a {what}: not a zip archive")
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile:
        raise ModelFileError(f"{name} is not a {what}: the zip archive is truncated or damaged") from None
    with archive:
        members = _check_members(archive, size, name, what)
        if METADATA_KEY not in members:
            raise ModelFileError(f"{name} is not a {what}: it has no {METADATA_KEY} entry")
        arrays = {member: _read_member(archive, info, member, name, what) for member, info in members.items()}
    document = _parse_document(arrays.pop(METADATA_KEY), name, what)
    _check_document(document, name, kind, what)
    if document["checksum"] != _checksum(arrays, document):
        raise ModelFileError(f"{name}: checksum mismatch: the file is corrupt or was edited")
    return arrays, document["metadata"]


def _check_members(archive: zipfile.ZipFile, file_size: int, name: str, what: str) -> dict:
    infos = archive.infolist()
    if len(infos) > _MAX_MEMBERS:
        raise ModelFileError(f"{name} is not a {what}: it has {len(infos)} entries")
    members: dict[str, zipfile.ZipInfo] = {}
    declared = 0
    for info in infos:
        member = info.filename[: -len(".npy")] if info.filename.endswith(".npy") else None
        if member is None or not (member == METADATA_KEY or _ARRAY_NAME.fullmatch(member)):
            raise ModelFileError(f"{name} is not a {what}: unexpected entry {info.filename!r}")
        if member in members:
            raise ModelFileError(f"{name} is not a {what}: entry {info.filename!r} appears twice")
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            raise ModelFileError(f"{name} is not a {what}: entry {info.filename!r} is compressed")
        declared += info.file_size
        if declared > file_size:
            raise ModelFileError(
                f"{name} is not a {what}: its entries declare more bytes than the file holds ({file_size})"
            )
        members[member] = info
    return members


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, member: str, name: str, what: str
) -> np.ndarray:
    try:
        with archive.open(info) as stream:
            refusal = f"{name} is not a {what}"
            shape, fortran, dtype = _check_npy_header(stream, info.file_size, member, refusal)
            return _read_data(stream, shape, fortran, dtype)
    except zipfile.BadZipFile as exc:
        # The zip's CRC-32 (or a local header) disagrees with the directory: the bytes changed.
        raise ModelFileError(
            f"{name}: checksum mismatch: the file is corrupt or was edited (entry {info.filename!r}: {exc})"
        ) from None


def _read_data(stream: IO[bytes], shape: tuple, fortran: bool, dtype: np.dtype) -> np.ndarray:
    """The array whose data ``stream`` holds next, read in blocks into the array itself.

    Reading to the end of the entry makes zipfile check its CRC-32 (``BadZipFile`` on a
    mismatch); the header has been checked, so the data fills the array exactly.
    """
    flat = np.empty(math.prod(shape), dtype=dtype)
    buffer = memoryview(flat.view(np.uint8))
    position = 0
    while position < len(buffer):
        block = stream.read(min(_READ_BLOCK, len(buffer) - position))
        if not block:
            raise EOFError(f"the data ends after {position} of {len(buffer)} bytes")
        buffer[position : position + len(block)] = block
        position += len(block)
    return flat.reshape(shape[::-1]).transpose() if fortran else flat.reshape(shape)


def _check_npy_header(
    stream: IO[bytes], entry_size: int, member: str, refusal: str
) -> tuple[tuple, bool, np.dtype]:
    """Check an entry's dtype and shape against its size, so that no read allocates past the file."""
    prefix = f"{refusal}: array {member!r}"
    shape, fortran, dtype, nbytes = limits.read_npy_header(stream, prefix, ModelFileError)
    if member == METADATA_KEY and (dtype != np.uint8 or len(shape) != 1):
        raise ModelFileError(f"{refusal}: {METADATA_KEY} is not a 1-D uint8 array")
    expected = stream.tell() + nbytes
    if expected != entry_size:
        raise ModelFileError(
            f"{refusal}: array {member!r} of shape {shape} and dtype {dtype} needs {expected} bytes "
            f"but its entry has {entry_size}"
        )
    return shape, fortran, dtype


def _parse_document(raw: np.ndarray, name: str, what: str) -> Any:
    try:
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{name} is not a {what}: {METADATA_KEY} is not valid JSON ({exc})") from None


def _check_document(document: Any, name: str, kind: str, what: str) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{name} is not a {what}: its {METADATA_KEY} does not say format 'linclass'")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{name} is not a {what}: format_version {version!r} is not a positive integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by a newer linclass (format version {version}); "
            f"this linclass reads up to version {FORMAT_VERSION} — upgrade linclass"
        )
    if set(document) != _DOCUMENT_KEYS:
        raise ModelFileError(
            f"{name} is not a {what}: its {METADATA_KEY} has keys {sorted(document)}, "
            f"expected {sorted(_DOCUMENT_KEYS)}"
        )
    if document["kind"] not in KINDS:
        raise ModelFileError(f"{name} is not a {what}: unknown kind {document['kind']!r}")
    if document["kind"] != kind:
        raise ModelFileError(f"{name} is a linclass {document['kind']} file, not a {kind} file")
    if not isinstance(document["metadata"], dict) or not isinstance(document["checksum"], str):
        raise ModelFileError(f"{name} is not a {what}: malformed {METADATA_KEY}")
