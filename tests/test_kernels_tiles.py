"""The fused kernel's tiles of rows: edges of tiles and blocks, class counts, the vectorized exp."""

import numpy as np
import pytest

pytest.importorskip("numba")

from linclass import kernels  # noqa: E402
from linclass.kernels import fused  # noqa: E402
from linclass.kernels.prefetch import prefetch_rows  # noqa: E402
from linclass.kernels.tile_losses import TILE_ROWS, exp_nonpositive  # noqa: E402
from linclass.losses import LOSSES as SPECS  # noqa: E402
from linclass.preprocess import fit_transform  # noqa: E402
from problems import linear_problem as problem  # noqa: E402
from test_kernels import assert_results_close  # noqa: E402

REFERENCE = kernels.NumpyKernels()
# Rows around the tile (16) and block (4) sizes: one partial block, one tile, a tile and one row, ...
ROWS = [1, 3, 4, TILE_ROWS - 1, TILE_ROWS, TILE_ROWS + 1, 2 * TILE_ROWS + 5]
# Two classes, fewer than a group of 5, a group and one, not a multiple of the vector width, many.
CLASSES = [2, 3, 6, 10, 17, 100]


def test_tiles_hold_a_whole_number_of_blocks():
    assert TILE_ROWS % fused.BLOCK_ROWS == 0


@pytest.mark.parametrize("n", ROWS)
@pytest.mark.parametrize("n_classes", CLASSES)
@pytest.mark.parametrize("loss", ["softmax", "multi_margin"])
def test_every_tile_edge_and_class_count_equals_the_reference(n, n_classes, loss):
    X, y, W, b, weight = problem(loss, np.uint8, np.float32, n=n, n_features=37, n_classes=n_classes, weighted=True)
    transform = fit_transform("center-scale", X)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=weight, transform=transform)
    slow = REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=weight, transform=transform)
    assert_results_close(fast, slow, np.float32)


@pytest.mark.parametrize("n", [TILE_ROWS + 3, 3 * TILE_ROWS])
@pytest.mark.parametrize("loss", sorted(kernels.FUSED_LOSSES))
def test_every_loss_over_several_tiles_equals_the_reference_in_float64(n, loss):
    X, y, W, b, _ = problem(loss, np.float64, np.float64, n=n, n_features=21, n_classes=7)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss])
    assert_results_close(fast, REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss]), np.float64)


def test_ties_count_the_first_class_reaching_the_maximum():
    X, y, W, b, _ = problem("softmax", np.float32, np.float32, n=2 * TILE_ROWS + 3, n_classes=5)
    W[:, 3] = W[:, 1]  # classes 1 and 3 always tie: argmax takes 1
    b[3] = b[1]
    y = np.where(np.arange(len(y)) % 2 == 0, 1, 3)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS["softmax"])
    slow = REFERENCE.linear_loss(X, y, W, b, loss=SPECS["softmax"])
    assert fast.n_correct == slow.n_correct
    scores = X @ W + b
    assert fast.n_correct == int(np.sum((np.argmax(scores, axis=1) == 1) & (y == 1)))


@pytest.mark.parametrize("row", [0, 5, TILE_ROWS + 2])
@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_a_non_finite_score_in_any_tile_raises_the_status_flag(row, bad):
    X, y, W, b, _ = problem("softmax", np.float32, np.float32, n=TILE_ROWS + 5)
    X[row, 2] = bad
    assert fused.linear_loss(X, y, W, b, loss=SPECS["softmax"]) is None


@pytest.mark.parametrize("label", [-1, 4])
def test_a_label_out_of_range_in_a_partial_tile_raises_the_status_flag(label):
    X, y, W, b, _ = problem("svm", np.uint8, np.float32, n=TILE_ROWS + 5)
    y[TILE_ROWS + 4] = label
    assert fused.linear_loss(X, y, W, b, loss=SPECS["svm"]) is None


def test_the_vectorized_exp_is_within_two_ulp_of_numpy_and_zero_below_the_normal_range():
    x = np.concatenate([-np.logspace(-12, np.log10(707.9), 200_001), [0.0, -0.0, -5e-324]])
    e = x.copy()
    exp_nonpositive(e, e.size)
    relative = np.abs(e - np.exp(x)) / np.exp(x)
    assert relative.max() <= 2 * np.finfo(np.float64).eps
    assert e[-3] == e[-2] == e[-1] == 1.0
    tiny = np.array([-708.5, -745.0, -1e300, -np.inf, -1.0])
    exp_nonpositive(tiny, 4)  # only the first 4
    assert tiny.tolist() == [0.0, 0.0, 0.0, 0.0, -1.0]


def test_the_rows_ahead_are_prefetched_within_the_array():
    import numba

    compiled = numba.njit(prefetch_rows.py_func)  # uncached, so that its machine code can be read
    X = np.zeros((6, 100), np.uint8)
    compiled(X, np.array([5, 0, 2], np.int64), 1, 9)  # positions past the end are ignored
    compiled(X, fused.NO_ROWS, 4, 20)
    assert "prefetcht0" in "\n".join(compiled.inspect_asm().values())
    for dtype in (np.int16, np.float32, np.float64):  # float rows are left to the hardware
        prefetch_rows(np.zeros((3, 7), dtype), fused.NO_ROWS, 0, 5)
