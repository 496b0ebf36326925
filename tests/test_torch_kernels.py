"""The PyTorch kernels equal the NumPy reference: every loss, class weights, folded preprocessing, dtypes."""

import numpy as np
import pytest

from linclass.kernels import NumpyKernels
from linclass.losses import LOSSES as LOSS_SPECS
from linclass.preprocess import fit_transform
from problems import linear_problem

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("exact_matmul")

from linclass.kernels import torch_kernels  # noqa: E402

LOSSES = sorted(torch_kernels.DATA_TERMS)
CLASSIFICATION = [name for name in LOSSES if name != "squared_error"]
DTYPES = [(np.uint8, np.float32), (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64)]
TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}



def problem(loss, x_dtype, w_dtype, n=61, **options):
    return linear_problem(loss, x_dtype, w_dtype, n=n, **{"n_features": 17, "n_classes": 5, **options})


def reference(X, y, W, b, *, loss, **options):
    """The NumPy reference's chunk sums for the loss called ``loss``."""
    return NumpyKernels().linear_loss(X, y, W, b, loss=LOSS_SPECS[loss], **options)


def tensors(*arrays):
    return [None if a is None else torch.from_numpy(np.ascontiguousarray(a)) for a in arrays]


def assert_close(actual, desired, dtype):
    """float64: 1e-10 relative; float32: 1e-5 relative to the largest entry (summation order differs)."""
    actual = np.asarray(actual.numpy() if isinstance(actual, torch.Tensor) else actual, np.float64)
    desired = np.asarray(desired, np.float64)
    rtol = 1e-5 if np.dtype(dtype) == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(desired).max(initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def run_both(loss, x_dtype, w_dtype, weighted=False, preprocess=None, chunk_bytes=None,
             accumulate=None, seed=0):
    X, y, W, b, class_weight = problem(loss, x_dtype, w_dtype, weighted=weighted, seed=seed)
    transform = None if preprocess is None else fit_transform(preprocess, X)
    expected = reference(X, y, W, b, loss=loss, class_weight=class_weight, transform=transform)
    Xt, yt, Wt, bt = tensors(X, y, W, b)
    weight_t = None if class_weight is None else torch.tensor(class_weight, dtype=Wt.dtype)
    fold = torch_kernels.fold_vectors(transform, Wt.dtype, Wt.device)
    actual = torch_kernels.linear_sums(
        Xt, yt, Wt, bt, loss=loss, class_weight=weight_t, fold=fold, chunk_bytes=chunk_bytes,
        accumulate=accumulate,
    )
    return expected, actual, X


def test_every_registered_loss_has_a_torch_kernel():
    assert LOSSES == LOSS_SPECS.names()


@pytest.mark.parametrize("x_dtype, w_dtype", DTYPES)
@pytest.mark.parametrize("loss, weighted", [(loss, False) for loss in LOSSES] + [(loss, True) for loss in CLASSIFICATION])
def test_sums_equal_the_reference(loss, weighted, x_dtype, w_dtype):
    expected, (total, grads, n, n_correct), X = run_both(loss, x_dtype, w_dtype, weighted=weighted)
    assert n == X.shape[0]
    assert n_correct == expected.n_correct
    assert_close(total, expected.loss_sum, w_dtype)
    assert grads[0].dtype == grads[1].dtype == TORCH_DTYPES[np.dtype(w_dtype)]
    assert_close(grads[0], expected.grad_sums[0], w_dtype)
    assert_close(grads[1], expected.grad_sums[1], w_dtype)


@pytest.mark.parametrize("preprocess", ["standardize", "center-scale", "center", "scale"])
@pytest.mark.parametrize("loss", LOSSES)
def test_folded_preprocessing_equals_the_reference(loss, preprocess):
    for x_dtype, w_dtype in [(np.uint8, np.float32), (np.uint8, np.float64)]:
        expected, (total, grads, _, n_correct), _ = run_both(loss, x_dtype, w_dtype, preprocess=preprocess)
        assert n_correct == expected.n_correct
        assert_close(total, expected.loss_sum, w_dtype)
        assert_close(grads[0], expected.grad_sums[0], w_dtype)
        assert_close(grads[1], expected.grad_sums[1], w_dtype)


@pytest.mark.parametrize("loss", LOSSES)
def test_chunking_does_not_change_the_sums(loss):
    """uint8 rows converted 3 at a time give the sums of one pass (to float64 rounding)."""
    rows_of_three = 3 * (17 + 2 * 5) * 8
    expected, (total, grads, _, n_correct), _ = run_both(
        loss, np.uint8, np.float64, preprocess="standardize", chunk_bytes=rows_of_three
    )
    assert torch_kernels.chunk_rows(17, 5, 8, rows_of_three) == 3
    assert n_correct == expected.n_correct
    assert_close(total, expected.loss_sum, np.float64)
    assert_close(grads[0], expected.grad_sums[0], np.float64)


def test_float64_accumulation_of_float32_chunks_returns_float32_sums():
    expected, (total, grads, _, _), _ = run_both(
        "softmax", np.uint8, np.float32, preprocess="standardize", chunk_bytes=4 * (17 + 10) * 4,
        accumulate=torch.float64,
    )
    assert grads[0].dtype == torch.float32
    assert_close(grads[0], expected.grad_sums[0], np.float32)
    assert_close(total, expected.loss_sum, np.float32)


def test_without_grad_only_the_loss_and_counts_are_computed():
    X, y, W, b, _ = problem("svm", np.float64, np.float64)
    total, grads, n, n_correct = torch_kernels.linear_sums(*tensors(X, y, W, b), loss="svm", with_grad=False)
    expected = reference(X, y, W, b, loss="svm", with_grad=False)
    assert grads is None and n == 61 and n_correct == expected.n_correct
    assert_close(total, expected.loss_sum, np.float64)


def test_a_kink_gets_the_zero_subgradient_like_the_reference():
    """Scores with margins exactly 0: the hinge losses contribute neither loss nor gradient there."""
    X = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 1.0]])  # identity weights: these are the scores
    W, b = np.eye(3), np.zeros(3)
    y = np.array([0, 0])
    for loss in ("svm", "squared_hinge", "multi_margin", "crammer_singer"):
        expected = reference(X, y, W, b, loss=loss)
        total, grads, _, _ = torch_kernels.linear_sums(*tensors(X, y, W, b), loss=loss)
        assert total == expected.loss_sum == 0.0
        assert_close(grads[0], expected.grad_sums[0], np.float64)


def test_one_vs_rest_terms_at_their_margin_get_the_zero_gradient_like_the_reference():
    X = np.array([[1.0, -1.0, -1.0], [-1.0, 0.5, 1.0]])  # identity weights: these are the scores
    W, b = np.eye(3), np.zeros(3)
    y = np.array([0, 2])  # row 0 sits on every margin; row 1 only its own and class 0's
    expected = reference(X, y, W, b, loss="ovr_squared_hinge")
    total, grads, _, _ = torch_kernels.linear_sums(*tensors(X, y, W, b), loss="ovr_squared_hinge")
    assert total == expected.loss_sum == 1.5**2
    assert_close(grads[0], expected.grad_sums[0], np.float64)


def test_crammer_singer_picks_the_first_runner_up_on_ties():
    X = np.array([[0.0, 3.0, 3.0, 1.0]])
    W, b, y = np.eye(4), np.zeros(4), np.array([0])
    total, grads, _, _ = torch_kernels.linear_sums(*tensors(X, y, W, b), loss="crammer_singer")
    expected = reference(X, y, W, b, loss="crammer_singer")
    assert total == expected.loss_sum == 4.0
    np.testing.assert_array_equal(grads[1].numpy(), expected.grad_sums[1])
    np.testing.assert_array_equal(grads[1].numpy(), [-1.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("x_dtype, w_dtype", DTYPES)
def test_scores_equal_the_reference(x_dtype, w_dtype):
    X, _, W, b, _ = problem("softmax", x_dtype, w_dtype)
    transform = fit_transform("standardize", X)
    expected = NumpyKernels().linear_scores(X, W, b, transform=transform)
    Xt, Wt, bt = tensors(X, W, b)
    fold = torch_kernels.fold_vectors(transform, Wt.dtype, Wt.device)
    actual = torch_kernels.linear_scores(Xt, Wt, bt, fold=fold, chunk_bytes=7 * (17 + 10) * 8)
    assert actual.dtype == TORCH_DTYPES[np.dtype(w_dtype)]
    assert_close(actual, expected, w_dtype)


def test_an_empty_chunk_of_rows_sums_to_zero():
    X, y, W, b, _ = problem("softmax", np.float64, np.float64)
    total, grads, n, n_correct = torch_kernels.linear_sums(*tensors(X[:0], y[:0], W, b), loss="softmax")
    assert (total, n, n_correct) == (0.0, 0, 0)
    assert not grads[0].any() and not grads[1].any()


@pytest.mark.parametrize("preprocess", ["none", "scale", "center", "center-scale", "standardize"])
@pytest.mark.parametrize("x_dtype", [np.uint8, np.float32, np.float64])
def test_preprocessing_fitted_on_a_tensor_equals_the_array_fit(preprocess, x_dtype):
    X, *_ = problem("softmax", x_dtype, np.float64, n=300)
    X[:, 3] = 2  # a constant feature (exactly summable): standardize only centres it
    expected = fit_transform(preprocess, X)
    actual = fit_transform(preprocess, torch.from_numpy(X))
    assert actual.name == expected.name
    np.testing.assert_allclose(actual.shift, expected.shift, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(actual.scale, expected.scale, rtol=1e-12)
    assert actual.shift.dtype == actual.scale.dtype == np.float64


def test_the_torch_tests_run_float32_products_at_full_precision():
    assert torch.get_float32_matmul_precision() == "highest"


@pytest.mark.parametrize("n_classes", [10, 40], ids=["class-major", "row-major"])
@pytest.mark.parametrize("loss", ["softmax", "svm"])
def test_tied_scores_count_the_first_highest_class_as_the_prediction(loss, n_classes):
    rng = np.random.default_rng(5)
    X = rng.integers(0, 3, (500, 6)).astype(np.float64)
    W = rng.integers(0, 2, (6, n_classes)).astype(np.float64)  # integer scores: many ties per row
    W[:, 1:4] = W[:, [0]]  # classes 0-3 always tie
    b = np.zeros(n_classes)
    y = rng.integers(0, 4, 500)
    expected = reference(X, y, W, b, loss=loss)
    total, grads, n, n_correct = torch_kernels.linear_sums(*tensors(X, y, W, b), loss=loss)
    assert n_correct == expected.n_correct == int((np.argmax(X @ W, axis=1) == y).sum())
    assert_close(total, expected.loss_sum, np.float64)
    for actual, desired in zip(grads, expected.grad_sums, strict=True):
        assert_close(actual, desired, np.float64)
