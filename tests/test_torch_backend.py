"""The torch backend equals the NumPy backend: objective values and gradients, and fitted weights of
every loss x penalty x optimizer, with the weights as tensors (where a GPU keeps them) or as arrays.

The tensors live on ``LINCLASS_TEST_DEVICE`` (default ``cpu``; ``python -m benchmarks.gpu`` runs
this file with ``cuda``). float64 agrees to 1e-10 relative, float32 to 1e-5.
"""

import numpy as np
import pytest

from linclass.kernels import NumpyKernels
from linclass.objective import Objective
from linclass.optim import OPTIMIZERS as REGISTERED
from linclass.preprocess import fit_transform
from linclass.train import fit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("exact_matmul")

from linclass.kernels.torch_backend import TorchKernels  # noqa: E402
from torch_equality import DEVICE, assert_close, host, on_device  # noqa: E402

CLASSIFICATION = ["softmax", "svm", "squared_hinge", "multi_margin", "crammer_singer"]
PENALTIES = ["none", "l2", "l1", "elasticnet"]



def problem(loss="softmax", dtype=np.float64, raw=np.uint8, n=90, n_features=12, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=40.0, size=(n_classes, n_features))
    y = rng.integers(0, n_classes, n)
    X = np.clip(centres[y] + rng.normal(scale=30.0, size=(n, n_features)) + 128, 0, 255).astype(raw)
    if loss == "squared_error":
        y = rng.normal(size=(n, n_classes)).astype(dtype)
    params = (
        rng.normal(scale=0.3, size=(n_features, n_classes)).astype(dtype),
        rng.normal(scale=0.3, size=n_classes).astype(dtype),
    )
    return X, y, params


def objectives(loss, penalty, X, weighted=False, n_classes=4):
    options = dict(
        loss=loss, penalty=penalty, alpha=0.01, l1_ratio=0.3, transform=fit_transform("standardize", X),
        class_weight=np.linspace(0.5, 2.0, n_classes) if weighted else None,
    )
    return Objective(**options, kernels=NumpyKernels()), Objective(**options, kernels=TorchKernels(DEVICE))


CASES = [(loss, weighted) for loss in CLASSIFICATION for weighted in (False, True)] + [("squared_error", False)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss, weighted", CASES)
def test_batch_values_and_gradients_equal_the_numpy_backend(loss, weighted, penalty, dtype):
    X, y, params = problem(loss, dtype)
    numpy_objective, torch_objective = objectives(loss, penalty, X, weighted)
    expected = numpy_objective.batch(params, X, y)
    X_t, y_t = on_device(X, y)
    for weights in (on_device(*params), params):  # weights on the device, or host arrays
        actual = torch_objective.batch(weights, X_t, y_t)
        assert actual.n_correct == expected.n_correct
        assert_close(actual.value, expected.value, dtype)
        for a, e in zip(actual.grads, expected.grads, strict=True):
            assert type(a) is type(weights[0])
            assert_close(a, e, dtype)
    assert_close(torch_objective.value(params, X_t, y_t), numpy_objective.value(params, X, y), dtype)
    assert_close(torch_objective.scores(params, X_t), numpy_objective.scores(params, X), dtype)


def built(name, **hyperparameters):
    return REGISTERED[name].build(**hyperparameters)


MINIBATCH = dict(batch_size=16)  # 90 rows: 6 steps per epoch
OPTIMIZERS = {
    "sgd": lambda: dict(optimizer=built("sgd", learning_rate=0.05), **MINIBATCH),
    "momentum": lambda: dict(optimizer=built("sgd", learning_rate=0.05, momentum=0.9), **MINIBATCH),
    "nesterov": lambda: dict(
        optimizer=built("sgd", learning_rate=0.05, momentum=0.9, nesterov=True, schedule="cosine",
                        schedule_options={"decay_steps": 3}, steps_per_epoch=6),
        **MINIBATCH,
    ),
    "adam": lambda: dict(optimizer=built("adam", learning_rate=0.01), **MINIBATCH),
    "gd": lambda: dict(optimizer=built("gd", learning_rate=0.2)),
    "lbfgs": lambda: dict(optimizer="lbfgs"),
    "random_search": lambda: dict(optimizer=built("random_search", learning_rate=0.1)),
    "random_local_search": lambda: dict(optimizer=built("random_local_search", learning_rate=0.1)),
    "genetic": lambda: dict(optimizer=built("genetic", learning_rate=0.1)),
}


def fit_both(loss, penalty, optimizer, dtype, epochs=3, tensor_weights=True, **extra):
    X, y, params = problem(loss, dtype)
    numpy_objective, torch_objective = objectives(loss, penalty, X)
    settings = dict(OPTIMIZERS[optimizer](), epochs=epochs, random_state=0, **extra)
    expected = fit(numpy_objective, params, X, y, **settings)
    X_t, y_t = on_device(X, y)
    start = on_device(*params) if tensor_weights else params
    actual = fit(torch_objective, start, X_t, y_t, **settings)
    return expected, actual


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("penalty", PENALTIES)
@pytest.mark.parametrize("loss", CLASSIFICATION + ["squared_error"])
def test_fitted_weights_equal_the_numpy_backend(loss, penalty, optimizer):
    smooth = loss in ("softmax", "squared_hinge", "squared_error") and penalty in ("none", "l2")
    if optimizer == "lbfgs" and not smooth:
        with pytest.raises(ValueError, match="optimizer='lbfgs' needs a smooth objective"):
            fit_both(loss, penalty, optimizer, np.float64)
        return
    expected, actual = fit_both(loss, penalty, optimizer, np.float64)
    for a, e in zip(actual.params, expected.params, strict=True):
        assert_close(a, e, np.float64)
    np.testing.assert_allclose(actual.history["loss"], expected.history["loss"], rtol=1e-10)
    if "train_accuracy" in expected.history:
        assert actual.history["train_accuracy"] == expected.history["train_accuracy"]


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "gd", "lbfgs"])
def test_float32_fits_agree_to_float32_rounding(optimizer):
    expected, actual = fit_both("softmax", "l2", optimizer, np.float32, epochs=2)
    for a, e in zip(actual.params, expected.params, strict=True):
        assert host(a).dtype == np.float32
        assert_close(a, e, np.float32)


def test_every_optimizer_keeps_tensor_weights_on_the_device():
    _, on_device_fit = fit_both("softmax", "l2", "adam", np.float32, epochs=1)
    assert all(isinstance(p, torch.Tensor) and p.device.type == DEVICE.type for p in on_device_fit.params)
    _, from_arrays = fit_both("softmax", "l2", "adam", np.float32, epochs=1, tensor_weights=False)
    assert all(isinstance(p, torch.Tensor) and p.device.type == DEVICE.type for p in from_arrays.params)
    _, lbfgs_fit = fit_both("softmax", "l2", "lbfgs", np.float64, epochs=2)
    assert all(isinstance(p, torch.Tensor) and p.device.type == DEVICE.type for p in lbfgs_fit.params)
    _, search_fit = fit_both("softmax", "l2", "genetic", np.float64, epochs=2)
    assert all(isinstance(p, torch.Tensor) and p.device.type == DEVICE.type for p in search_fit.params)


@pytest.mark.parametrize("optimizer", ["nesterov", "adam", "genetic"])
def test_resume_on_the_device_is_bit_identical(optimizer, tmp_path):
    from linclass.train import TrainState

    X, y, params = problem("softmax", np.float32)
    _, objective = objectives("softmax", "l2", X)
    X_t, y_t = on_device(X, y)
    settings = dict(OPTIMIZERS[optimizer](), random_state=5)
    straight = fit(objective, on_device(*params), X_t, y_t, epochs=4, **settings)
    first = fit(objective, on_device(*params), X_t, y_t, epochs=2, **settings)
    first.state.save(tmp_path / "state.npz")
    resumed = fit(objective, None, X_t, y_t, epochs=4, resume=TrainState.load(tmp_path / "state.npz"), **settings)
    for a, b in zip(straight.params, resumed.params, strict=True):
        np.testing.assert_array_equal(host(a), host(b))
    assert straight.history["loss"] == resumed.history["loss"]


def test_divergence_is_reported_on_the_device():
    from linclass.train import DivergenceError

    X, y, params = problem("softmax", np.float32)
    _, objective = objectives("softmax", "l2", X)
    with pytest.raises(DivergenceError, match=r"training diverged at epoch 1, step \d+: "):
        fit(objective, on_device(*params), *on_device(X, y), optimizer=built("sgd", learning_rate=1e9),
            batch_size=10, epochs=3, random_state=0)


@pytest.mark.parametrize("n_threads", [2, 3])
def test_large_cpu_calls_split_their_rows_across_threads_and_equal_the_numpy_backend(n_threads, monkeypatch):
    import linclass.kernels.torch_backend as torch_backend
    from linclass.kernels import threads

    if DEVICE.type != "cpu":
        pytest.skip("row parts are a CPU path")
    X, y, params = problem("softmax", np.float64, n=101)
    numpy_objective, torch_objective = objectives("softmax", "l2", X, weighted=True)
    expected = numpy_objective.batch(params, X, y)
    whole = torch_objective.batch(on_device(*params), *on_device(X, y))
    monkeypatch.setattr(torch_backend, "PARALLEL_MIN_WORK", 0)
    threads_before = torch.get_num_threads()
    calls = []
    monkeypatch.setattr(torch_backend, "map_parts", lambda run, n: calls.append(n) or threads.map_parts(run, n))
    with threads.limit_threads(n_threads):
        split = torch_objective.batch(on_device(*params), *on_device(X, y))
        scores = torch_objective.scores(on_device(*params), on_device(X)[0])
    assert calls == [n_threads, n_threads]
    assert split.n_correct == expected.n_correct == whole.n_correct
    assert split.value == pytest.approx(expected.value, rel=1e-12)
    for a, e in zip(split.grads, expected.grads, strict=True):
        assert_close(a, e, np.float64)
    assert_close(scores, numpy_objective.scores(params, X), np.float64)
    assert torch.get_num_threads() == threads_before  # each call runs on one torch thread, then restores
