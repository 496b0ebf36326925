"""Fixtures of the torch tests: float32 products at full precision (no TF32), as the 1e-5 equality
with NumPy needs.

Loaded as a plugin (``pytest_plugins = ["torch_fixtures"]`` in each torch test file). The doctest
collector imports this file before pytest loads it as a plugin, so it opts out of assertion
rewriting (PYTEST_DONT_REWRITE).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def exact_matmul():
    """``torch.set_float32_matmul_precision("highest")`` for the test, restored afterwards."""
    import torch

    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(previous)
