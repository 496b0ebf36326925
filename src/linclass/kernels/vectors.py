"""Full-width vector code for the fused kernels, and the 64-byte aligned buffers it wants.

LLVM tunes for 256-bit vectors on Intel's AVX-512 cores (Skylake-SP to Granite Rapids: its
``prefer-256-bit`` tuning), so Numba's loops there run at half the width the hardware has,
while AMD's AVX-512 cores (Zen 4, Zen 5) get 512-bit code. :func:`wide_vectors`, called at the
top of a compiled function, asks LLVM for 512-bit vectors in that function only (its
``prefer-vector-width`` and ``min-legal-vector-width`` attributes, which is what clang's
``-mprefer-vector-width=512`` sets); nothing changes for other Numba code in the process, and
on a CPU without AVX-512 the widest vectors it has are used as before. The second attribute
also survives inlining (LLVM keeps the larger of caller's and callee's), so a caller that
inlines such a function keeps its 512-bit code.

A 512-bit load is a whole cache line only when its address is a multiple of 64; NumPy and
Numba align arrays to 32 bytes (16 for small ones), so half of the loads would span two lines.
:func:`aligned_empty` and :func:`aligned_zeros` allocate the kernels' tiles, weights and
gradients on 64-byte boundaries. Measured on one core of an Intel Xeon with AMX (D = 784, C = 10,
float32): the forward block 107 GFLOP/s at 256 bits, 92 at 512 bits on 32-byte aligned data and
124-126 at 512 bits on 64-byte aligned data (NumPy's GEMM: 153).
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

ALIGNMENT = 64

# LLVM function attributes: vectorize at 512 bits, and keep 512-bit types legal after inlining.
_ATTRIBUTES = ('"prefer-vector-width"="512"', '"min-legal-vector-width"="512"')


@intrinsic
def wide_vectors(typingctx):
    """Compile the calling function's loops with 512-bit vectors where the CPU has them (no result).

    llvmlite's attribute set accepts only LLVM's keyword attributes, so the two string
    attributes are added to it as a plain set.
    """

    def codegen(context, builder, signature, args):
        attributes = builder.function.attributes
        for attribute in _ATTRIBUTES:
            set.add(attributes, attribute)
        return context.get_dummy_value()

    return types.none(), codegen


@numba.njit(cache=True)
def _offset(address, itemsize):
    """Items from ``address`` to the next 64-byte boundary."""
    return (-address % ALIGNMENT) // itemsize


@numba.njit(cache=True)
def aligned_empty(n_rows, n_columns, like):
    """An uninitialized ``(n_rows, n_columns)`` C-contiguous array of ``like``'s dtype whose first
    element is on a 64-byte boundary (rows too when ``n_columns * itemsize`` is a multiple of 64)."""
    size = n_rows * n_columns
    buffer = np.empty(size + ALIGNMENT // like.itemsize, like.dtype)
    offset = _offset(buffer.ctypes.data, like.itemsize)
    return buffer[offset:offset + size].reshape((n_rows, n_columns))


@numba.njit(cache=True)
def aligned_copy(array):
    """A copy of the 2-D ``array`` in a buffer from :func:`aligned_empty`."""
    out = aligned_empty(array.shape[0], array.shape[1], array)
    out[:] = array
    return out


def aligned_zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
    """``np.zeros(shape, dtype)`` starting on a 64-byte boundary (NumPy side; an empty array has no
    data to align)."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    if size == 0:
        return np.zeros(shape, dtype)
    buffer = np.zeros(size + ALIGNMENT // dtype.itemsize, dtype)
    offset = int(_offset(buffer.ctypes.data, dtype.itemsize))
    return buffer[offset:offset + size].reshape(shape)
