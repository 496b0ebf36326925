"""``benchmarks.torch_cpu``'s floors: the SGD rows carry the minimal eager step beside the backends,
and the full-batch table times the three computations in order with the ratios to Numba's kernel."""

import re

import numpy as np
import pytest

from problems import clustered_images

torch = pytest.importorskip("torch")

from benchmarks.torch_cpu import FLOOR, compare, full_batch_passes, passes_table  # noqa: E402


def rows():
    return clustered_images(1_200, 50)


def test_the_full_batch_table_names_numba_the_torch_backend_and_the_floor():
    X, y = rows()
    passes = full_batch_passes(X, y, repeats=1)
    assert [name for name, _ in passes] == [
        "numba fused kernel", "torch backend", "torch, the two products alone (floor)"]
    assert all(seconds > 0 for _, seconds in passes)
    table = passes_table(passes, "Fashion-MNIST")
    lines = table.splitlines()
    assert lines[0].startswith("One full-batch value and gradient over the Fashion-MNIST training rows (uint8")
    assert re.fullmatch(r"\| numba fused kernel \| [\d.]+ \| 1\.00x \|", lines[4])
    assert len(lines) == 7


def test_the_sgd_rows_carry_the_eager_floor_beside_the_backends():
    X, y = rows()
    results = compare(X, y, batches=(64,), epochs=1, repeats=1)
    assert [r["contender"] for r in results] == ["torch", "numba", "numba, per-step", FLOOR]
    assert all(r["seconds"] > 0 for r in results) and results[1]["ratio"] == 1.0
    assert results[0]["accuracy"] == results[1]["accuracy"] and np.isnan(results[3]["accuracy"])
