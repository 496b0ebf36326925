"""Kernels: the fused Numba path equals the NumPy reference for every loss, dtype and option."""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numba")

from linclass import kernels  # noqa: E402
from linclass.kernels import fused, reference  # noqa: E402
from linclass.kernels.threads import limit_threads, map_parts, num_threads, set_num_threads  # noqa: E402
from linclass.losses import LOSSES as SPECS  # noqa: E402
from linclass.preprocess import fit_transform  # noqa: E402
from problems import linear_problem as problem  # noqa: E402

LOSSES = sorted(kernels.FUSED_LOSSES)
CLASSIFICATION = [name for name in LOSSES if name != "squared_error"]
REFERENCE = kernels.NumpyKernels()
NUMBA = kernels.NumbaKernels()
# (input dtype, computation dtype); each pair compiles the kernels once.
DTYPES = [(np.uint8, np.float32), (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64)]


def assert_close(actual, desired, dtype):
    """float32 rounding differs in summation order only; float64 agrees to 1e-10 of the scale."""
    actual, desired = np.asarray(actual, np.float64), np.asarray(desired, np.float64)
    rtol = 2e-4 if np.dtype(dtype) == np.float32 else 1e-10
    scale = max(1.0, float(np.abs(desired).max(initial=0.0)))
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * scale)


def assert_results_close(fast, slow, dtype):
    assert fast.n_correct == slow.n_correct
    assert_close(fast.loss_sum, slow.loss_sum, dtype)
    assert_close(fast.grad_sums[0], slow.grad_sums[0], dtype)
    assert_close(fast.grad_sums[1], slow.grad_sums[1], dtype)
    assert fast.grad_sums[0].dtype == slow.grad_sums[0].dtype == fast.grad_sums[1].dtype == np.dtype(dtype)
    assert fast.grad_sums[0].shape == slow.grad_sums[0].shape and fast.grad_sums[0].flags.c_contiguous


# --------------------------------------------------------------------------- fused == reference


@pytest.mark.parametrize("x_dtype, w_dtype", DTYPES)
@pytest.mark.parametrize(
    "loss, weighted", [(name, False) for name in LOSSES] + [(name, True) for name in CLASSIFICATION]
)
@pytest.mark.parametrize("preprocess", [None, "standardize"])
def test_fused_loss_equals_reference(loss, x_dtype, w_dtype, weighted, preprocess):
    X, y, W, b, class_weight = problem(loss, x_dtype, w_dtype, weighted=weighted)
    transform = None if preprocess is None else fit_transform(preprocess, X)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=class_weight, transform=transform)
    slow = REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=class_weight, transform=transform)
    assert_results_close(fast, slow, w_dtype)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n_classes", [5, 7, 10, 12])
def test_class_groups_of_five_equal_reference(loss, n_classes):
    # 5 classes share each pass over the features; the rest go one at a time
    X, y, W, b, _ = problem(loss, np.uint8, np.float32, n=31, n_features=37, n_classes=n_classes)
    transform = fit_transform("center-scale", X)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss], transform=transform)
    slow = REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss], transform=transform)
    assert_results_close(fast, slow, np.float32)
    assert_close(fused.linear_scores(X, W, b), REFERENCE.linear_scores(X, W, b), np.float32)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("n_parts", [2, 3, 7])
def test_row_parts_on_threads_equal_one_part(loss, n_parts):
    X, y, W, b, _ = problem(loss, np.uint8, np.float32, n=61)
    transform = fit_transform("center-scale", X)
    one = fused.linear_loss(X, y, W, b, loss=SPECS[loss], transform=transform, n_parts=1)
    parts = fused.linear_loss(X, y, W, b, loss=SPECS[loss], transform=transform, n_parts=n_parts)
    assert_results_close(parts, one, np.float32)


@pytest.mark.parametrize("loss", LOSSES)
def test_without_grad_only_the_total_and_count_are_computed(loss):
    X, y, W, b, _ = problem(loss, np.float64, np.float64)
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss], with_grad=False)
    slow = REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss], with_grad=False)
    assert fast.grad_sums is None and slow.grad_sums is None and fast.n == slow.n == X.shape[0]
    assert fast.n_correct == slow.n_correct
    assert_close(fast.loss_sum, slow.loss_sum, np.float64)


@pytest.mark.parametrize("x_dtype, w_dtype", DTYPES)
@pytest.mark.parametrize("n_parts", [None, 3])
def test_fused_scores_equal_reference(x_dtype, w_dtype, n_parts):
    X, _, W, b, _ = problem("softmax", x_dtype, w_dtype, n=30)
    fast = fused.linear_scores(X, W, b, n_parts=n_parts)
    assert fast.dtype == np.dtype(w_dtype)
    assert_close(fast, REFERENCE.linear_scores(X, W, b), w_dtype)
    transform = fit_transform("standardize", X)
    assert_close(
        fused.linear_scores(X, W, b, transform=transform, n_parts=n_parts),
        REFERENCE.linear_scores(X, W, b, transform=transform),
        w_dtype,
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    n_features=st.integers(1, 12),
    n_classes=st.integers(2, 6),
    loss=st.sampled_from(LOSSES),
    seed=st.integers(0, 2**16),
)
def test_fused_equals_reference_for_any_shape(n, n_features, n_classes, loss, seed):
    X, y, W, b, class_weight = problem(
        loss, np.float64, np.float64, n, n_features, n_classes, seed, weighted=loss != "squared_error"
    )
    fast = fused.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=class_weight)
    assert_results_close(
        fast, REFERENCE.linear_loss(X, y, W, b, loss=SPECS[loss], class_weight=class_weight), np.float64
    )


def test_reference_chunks_give_the_result_of_one_chunk(monkeypatch):
    X, y, W, b, _ = problem("softmax", np.uint8, np.float64, n=50)
    whole = REFERENCE.linear_loss(X, y, W, b, loss=SPECS["softmax"])
    monkeypatch.setattr(reference, "CHUNK_BYTES", 7 * X.shape[1] * 8)
    assert reference.chunk_rows(X.shape[1], 8) == 7
    chunked = REFERENCE.linear_loss(X, y, W, b, loss=SPECS["softmax"])
    assert_results_close(chunked, whole, np.float64)
    assert_close(REFERENCE.linear_scores(X, W, b), X @ W + b, np.float64)


def test_every_fused_loss_has_its_own_kernel_code_on_its_registry_entry():
    codes = {name: spec.fused_code for name, spec in SPECS.items() if spec.fused_code is not None}
    assert set(codes) == kernels.FUSED_LOSSES == set(SPECS)
    assert sorted(codes.values()) == list(range(len(codes)))


def test_chunk_rows_bounds_converted_bytes():
    assert reference.chunk_rows(3072, 4) == 16 * 2**20 // (3072 * 4) == 1365
    assert reference.chunk_rows(10**9, 8) == 1


# --------------------------------------------------------------------------- exact semantics


def test_hinge_term_exactly_at_the_margin_contributes_nothing():
    X = np.array([[1.0]])
    W = np.array([[1.0, 0.0]])  # scores [1, 0]: s_1 - s_0 + 1 == 0 exactly
    b = np.zeros(2)
    for loss in ("svm", "squared_hinge", "multi_margin", "crammer_singer"):
        fast = fused.linear_loss(X, np.array([0]), W, b, loss=SPECS[loss])
        assert fast.loss_sum == 0.0
        np.testing.assert_array_equal(fast.grad_sums[0], np.zeros((1, 2)))


def test_one_vs_rest_terms_exactly_at_their_margin_contribute_nothing():
    X = np.array([[1.0, -1.0]])  # identity weights: the own class scores +1, the other -1
    W, b = np.eye(2), np.zeros(2)
    fast = fused.linear_loss(X, np.array([0]), W, b, loss=SPECS["ovr_squared_hinge"])
    slow = REFERENCE.linear_loss(X, np.array([0]), W, b, loss=SPECS["ovr_squared_hinge"])
    assert fast.loss_sum == slow.loss_sum == 0.0
    np.testing.assert_array_equal(fast.grad_sums[0], np.zeros((2, 2)))
    np.testing.assert_array_equal(slow.grad_sums[0], np.zeros((2, 2)))


def test_crammer_singer_takes_the_first_of_tied_runners_up():
    X = np.array([[1.0]])
    W = np.array([[0.0, 2.0, 2.0]])
    fast = fused.linear_loss(X, np.array([0]), W, np.zeros(3), loss=SPECS["crammer_singer"])
    slow = REFERENCE.linear_loss(X, np.array([0]), W, np.zeros(3), loss=SPECS["crammer_singer"])
    np.testing.assert_array_equal(fast.grad_sums[0], [[-1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(fast.grad_sums[0], slow.grad_sums[0])
    assert fast.loss_sum == slow.loss_sum == 3.0


def test_zero_class_weight_removes_a_class_from_loss_and_gradient():
    X, y, W, b, _ = problem("softmax", np.float64, np.float64)
    weight = np.array([0.0, 1.0, 1.0, 1.0])
    fast = fused.linear_loss(X, y, W, b, loss=SPECS["softmax"], class_weight=weight)
    kept = y != 0
    only_kept = fused.linear_loss(X[kept], y[kept], W, b, loss=SPECS["softmax"])
    assert_close(fast.loss_sum, only_kept.loss_sum, np.float64)
    assert_close(fast.grad_sums[0], only_kept.grad_sums[0], np.float64)


def test_correct_count_uses_the_first_of_tied_top_scores():
    X = np.zeros((3, 2), np.float32)
    W = np.zeros((2, 3), np.float32)
    result = NUMBA.linear_loss(X, np.array([0, 1, 2]), W, np.zeros(3, np.float32), loss=SPECS["svm"])
    assert result.n_correct == 1


# --------------------------------------------------------------------------- dispatch and fallbacks


def test_non_finite_scores_get_the_reference_error():
    X, y, W, b, _ = problem("softmax", np.float32, np.float32)
    X[5, 3] = np.nan
    for loss in ("softmax", "svm"):
        with pytest.raises(ValueError, match=r"^scores contains NaN or \+inf values$"):
            NUMBA.linear_loss(X, y, W, b, loss=SPECS[loss])


def test_labels_out_of_range_get_the_reference_error():
    X, y, W, b, _ = problem("svm", np.uint8, np.float32)
    y[7] = 9
    with pytest.raises(
        ValueError, match=r"^y contains label 9 but there are only 4 classes \(expected 0\.\.3\)$"
    ):
        NUMBA.linear_loss(X, y, W, b, loss=SPECS["svm"])
    y[7] = -1
    with pytest.raises(ValueError, match=r"^y contains negative label -1; expected 0\.\.3$"):
        NUMBA.linear_loss(X, y, W, b, loss=SPECS["softmax"])


def test_negative_class_weight_gets_the_reference_error():
    X, y, W, b, _ = problem("svm", np.float64, np.float64)
    with pytest.raises(
        ValueError, match="^weight contains negative value -1.0; expected non-negative class weights$"
    ):
        NUMBA.linear_loss(X, y, W, b, loss=SPECS["svm"], class_weight=np.array([1.0, -1.0, 1.0, 1.0]))


@pytest.mark.parametrize(
    "transform",
    [
        lambda X, y: (X.astype(bool), y),  # dtype without a fused kernel
        lambda X, y: (np.asfortranarray(X), y),  # not C-contiguous
    ],
)
def test_inputs_without_a_fused_kernel_use_the_reference(monkeypatch, transform):
    X, y, W, b, _ = problem("softmax", np.float64, np.float64)
    X, y = transform(X, y)
    expected = REFERENCE.linear_loss(X, y, W, b, loss=SPECS["softmax"])

    def refuse(*args, **kwargs):
        raise AssertionError("the fused kernel was called")

    monkeypatch.setattr(fused, "linear_loss", refuse)
    monkeypatch.setattr(fused, "linear_scores", refuse)
    assert_results_close(NUMBA.linear_loss(X, y, W, b, loss=SPECS["softmax"]), expected, np.float64)
    assert_close(NUMBA.linear_scores(X, W, b), REFERENCE.linear_scores(X, W, b), np.float64)


def test_float_labels_are_validated_by_the_reference(monkeypatch):
    X, y, W, b, _ = problem("svm", np.float64, np.float64)
    expected = REFERENCE.linear_loss(X, y, W, b, loss=SPECS["svm"])
    monkeypatch.setattr(fused, "linear_loss", None)
    assert_results_close(
        NUMBA.linear_loss(X, y.astype(np.float64), W, b, loss=SPECS["svm"]), expected, np.float64
    )
    with pytest.raises(ValueError, match="^y contains fractional values; expected integer class indices$"):
        NUMBA.linear_loss(X, y + 0.5, W, b, loss=SPECS["svm"])


def test_numba_kernels_use_the_fused_kernel_and_the_numpy_kernels_do_not(monkeypatch):
    X, y, W, b, _ = problem("svm", np.uint8, np.float32)
    calls = []
    original = fused.linear_loss

    def spy(*args, **kwargs):
        calls.append(kwargs["loss"].name)
        return original(*args, **kwargs)

    monkeypatch.setattr(fused, "linear_loss", spy)
    NUMBA.linear_loss(X, y, W, b, loss=SPECS["svm"])
    REFERENCE.linear_loss(X, y, W, b, loss=SPECS["svm"])
    assert calls == ["svm"]


def test_supports_names_the_inputs_of_the_fused_kernels():
    X, y, W, b, _ = problem("svm", np.uint8, np.float32)
    assert NUMBA.supports(X, W, b) and NUMBA.supports(X, W, b, loss=SPECS["svm"], y=y)
    assert not NUMBA.supports(X.astype(bool), W, b)
    assert not NUMBA.supports(np.asfortranarray(X), W, b)
    assert not NUMBA.supports(X, W, b.astype(np.float64))
    assert not NUMBA.supports(X, W, b, loss=SPECS["svm"], y=y.astype(np.float64))
    assert not NUMBA.supports(X, W, b, loss=SPECS["svm"], y=y, class_weight=np.array([1.0, -1.0, 1.0, 1.0]))
    assert not NUMBA.supports(X, W, b, loss=SPECS["squared_error"], y=y)  # 53 targets for 4 outputs


# --------------------------------------------------------------------------- backend selection


def test_both_classes_implement_the_protocol_and_are_registered():
    assert isinstance(REFERENCE, kernels.Kernels) and isinstance(NUMBA, kernels.Kernels)
    assert kernels.KERNELS.names() == ["dask", "numba", "numpy", "torch"]
    assert isinstance(kernels.get_kernels("numpy"), kernels.NumpyKernels)
    assert kernels.get_kernels(NUMBA) is NUMBA
    assert (REFERENCE.name, NUMBA.name) == ("numpy", "numba")


def test_unknown_backend_is_refused():
    with pytest.raises(
        ValueError, match=r"^backend='cuda' is not supported; expected one of \['dask', 'numba', 'numpy', 'torch'\]$"
    ):
        kernels.get_kernels("cuda")
    with pytest.raises(
        TypeError, match=r"^backend must be None, a name in \['dask', 'numba', 'numpy', 'torch'\] or an object"
    ):
        kernels.get_kernels(3)


def run_python(code, **env):
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, check=True
    )
    return result.stdout.strip()


def test_environment_variable_disables_numba():
    code = "from linclass import kernels; print(kernels.default_kernels().name)"
    assert run_python(code, LINCLASS_DISABLE_NUMBA="1") == "numpy"
    assert run_python(code, LINCLASS_DISABLE_NUMBA="") == "numba"


def test_without_numba_the_numpy_path_runs():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from linclass import kernels\n"
        "from linclass.objective import Objective\n"
        "X = np.array([[0, 255], [255, 0]], dtype=np.uint8)\n"
        "params = (np.zeros((2, 2), np.float32), np.zeros(2, np.float32))\n"
        "objective = Objective('softmax')\n"
        "result = objective.batch(params, X, np.array([0, 1]))\n"
        "try:\n"
        "    kernels.get_kernels('numba')\n"
        "except ValueError as exc:\n"
        "    print(exc)\n"
        "print(objective.kernels.name, kernels.numba_available(), round(result.value, 4), sys.modules['numba'])\n"
    )
    lines = run_python(code, LINCLASS_DISABLE_NUMBA="").splitlines()
    assert lines == [
        "backend='numba' needs the numba package; install it (pip install numba) or use 'numpy'",
        "numpy False 0.6931 None",
    ]


# --------------------------------------------------------------------------- threads


def test_limit_threads_caps_kernels_and_blas_then_restores():
    from threadpoolctl import threadpool_info

    before = num_threads()
    with limit_threads(1):
        assert num_threads() == 1
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    assert num_threads() == before


def test_thread_count_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="^n_threads must be an integer >= 1, got 0$"):
        set_num_threads(0)
    with pytest.raises(TypeError, match="^n_threads must be an integer, got 2.0$"):
        with limit_threads(2.0):
            pass


def test_map_parts_returns_results_in_part_order():
    assert map_parts(lambda part: part * part, 5) == [0, 1, 4, 9, 16]
    assert map_parts(lambda part: part - 1, 1) == [-1]


def test_large_calls_use_one_part_per_thread(monkeypatch):
    monkeypatch.setattr(fused, "PARTS_MIN_WORK", 100)
    with limit_threads(2):
        assert fused.n_parts_for(1000, 10, 10) == 2
        assert fused.n_parts_for(4, 10, 10) == 1  # one block of rows
    with limit_threads(1):
        assert fused.n_parts_for(1000, 10, 10) == 1
