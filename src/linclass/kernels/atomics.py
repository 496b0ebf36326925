"""Atomic operations on an ``int64`` array for compiled code that shares work between threads.

Numba has no CPU atomics, so these are LLVM's (sequentially consistent, which on x86 costs a
locked instruction for writes and a plain load for reads): the array elements are flags and
counters that the threads of :mod:`linclass.kernels.parts` read and change while the data
they guard (weights, partial gradients) is written with plain stores before a flag is raised
and read after it is seen. Callable only from compiled code::

    >>> import numba, numpy as np
    >>> @numba.njit
    ... def claim(flags):
    ...     first = compare_exchange(flags, 0, 0, 7)
    ...     second = compare_exchange(flags, 0, 0, 9)
    ...     return first, second, fetch_add(flags, 1, 5), load(flags, 1)
    >>> claim(np.zeros(2, np.int64))
    (True, False, 0, 5)
"""

from __future__ import annotations

from numba.core import cgutils, types
from numba.extending import intrinsic

_ORDER = "seq_cst"


def _pointer(context, builder, signature, args):
    array_type = signature.args[0]
    array = context.make_array(array_type)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, array_type, array, [args[1]])


def _check(array, index) -> None:
    if not (isinstance(array, types.Array) and array.dtype == types.int64
            and isinstance(index, types.Integer)):  # fmt: skip
        raise TypeError("atomics take an int64 array and an integer index")


@intrinsic
def load(typingctx, array, index):
    """``array[index]``, read atomically."""
    _check(array, index)

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_pointer(context, builder, signature, args), _ORDER, 8)

    return types.int64(array, index), codegen


@intrinsic
def store(typingctx, array, index, value):
    """``array[index] = value``, written atomically (every earlier write is seen before it)."""
    _check(array, index)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        builder.store_atomic(value, _pointer(context, builder, signature, args), _ORDER, 8)
        return context.get_dummy_value()

    return types.none(array, index, value), codegen


@intrinsic
def fetch_add(typingctx, array, index, value):
    """``array[index] += value`` atomically; returns the value before."""
    _check(array, index)

    def codegen(context, builder, signature, args):
        value = context.cast(builder, args[2], signature.args[2], types.int64)
        return builder.atomic_rmw("add", _pointer(context, builder, signature, args), value, _ORDER)

    return types.int64(array, index, value), codegen


@intrinsic
def compare_exchange(typingctx, array, index, expected, value):
    """Atomically: if ``array[index] == expected``, set it to ``value`` and return True; else False."""
    _check(array, index)

    def codegen(context, builder, signature, args):
        expected = context.cast(builder, args[2], signature.args[2], types.int64)
        value = context.cast(builder, args[3], signature.args[3], types.int64)
        pair = builder.cmpxchg(_pointer(context, builder, signature, args), expected, value, _ORDER, _ORDER)
        return builder.extract_value(pair, 1)

    return types.boolean(array, index, expected, value), codegen
