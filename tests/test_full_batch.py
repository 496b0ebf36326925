"""Full-batch optimizers evaluate the training rows in place: no copy of the data per iteration."""

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.train import fit
from problems import linear_problem


class _Recording(Objective):
    """Records the address, shape and dtype of every array a pass evaluates (``batch`` makes its
    pass through ``data_batch``, the full-batch solver calls ``data_batch`` itself)."""

    seen: list = []

    def data_batch(self, params, X, y):
        type(self).seen.append((X.__array_interface__["data"][0], X.shape, X.dtype))
        return super().data_batch(params, X, y)


@pytest.mark.parametrize("optimizer", ["gd", "lbfgs"])
@pytest.mark.parametrize("x_dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("with_rows", [False, True])
def test_every_iteration_reads_the_same_training_array(optimizer, x_dtype, with_rows):
    X, y, W, b, _ = linear_problem("softmax", x_dtype, np.float32, n=80)
    rows = np.arange(0, 80, 2) if with_rows else None
    _Recording.seen = []
    fit(_Recording("softmax", "l2", alpha=1e-2), (W, b), X, y, optimizer=optimizer, epochs=6, rows=rows)
    addresses = {address for address, _, _ in _Recording.seen}
    assert len(_Recording.seen) >= 6 and len(addresses) == 1
    assert {(shape, dtype) for _, shape, dtype in _Recording.seen} == {((40 if with_rows else 80, 19), X.dtype)}
    if not with_rows:
        assert addresses == {X.__array_interface__["data"][0]}  # X itself, never a copy
