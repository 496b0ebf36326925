"""Full-width vectors and 64-byte aligned buffers for the fused kernels (linclass.kernels.vectors)."""

from __future__ import annotations

import re

import llvmlite.binding as llvm
import numba
import numpy as np
import pytest

from linclass.kernels import vectors
from linclass.kernels.blocks import block_scores


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (1, 1), (3, 7), (16, 784), (10, 3072)])
def test_aligned_empty_and_copy_start_on_a_64_byte_boundary(shape, dtype):
    like = np.zeros(1, dtype)
    empty = vectors.aligned_empty(shape[0], shape[1], like)
    assert empty.shape == shape and empty.dtype == dtype and empty.flags.c_contiguous
    assert empty.ctypes.data % 64 == 0
    source = (np.arange(shape[0] * shape[1]) % 251).astype(dtype).reshape(shape)
    copy = vectors.aligned_copy(source)
    assert copy.ctypes.data % 64 == 0 and copy.flags.c_contiguous
    np.testing.assert_array_equal(copy, source)
    assert copy.dtype == dtype


@pytest.mark.parametrize("shape", [(2, 10, 784), (1, 3, 5), (0,), (7,), (2, 0, 784)])
def test_aligned_zeros_is_zeros_on_a_64_byte_boundary(shape):
    array = vectors.aligned_zeros(shape, np.float32)
    assert array.shape == shape and array.dtype == np.float32 and array.flags.c_contiguous
    assert array.size == 0 or array.ctypes.data % 64 == 0
    assert not array.any()
    if len(shape) == 3 and array.size:  # each (C, D) part of a gradient buffer starts on a line when C * D * 4 does
        assert all(array[part].ctypes.data % 64 == 0 for part in range(shape[0]))


def test_wide_vectors_sets_the_function_attributes_only_where_called():
    @numba.njit
    def wide(a):
        vectors.wide_vectors()
        return a.sum()

    @numba.njit
    def plain(a):
        return a.sum()

    a = np.ones(8, np.float32)
    assert wide(a) == plain(a) == 8.0
    wide_ir = "\n".join(wide.inspect_llvm().values())
    plain_ir = "\n".join(plain.inspect_llvm().values())
    # (LLVM's optimizer drops "min-legal-vector-width" once its code is generated)
    assert '"prefer-vector-width"="512"' in wide_ir
    assert '"prefer-vector-width"' not in plain_ir


def test_the_forward_block_uses_the_widest_registers_the_cpu_has():
    """On an AVX-512 CPU the block's loop runs on 512-bit registers (LLVM would pick 256-bit ones
    on Intel's); without AVX-512 no 512-bit register appears."""

    @numba.njit
    def forward(xs, Wt, b, sT):
        for k in range(0, xs.shape[0], 4):
            block_scores(xs, k, Wt, b, sT)

    rng = np.random.default_rng(0)
    xs, Wt = rng.random((16, 784), dtype=np.float32), rng.random((10, 784), dtype=np.float32)
    b, sT = np.zeros(10, np.float32), np.zeros((10, 16), np.float32)
    forward(xs, Wt, b, sT)
    np.testing.assert_allclose(sT.T, xs @ Wt.T, rtol=1e-5)
    asm = "\n".join(forward.inspect_asm().values())
    has_avx512 = "+avx512f" in llvm.get_host_cpu_features().flatten().split(",")
    assert bool(re.search(r"%zmm\d+", asm)) == has_avx512
