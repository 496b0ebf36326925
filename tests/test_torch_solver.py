"""The full-batch solvers on tensors: preconditioned L-BFGS (``linclass.optim.solve`` and
``optimizer="lbfgs"``), full-batch GD and the searches run on the data's device, equal the NumPy
backend's fits, and copy no weights to the host while they iterate.

Tensors live on ``LINCLASS_TEST_DEVICE`` (default ``cpu``; ``python -m benchmarks.gpu`` runs this
file with ``cuda``). float64 agrees to 1e-10 relative, float32 to 1e-5.
"""

import os

import numpy as np
import pytest

from linclass.kernels import NumpyKernels
from linclass.objective import Objective
from linclass.optim import solve
from linclass.preprocess import fit_transform
from linclass.train import TrainState, fit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("exact_matmul")

from linclass.kernels.torch_backend import TorchKernels  # noqa: E402

DEVICE = torch.device(os.environ.get("LINCLASS_TEST_DEVICE", "cpu"))
RTOL = {np.float32: 1e-5, np.float64: 1e-10}
SMOOTH = ["softmax", "squared_hinge", "squared_error"]


def problem(loss="softmax", n=120, n_features=6, n_classes=3, seed=0):
    """Badly scaled, correlated features (what the preconditioner is for); float64."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n // n_classes)
    X = rng.normal(scale=0.7, size=(n_classes, n_features))[y] + rng.normal(size=(y.size, n_features))
    X = X * rng.uniform(0.1, 10.0, n_features) + rng.normal(size=n_features) * 5
    if loss == "squared_error":
        y = np.eye(n_classes)[y] + rng.normal(scale=0.1, size=(y.size, n_classes))
    return X, y


def objectives(loss, penalty, X, weighted=False, preprocess="standardize", alpha=1e-2):
    options = dict(
        loss=loss, penalty=penalty, alpha=alpha,
        transform=None if preprocess is None else fit_transform(preprocess, X),
        class_weight=np.array([1.0, 2.0, 0.5]) if weighted else None,
    )
    return Objective(**options, kernels=NumpyKernels()), Objective(**options, kernels=TorchKernels(DEVICE))


def on_device(*arrays):
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE) for a in arrays)


def host(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def assert_close(actual, desired, dtype):
    actual, desired = host(actual).astype(np.float64), np.asarray(desired, np.float64)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * max(1.0, float(np.abs(desired).max())))


def assert_on_device(params, dtype):
    for p in params:
        assert isinstance(p, torch.Tensor) and p.device.type == DEVICE.type
        assert p.dtype == getattr(torch, np.dtype(dtype).name)


CASES = [(loss, penalty) for loss in SMOOTH for penalty in ("none", "l2")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("precondition", ["none", "whiten", "diagonal"])
@pytest.mark.parametrize("loss, penalty", CASES)
def test_solve_on_tensors_follows_the_numpy_iterations(loss, penalty, precondition, dtype):
    """The same path on both backends: 12 float64 iterations (the refit of the scales at 10
    included); 3 in float32, whose last bits differ between the backends' sums, so that once the
    objective's decrease is down to float32 rounding the two runs stop at different iterations."""
    X, y = problem(loss)
    numpy_objective, torch_objective = objectives(loss, penalty, X, weighted=loss != "squared_error")
    X = X.astype(dtype)
    n_iter = 12 if dtype == np.float64 else 3
    settings = dict(tol=1e-12, max_iter=n_iter, precondition=precondition)
    expected = solve(numpy_objective, X, y, **settings)
    actual = solve(torch_objective, *on_device(X, y), **settings)
    assert_on_device(actual.params, dtype)
    assert actual.n_iter == expected.n_iter and (actual.n_iter == n_iter or expected.converged)
    if dtype == np.float64:  # a float32 line search may try one point more or fewer
        assert actual.n_evaluations == expected.n_evaluations
    for a, e in zip(actual.params, expected.params, strict=True):
        assert_close(a, e, dtype)
    assert actual.value == pytest.approx(expected.value, rel=RTOL[dtype])


@pytest.mark.parametrize("precondition", ["none", "whiten", "diagonal"])
@pytest.mark.parametrize("loss", ["softmax", "squared_hinge"])
def test_solve_on_tensors_converges_to_the_numpy_optimum(loss, precondition):
    X, y = problem(loss)
    numpy_objective, torch_objective = objectives(loss, "l2", X, weighted=True)
    expected = solve(numpy_objective, X, y, tol=1e-10, max_iter=500, precondition=precondition)
    actual = solve(torch_objective, *on_device(X, y), tol=1e-10, max_iter=500, precondition=precondition)
    assert expected.converged and actual.converged
    for a, e in zip(actual.params, expected.params, strict=True):
        assert_close(a, e, np.float64)


def test_solve_warm_starts_from_host_arrays_on_the_device_and_reuses_the_spectrum():
    X, y = problem()
    _, objective = objectives("softmax", "l2", X)
    X_t, y_t = on_device(X, y)
    cold = solve(objective, X_t, y_t, tol=1e-9)
    assert isinstance(cold.spectrum.basis, torch.Tensor) and cold.spectrum.basis.shape == (6, 6)
    warm = solve(objective, X_t, y_t, params=tuple(host(p) for p in cold.params), tol=1e-6, known=cold.spectrum)
    assert_on_device(warm.params, np.float64)
    assert warm.n_iter == 0 and warm.n_evaluations == 1


class HostCopies:
    """Records every tensor of more than two elements read back to the host (``.cpu()`` of a
    device tensor, ``.numpy()``, ``.tolist()``, ``np.asarray(tensor)``); an evaluation reads its
    loss and its count of correct rows back together, as one pair."""

    def __init__(self, monkeypatch):
        self.shapes = []
        for name in ("numpy", "tolist", "__array__") + (("cpu",) if DEVICE.type != "cpu" else ()):
            original = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self.recording(original))

    def recording(self, original):
        def method(tensor, *args, **kwargs):
            if tensor.numel() > 2:
                self.shapes.append(tuple(tensor.shape))
            return original(tensor, *args, **kwargs)

        return method


@pytest.mark.parametrize("precondition", ["whiten", "diagonal", "none"])
def test_solve_reads_no_array_back_to_the_host(precondition, monkeypatch):
    X, y = problem()
    _, objective = objectives("softmax", "l2", X, weighted=True)
    X_t, y_t = on_device(X, y)
    copies = HostCopies(monkeypatch)
    result = solve(objective, X_t, y_t, tol=1e-10, max_iter=40, precondition=precondition)
    assert result.n_iter > 10  # the scales were refitted at least once
    assert copies.shapes == []


OPTIMIZERS = {
    "lbfgs": dict(optimizer="lbfgs", epochs=12),
    "gd": dict(optimizer="gd", epochs=5),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_full_batch_fits_keep_the_weights_on_the_device_and_copy_none_back(optimizer, monkeypatch):
    X, y = problem()
    numpy_objective, torch_objective = objectives("softmax", "l2", X)
    start = (np.zeros((6, 3)), np.zeros(3))
    expected = fit(numpy_objective, start, X, y, random_state=0, **OPTIMIZERS[optimizer])
    X_t, y_t = on_device(X, y)
    copies = HostCopies(monkeypatch)
    actual = fit(torch_objective, on_device(*start), X_t, y_t, random_state=0, **OPTIMIZERS[optimizer])
    assert copies.shapes == []
    assert_on_device(actual.params, np.float64)
    for a, e in zip(actual.params, expected.params, strict=True):
        assert_close(a, e, np.float64)
    np.testing.assert_allclose(actual.history["loss"], expected.history["loss"], rtol=1e-10)


def test_lbfgs_resume_on_the_device_is_bit_identical(tmp_path):
    X, y = problem()
    _, objective = objectives("softmax", "l2", X)
    X_t, y_t = on_device(X, y)
    start = on_device(np.zeros((6, 3), np.float32), np.zeros(3, np.float32))
    straight = fit(objective, start, X_t, y_t, optimizer="lbfgs", epochs=14)
    first = fit(objective, start, X_t, y_t, optimizer="lbfgs", epochs=5)
    first.state.save(tmp_path / "state.npz")
    resumed = fit(objective, None, X_t, y_t, optimizer="lbfgs", epochs=14,
                  resume=TrainState.load(tmp_path / "state.npz"))
    assert isinstance(resumed.state.opt_state.lbfgs.s, torch.Tensor)
    assert resumed.state.opt_state.preconditioner.basis.device.type == DEVICE.type
    for a, b in zip(straight.params, resumed.params, strict=True):
        np.testing.assert_array_equal(host(a), host(b))
    assert straight.history["loss"] == resumed.history["loss"]
