"""A restricted unpickler for the CIFAR-10 "python version" batches.

A pickle is a program: loading one with ``pickle.load`` can call any importable function.
The CIFAR-10 batches only need NumPy arrays, so this unpickler admits exactly three globals
(``_reconstruct`` under its NumPy 1 and NumPy 2 module names, ``ndarray`` and ``dtype``), and
even those never reach NumPy while the pickle runs: they build inert placeholder records that
are checked and turned into arrays only after loading has finished. Object dtypes (whose data
would be more pickled objects) and anything but plain numeric dtypes are refused.

Before it runs, the pickle's opcodes are walked and its stack simulated: tuples (and frozen
sets) nested deeper than ``MAX_NESTING`` or standing for more than ``MAX_TUPLE_NODES`` values
once their shared references are expanded are refused, because hashing one (as a dict key)
recurses without limit in C. After loading, a nested list is measured, shared references
counted as often as they are used, before it becomes an array: a small pickle whose memo
references multiply into billions of elements ("billion laughs") is refused by the size limit
and by ``MAX_LIST_VALUES`` (2**25, room for a whole batch as lists).
"""

from __future__ import annotations

import io
import pickle
import pickletools
import re
import reprlib
import warnings

import numpy as np

from linclass import limits

from .base import DataFormatError, UnsafeDataError

_RECONSTRUCT = "_reconstruct"
_FROMBUFFER = "_frombuffer"
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    # protocol 5 (Python 3.14's default) pickles arrays as _frombuffer(buffer, dtype, shape, order)
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(text, "latin1")
    ("_codecs", "encode"): "encode",
}
_ALLOWED_TEXT = (
    "numpy.core.multiarray._reconstruct, numpy.core.numeric._frombuffer (or numpy._core...), "
    "numpy.ndarray, numpy.dtype and _codecs.encode(text, 'latin1')"
)
_NUMERIC_TYPESTR = re.compile(r"[iuf][1248]|b1")
_MAX_NDIM = 32
MAX_NESTING = 64
MAX_TUPLE_NODES = 100_000
MAX_LIST_VALUES = 1 << 25  # a batch of 10,000 rows x 3,072 pixels as lists, with room
_MARK = object()
_TUPLE_OPS = {"TUPLE1": 1, "TUPLE2": 2, "TUPLE3": 3}
_PUT_OPS = ("PUT", "BINPUT", "LONG_BINPUT")
_GET_OPS = ("GET", "BINGET", "LONG_BINGET")
_REFUSED_OPCODES = ("NEXT_BUFFER", "READONLY_BUFFER", "PERSID", "BINPERSID")


class _Inert:
    """Base of the placeholder records: no attributes can be set by a pickle's BUILD opcode."""

    __slots__ = ()

    def __setstate__(self, state: object) -> None:
        raise DataFormatError(f"{type(self).__name__} does not accept pickled state")


class _NdarrayToken(_Inert):
    """Stands for ``numpy.ndarray``; only ``_reconstruct`` accepts it and it cannot be called."""

    __slots__ = ()


class _DtypeRecord(_Inert):
    """What ``numpy.dtype(typestr, align, copy)`` plus its ``__setstate__`` were asked to build."""

    __slots__ = ("typestr", "state")

    def __init__(self, typestr: object) -> None:
        self.typestr = typestr
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _ArrayRecord(_Inert):
    """What ``_reconstruct(ndarray, shape, code)`` plus ``ndarray.__setstate__`` were asked to build."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: object = None

    def __setstate__(self, state: object) -> None:
        self.state = state


class _Constructor(_Inert):
    """An admitted global: callable by REDUCE, immune to BUILD."""

    __slots__ = ("kind",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, *args: object) -> _Inert | bytes:
        if self.kind == "dtype":
            if not args:
                raise DataFormatError("numpy.dtype called without a type string")
            return _DtypeRecord(args[0])
        if self.kind == "encode":
            # the only call made: str.encode, and only for the latin-1 text Python 3 writes
            if len(args) != 2 or not isinstance(args[0], str) or args[1] not in ("latin1", "latin-1"):
                raise DataFormatError("_codecs.encode may only turn latin-1 text into bytes")
            return args[0].encode("latin-1")
        if self.kind == _FROMBUFFER:
            if len(args) != 4 or args[3] not in ("C", "F"):
                raise DataFormatError("_frombuffer takes (buffer, dtype, shape, order)")
            record = _ArrayRecord()
            record.state = (args[2], args[1], args[3] == "F", args[0])
            return record
        if not args or not isinstance(args[0], _NdarrayToken):
            raise DataFormatError("_reconstruct may only build a numpy.ndarray")
        return _ArrayRecord()


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only the globals a CIFAR batch needs."""

    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file, encoding="bytes")
        self.source = source

    def find_class(self, module: str, name: str) -> object:
        kind = _ALLOWED_GLOBALS.get((module, name))
        if kind is None:
            raise UnsafeDataError(
                f"{self.source}: refusing to load pickle global '{module}.{name}'; "
                f"a CIFAR-10 batch may only reference {_ALLOWED_TEXT}"
            )
        if kind == "ndarray":
            return _NdarrayToken()
        return _Constructor(kind)

    def persistent_load(self, pid: object) -> object:
        raise UnsafeDataError(f"{self.source}: refusing a pickle persistent id; CIFAR-10 batches have none")


def restricted_loads(data: bytes, source: str) -> object:
    """Unpickle ``data`` (the content of ``source``) admitting only NumPy array records.

    Arrays come back as placeholder records; turn them into arrays with ``as_array``.
    Raises ``UnsafeDataError`` for a refused global and ``DataFormatError`` for anything else
    that is not a readable pickle.
    """
    try:
        with warnings.catch_warnings():
            # protocol-0 strings with invalid escapes warn while decoding; the content is judged below
            warnings.simplefilter("ignore", DeprecationWarning)
            _prescan(data, source)
            return RestrictedUnpickler(io.BytesIO(data), source).load()
    except DataFormatError as exc:
        if str(exc).startswith(source):
            raise
        raise type(exc)(f"{source}: {exc}") from None
    except Exception as exc:  # a malformed pickle can fail inside any opcode handler
        raise DataFormatError(
            f"{source}: not a readable pickle ({type(exc).__name__}: {exc}); expected a CIFAR-10 python batch"
        ) from None


def _prescan(data: bytes, source: str) -> None:
    """Walk the opcodes without executing them: every length must fit in the data (so nothing is
    allocated for a size the file does not hold), out-of-band buffers are refused, and the stack
    is simulated with ``(depth, nodes)`` of every tuple so deep or exploding tuples are refused."""
    stack: list = []
    memo: dict = {}
    for opcode, arg, _ in pickletools.genops(io.BytesIO(data)):
        name = opcode.name
        if name in _REFUSED_OPCODES:
            raise UnsafeDataError(f"{source}: refusing pickle opcode {name}; CIFAR-10 batches do not use it")
        if name in _PUT_OPS or name == "MEMOIZE":
            memo[len(memo) if name == "MEMOIZE" else arg] = stack[-1] if stack else (0, 1)
            continue
        if name in _GET_OPS:
            stack.append(memo.get(arg, (0, 1)))
            continue
        if name == "DUP":
            stack.append(stack[-1] if stack else (0, 1))
            continue
        items = _pop_operands(stack, opcode)
        if name in ("TUPLE", "EMPTY_TUPLE", "FROZENSET") or name in _TUPLE_OPS:
            depth = 1 + max((item[0] for item in items), default=0)
            nodes = 1 + sum(item[1] for item in items)
            if depth > MAX_NESTING or nodes > MAX_TUPLE_NODES:
                raise DataFormatError(
                    f"{source}: the pickle builds a tuple nested {depth} deep standing for {nodes:,} values; "
                    f"a CIFAR-10 batch needs at most {MAX_NESTING} levels and {MAX_TUPLE_NODES:,} values"
                )
            stack.append((depth, nodes))
            continue
        stack.extend(_MARK if item is pickletools.markobject else (0, 1) for item in opcode.stack_after)


def _pop_operands(stack: list, opcode: pickletools.OpcodeInfo) -> list:
    """Pop what ``opcode`` consumes from the simulated stack (everything down to a mark, then
    the fixed operands below it); a malformed pickle that underflows is left to the unpickler."""
    before = opcode.stack_before
    if opcode.name in _TUPLE_OPS:
        count = _TUPLE_OPS[opcode.name]
        items, stack[-count:] = stack[-count:], []
        return [item for item in items if item is not _MARK]
    items = []
    if pickletools.stackslice in before:
        while stack and stack[-1] is not _MARK:
            items.append(stack.pop())
        if stack:
            stack.pop()
        fixed = len(before) - 2
    else:
        fixed = len(before) - (1 if pickletools.markobject in before else 0)
    for _ in range(min(fixed, len(stack))):
        stack.pop()
    return items


def _check_list(value: list | tuple, source: str, key: str, limit: int) -> None:
    """Refuse a nested list deeper than ``_MAX_NDIM``, holding itself, or of more elements than
    ``limit`` allows as 8-byte values; shared sublists count as often as they appear."""
    counts: dict[int, int] = {}
    depths: dict[int, int] = {}
    active: set[int] = set()
    stack = [(value, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in counts:
            continue
        if not done:
            active.add(id(node))
            stack.append((node, True))
            for child in node:
                if isinstance(child, (list, tuple)):
                    if id(child) in active:
                        raise DataFormatError(f"{source}: {key} is a list that contains itself")
                    if id(child) not in counts:
                        stack.append((child, False))
            continue
        active.discard(id(node))
        children = [child for child in node if isinstance(child, (list, tuple))]
        counts[id(node)] = sum(counts[id(c)] for c in children) + len(node) - len(children)
        depths[id(node)] = 1 + max((depths[id(c)] for c in children), default=0)
        if depths[id(node)] > _MAX_NDIM:
            raise DataFormatError(f"{source}: {key} is a list nested more than {_MAX_NDIM} deep")
        count = counts[id(node)]
        if count > MAX_LIST_VALUES:
            raise DataFormatError(
                f"{source}: {key} is a nested list of {count:,} values; a CIFAR-10 batch holds at most "
                f"{MAX_LIST_VALUES:,} as lists"
            )
        limits.check_size(
            8 * count, limit, f"{source}: {key}, a nested list of {count:,} values,", DataFormatError
        )


def as_array(value: object, source: str, key: str, max_bytes: int | None = None) -> np.ndarray:
    """Turn a loaded value (array record or nested list of numbers) into a NumPy array.

    The record's byte count must match its declared shape and dtype exactly; object and other
    non-numeric dtypes are refused. A list is measured first (see :func:`_check_list`) against
    the size limit ``max_bytes`` (see :mod:`linclass.limits`).
    """
    if isinstance(value, _ArrayRecord):
        return _record_to_array(value, source, key)
    if isinstance(value, (list, tuple)):
        _check_list(value, source, key, limits.max_bytes(max_bytes))
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise DataFormatError(
                f"{source}: {key} is a list that is not a rectangular array of numbers ({exc})"
            ) from None
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "biu":
            raise DataFormatError(f"{source}: {key} must hold integers, found values of type {arr.dtype}")
        return arr
    raise DataFormatError(f"{source}: {key} must be a numpy array or a list, found {type(value).__name__}")


def _record_to_array(record: _ArrayRecord, source: str, key: str) -> np.ndarray:
    state = record.state
    if isinstance(state, tuple) and len(state) == 5:
        state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
        raise DataFormatError(
            f"{source}: {key} has malformed array state; expected (shape, dtype, order, bytes)"
        )
    shape, dtype_record, fortran, payload = state
    dtype = _record_to_dtype(dtype_record, source, key)
    if not (isinstance(shape, tuple) and len(shape) <= _MAX_NDIM):
        raise DataFormatError(
            f"{source}: {key} has shape {reprlib.repr(shape)}; expected a tuple of at most {_MAX_NDIM} sizes"
        )
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise DataFormatError(
            f"{source}: {key} has shape {reprlib.repr(shape)}; expected non-negative integers"
        )
    if isinstance(payload, list):
        raise UnsafeDataError(f"{source}: {key} carries a list of pickled objects; expected raw array bytes")
    if not isinstance(payload, (bytes, bytearray)):
        raise DataFormatError(f"{source}: {key} data is {type(payload).__name__}; expected raw array bytes")
    count = 1
    for s in shape:
        count *= s
    expected = count * dtype.itemsize
    if len(payload) != expected:
        raise DataFormatError(
            f"{source}: {key} declares shape {shape} of {dtype} ({expected:,} bytes) "
            f"but holds {len(payload):,} bytes"
        )
    try:
        return np.frombuffer(payload, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    except ValueError:  # an empty array whose other sizes overflow NumPy's index type
        raise DataFormatError(
            f"{source}: {key} declares shape {shape}, more than an array can index"
        ) from None


def _record_to_dtype(record: object, source: str, key: str) -> np.dtype:
    if not isinstance(record, _DtypeRecord):
        raise DataFormatError(f"{source}: {key} has no dtype; expected numpy.dtype(...)")
    typestr = _text(record.typestr)
    if typestr is None:
        raise DataFormatError(
            f"{source}: {key} has dtype {reprlib.repr(record.typestr)}; expected a type string"
        )
    if typestr.startswith("O"):
        raise UnsafeDataError(
            f"{source}: {key} has dtype {typestr!r} (object); refusing object arrays, which carry "
            "pickled objects; expected a numeric dtype"
        )
    if not _NUMERIC_TYPESTR.fullmatch(typestr):
        raise DataFormatError(f"{source}: {key} has dtype {typestr!r}; expected a numeric dtype such as 'u1'")
    state = record.state
    byteorder = "|"
    if state is not None:
        if not (isinstance(state, tuple) and len(state) in (8, 9) and all(s is None for s in state[2:5])):
            raise DataFormatError(
                f"{source}: {key} has a structured or malformed dtype; expected a numeric dtype"
            )
        byteorder = _text(state[1]) or ""
        if byteorder not in ("<", ">", "|", "="):
            raise DataFormatError(
                f"{source}: {key} has byte order {reprlib.repr(state[1])}; expected '<', '>', '|' or '='"
            )
    return np.dtype(("" if byteorder == "|" else byteorder) + typestr)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None
