"""Objective: fast path == NumPy reference, folded preprocessing == explicit, memory stays flat."""

import dataclasses
import tracemalloc

import numpy as np
import pytest

from linclass import kernels
from linclass.gradcheck import check_gradient
from linclass.kernels import NumbaKernels, NumpyKernels
from linclass.objective import BatchResult, Objective
from linclass.optim import sgd
from linclass.preprocess import fit_transform
from linclass.train import fit

LOSSES = sorted(kernels.FUSED_LOSSES)
CLASSIFICATION = [name for name in LOSSES if name != "squared_error"]
PENALTIES = [None, "none", "l2", "l1", "elasticnet"]


def data(loss, raw_dtype, dtype, n=47, n_features=13, n_classes=4, seed=0):
    """Raw inputs, targets and parameters of ``dtype``."""
    rng = np.random.default_rng(seed)
    if np.dtype(raw_dtype) == np.uint8:
        X = rng.integers(0, 256, size=(n, n_features), dtype=np.uint8)
    else:
        X = (rng.normal(size=(n, n_features)) * 3.0 + 1.0).astype(raw_dtype)
    y = (
        rng.normal(size=(n, n_classes)).astype(dtype)
        if loss == "squared_error"
        else rng.integers(0, n_classes, n)
    )
    params = (
        rng.normal(scale=0.3, size=(n_features, n_classes)).astype(dtype),
        rng.normal(scale=0.3, size=n_classes).astype(dtype),
    )
    return X, y, params


def objective_for(loss, penalty, weighted, X, n_classes=4, preprocess="standardize"):
    weight = np.linspace(0.5, 2.0, n_classes) if weighted else None
    return Objective(
        loss=loss,
        penalty=penalty,
        alpha=0.01,
        l1_ratio=0.3,
        class_weight=weight,
        transform=fit_transform(preprocess, X),
        kernels=NumbaKernels(),
    )


def on_numpy(objective):
    """The same objective on the NumPy reference kernels."""
    return dataclasses.replace(objective, kernels=NumpyKernels())


def assert_batches_close(fast, slow, dtype):
    rtol = 2e-4 if np.dtype(dtype) == np.float32 else 1e-9
    assert fast.n_correct == slow.n_correct
    assert fast.value == pytest.approx(slow.value, rel=rtol, abs=rtol)
    for a, b in zip(fast.grads, slow.grads, strict=True):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.abs(b).max())))


CASES = [
    (loss, weighted)
    for loss in LOSSES
    for weighted in (False, True)
    if not (weighted and loss == "squared_error")
]


@pytest.mark.parametrize(
    "raw_dtype, dtype",
    [(np.uint8, np.float32), (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64)],
)
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss, weighted", CASES)
def test_fast_batch_equals_reference_batch(loss, weighted, penalty, raw_dtype, dtype):
    X, y, params = data(loss, raw_dtype, dtype)
    objective = objective_for(loss, penalty, weighted, X)
    fast = objective.batch(params, X, y)
    slow = on_numpy(objective).batch(params, X, y)
    assert isinstance(fast, BatchResult)
    assert_batches_close(fast, slow, dtype)


@pytest.mark.parametrize("loss", LOSSES)
def test_value_scores_and_accuracy_match_the_reference(loss):
    X, y, params = data(loss, np.uint8, np.float32, n=40)
    objective = objective_for(loss, "l2", False, X)
    value = objective.value(params, X, y)
    scores = objective.scores(params, X)
    reference = on_numpy(objective)
    assert value == pytest.approx(reference.value(params, X, y), rel=2e-4)
    np.testing.assert_allclose(scores, reference.scores(params, X), rtol=1e-4, atol=1e-4)
    reference_value, _ = reference.value_and_grad(params, X, y)
    assert value == pytest.approx(objective.batch(params, X, y).value, rel=1e-6)
    assert value == pytest.approx(reference_value, rel=2e-4)
    assert scores.dtype == np.float32 and scores.shape == (40, 4)
    if loss != "squared_error":
        assert objective.accuracy(params, X, y) == np.mean(scores.argmax(axis=1) == y)


@pytest.mark.parametrize("preprocess", ["standardize", "center-scale", "center", "scale"])
@pytest.mark.parametrize("loss", CLASSIFICATION)
def test_folded_preprocessing_equals_explicit_preprocessing(loss, preprocess):
    X, y, params = data(loss, np.uint8, np.float64)
    folded = objective_for(loss, "l2", True, X, preprocess=preprocess)
    explicit = Objective(loss=loss, penalty="l2", alpha=0.01, class_weight=folded.class_weight)
    X_explicit = folded.transform.apply(X)
    assert_batches_close(folded.batch(params, X, y), explicit.batch(params, X_explicit, y), np.float64)
    np.testing.assert_allclose(folded.scores(params, X), explicit.scores(params, X_explicit), rtol=1e-10)


@pytest.mark.parametrize("loss", ["softmax", "squared_hinge", "squared_error"])
def test_gradient_of_the_folded_objective_passes_a_numerical_check(loss):
    X, y, (W, b) = data(loss, np.uint8, np.float64, n=12, n_features=5, n_classes=3)
    objective = objective_for(loss, "l2", loss != "squared_error", X, n_classes=3)

    def value_and_grad_W(W_flat):
        result = objective.batch((W_flat.reshape(W.shape), b), X, y)
        return result.value, result.grads[0].ravel()

    def value_and_grad_b(b_vector):
        result = objective.batch((W, b_vector), X, y)
        return result.value, result.grads[1]

    for function, x in ((value_and_grad_W, W.ravel().copy()), (value_and_grad_b, b.copy())):
        report = check_gradient(function, x, threshold=1e-6)
        assert report.passed, str(report)


def test_no_transform_means_raw_weights():
    W, b = np.ones((3, 2)), np.zeros(2)
    raw = Objective().effective_params((W, b))
    assert raw[0] is W and raw[1] is b


def test_smoothness_and_regression_flags():
    assert Objective("softmax", penalty="l2").smooth
    assert not Objective("softmax", penalty="l1").smooth
    assert Objective("softmax", penalty="l1", alpha=0.0).smooth
    assert not Objective("svm").smooth
    assert Objective("squared_error").is_regression and Objective("squared_error").smooth
    assert not Objective("squared_hinge").is_regression
    assert Objective("softmax", penalty=None).penalty is Objective("softmax", penalty="none").penalty


def test_the_objective_holds_its_kernels_and_the_environment_only_picks_the_default(monkeypatch):
    assert isinstance(Objective(kernels=NumpyKernels()).kernels, NumpyKernels)
    monkeypatch.setenv("LINCLASS_DISABLE_NUMBA", "1")
    assert isinstance(Objective().kernels, NumpyKernels)
    monkeypatch.setenv("LINCLASS_DISABLE_NUMBA", "")
    assert isinstance(Objective().kernels, NumbaKernels)
    assert isinstance(Objective().kernels, kernels.Kernels)


def test_training_with_either_backend_reaches_the_same_weights():
    X, y, _ = data("softmax", np.uint8, np.float32, n=120)
    objective = objective_for("softmax", "l2", True, X)
    start = (np.zeros((13, 4), np.float32), np.zeros(4, np.float32))
    kwargs = dict(optimizer=sgd(0.1, momentum=0.9), batch_size=32, epochs=3, random_state=0)
    fast = fit(objective, start, X, y, **kwargs)
    slow = fit(on_numpy(objective), start, X, y, **kwargs)
    for a, b in zip(fast.params, slow.params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(fast.history["loss"], slow.history["loss"], rtol=1e-5)
    assert fast.history["train_accuracy"] == slow.history["train_accuracy"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_an_epoch_on_cifar10_sized_uint8_data_needs_little_extra_memory(backend):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(50_000, 3_072), dtype=np.uint8)  # 153.6 MB, like CIFAR-10's training set
    y = rng.integers(0, 10, size=50_000)
    objective = Objective(
        "svm",
        penalty="l2",
        alpha=1e-4,
        transform=fit_transform("scale", X),
        kernels=kernels.get_kernels(backend),
    )
    start = (np.zeros((3_072, 10), np.float32), np.zeros(10, np.float32))
    objective.batch(start, X[:256], y[:256])  # imports and loads the compiled kernels outside the trace
    tracemalloc.start()
    try:
        fit(
            objective,
            start,
            X,
            y,
            optimizer=sgd(1e-3),
            batch_size=256,
            epochs=1,
            random_state=0,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.25 * X.nbytes, f"peak {peak / 2**20:.1f} MiB"
