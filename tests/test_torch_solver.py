"""The full-batch solvers on tensors: preconditioned L-BFGS (``linclass.optim.solve`` and
``optimizer="lbfgs"``), full-batch GD and the searches run on the data's device, equal the NumPy
backend's fits, and copy no weights to the host while they iterate.

Tensors live on ``LINCLASS_TEST_DEVICE`` (default ``cpu``; ``python -m benchmarks.gpu`` runs this
file with ``cuda``). float64 agrees to 1e-10 relative, float32 to 1e-5.
"""

import numpy as np
import pytest

from linclass.kernels import NumpyKernels
from linclass.objective import Objective
from linclass.optim import genetic, random_local_search, random_search, solve
from linclass.preprocess import fit_transform
from linclass.train import TrainState, fit

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("exact_matmul")

from linclass.kernels.torch_backend import TorchKernels  # noqa: E402
from torch_equality import DEVICE, RTOL, assert_close, host, on_device  # noqa: E402

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


def assert_on_device(params, dtype):
    for p in params:
        assert isinstance(p, torch.Tensor) and p.device.type == DEVICE.type
        assert p.dtype == getattr(torch, np.dtype(dtype).name)


CASES = [(loss, penalty) for loss in SMOOTH for penalty in ("none", "l2")]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("precondition", ["none", "whiten", "cholesky", "diagonal"])
@pytest.mark.parametrize("loss, penalty", CASES)
def test_solve_on_tensors_follows_the_numpy_iterations(loss, penalty, precondition, dtype):
    """The same path on both backends: up to 12 float64 iterations (the refit of the scales at 10
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
    if dtype == np.float64 and expected.converged:
        # the last line search runs where the decrease is down to rounding, and the two backends'
        # sums round differently (on an Intel Xeon, squared error: 12 against 25 evaluations, the
        # weights then 1e-8 apart on a flat optimum); the path up to it must be the same
        before = dict(settings, max_iter=expected.n_iter - 1)
        expected_before = solve(numpy_objective, X, y, **before)
        actual_before = solve(torch_objective, *on_device(X, y), **before)
        assert actual_before.n_evaluations == expected_before.n_evaluations
        for a, e in zip(actual_before.params, expected_before.params, strict=True):
            assert_close(a, e, dtype)
        for a, e in zip(actual.params, expected.params, strict=True):
            np.testing.assert_allclose(host(a), e, rtol=1e-6, atol=1e-9)
    else:
        if dtype == np.float64:  # a float32 line search may try one point more or fewer
            assert actual.n_evaluations == expected.n_evaluations
        for a, e in zip(actual.params, expected.params, strict=True):
            assert_close(a, e, dtype)
    assert actual.value == pytest.approx(expected.value, rel=RTOL[dtype])


@pytest.mark.parametrize("precondition", ["none", "whiten", "cholesky", "diagonal"])
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


@pytest.mark.parametrize("precondition", ["whiten", "cholesky", "diagonal", "none"])
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
    "random_search": dict(optimizer=random_search(sigma=0.1, n_candidates=4), epochs=3),
    "random_local_search": dict(optimizer=random_local_search(sigma=0.1, n_candidates=4), epochs=3),
    "genetic uniform": dict(optimizer=genetic(sigma=0.1, population_size=6, mutation_rate=0.5), epochs=4),
    "genetic blend": dict(optimizer=genetic(sigma=0.1, population_size=6, crossover="blend"), epochs=4),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_full_batch_fits_keep_the_weights_on_the_device_and_copy_none_back(optimizer, dtype, monkeypatch):
    """The same fit on both backends (float32: L-BFGS stops by 3 iterations, see above); no
    tensor of more than two elements comes back to the host while it runs."""
    X, y = problem()
    numpy_objective, torch_objective = objectives("softmax", "l2", X)
    X = X.astype(dtype)
    start = (np.zeros((6, 3), dtype), np.zeros(3, dtype))
    settings = dict(OPTIMIZERS[optimizer], random_state=0)
    if optimizer == "lbfgs" and dtype == np.float32:
        settings["epochs"] = 3
    expected = fit(numpy_objective, start, X, y, **settings)
    X_t, y_t = on_device(X, y)
    copies = HostCopies(monkeypatch)
    actual = fit(torch_objective, on_device(*start), X_t, y_t, **settings)
    assert copies.shapes == []
    assert_on_device(actual.params, dtype)
    for a, e in zip(actual.params, expected.params, strict=True):
        assert_close(a, e, dtype)
    np.testing.assert_allclose(actual.history["loss"], expected.history["loss"], rtol=RTOL[dtype])
    assert actual.history["train_accuracy"] == expected.history["train_accuracy"]


def test_genetic_resume_on_the_device_is_bit_identical(tmp_path):
    X, y = problem()
    _, objective = objectives("softmax", "l2", X)
    X_t, y_t = on_device(X, y)
    settings = dict(optimizer=genetic(sigma=0.1, population_size=6), random_state=3)
    start = on_device(np.zeros((6, 3), np.float32), np.zeros(3, np.float32))
    straight = fit(objective, start, X_t, y_t, epochs=6, **settings)
    first = fit(objective, start, X_t, y_t, epochs=3, **settings)
    first.state.save(tmp_path / "state.npz")
    resumed = fit(objective, None, X_t, y_t, epochs=6, resume=TrainState.load(tmp_path / "state.npz"), **settings)
    assert all(isinstance(m, torch.Tensor) for m in resumed.state.opt_state.population)
    for a, b in zip(straight.params, resumed.params, strict=True):
        np.testing.assert_array_equal(host(a), host(b))


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


@pytest.fixture
def tensor_placement(monkeypatch):
    """The torch backend places data as tensors (as it does on a GPU, where NumPy is copied over
    once; on the CPU it would keep NumPy arrays), and every ``solve`` records the kinds of its
    data and of its solution."""
    import linclass.optim.solver as solver_module

    monkeypatch.setattr(TorchKernels, "place", lambda self, array: torch.from_numpy(np.ascontiguousarray(array))
                        if not isinstance(array, torch.Tensor) else array)
    seen = []
    original = solver_module.solve

    def recording(objective, X, y, *args, **kwargs):
        result = original(objective, X, y, *args, **kwargs)
        seen.append((type(X), type(result.params[0])))
        return result

    for module in ("linclass.estimator.cv", "linclass.app.probe"):
        monkeypatch.setattr(f"{module}.solve", recording)
    return seen


def test_cross_validation_solves_on_tensors_and_equals_the_numpy_backend(tensor_placement):
    from linclass.estimator.cv import LinearClassifierCV

    X, y = problem()
    expected = LinearClassifierCV(Cs=3, cv=3, tol=1e-9).fit(X, y)
    tensor_placement.clear()
    actual = LinearClassifierCV(Cs=3, cv=3, tol=1e-9, backend="torch").fit(X, y)
    assert len(tensor_placement) == 3 * 3 + 1  # every fold's path and the refit
    assert set(tensor_placement) == {(torch.Tensor, torch.Tensor)}
    assert actual.C_ == expected.C_ and isinstance(actual.coef_, np.ndarray)
    np.testing.assert_array_equal(actual.scores_, expected.scores_)
    for a, e in ((actual.coef_, expected.coef_), (actual.intercept_, expected.intercept_)):
        assert_close(a, e, np.float64)


def test_probe_solves_on_the_device_and_equals_the_cpu_probe(tensor_placement):
    from linclass.app.probe import probe
    from linclass.datasets import load_digits

    data = load_digits().flatten()
    train, test = (data.X_train / 16.0, data.y_train), (data.X_test / 16.0, data.y_test)
    expected = probe(train, test, Cs=[0.1, 1.0], tol=1e-9)
    tensor_placement.clear()
    actual = probe(train, test, Cs=[0.1, 1.0], tol=1e-9, device="cpu")
    assert set(tensor_placement) == {(torch.Tensor, torch.Tensor)} and len(tensor_placement) == 3
    assert actual.C == expected.C and actual.test_accuracy == expected.test_accuracy
    assert [p["accuracy"] for p in actual.validation_curve] == [p["accuracy"] for p in expected.validation_curve]
    for a, e in zip(actual.params, expected.params, strict=True):
        # both runs stop on the relative decrease (64 eps), where the last bits of the two
        # backends' sums leave the points 2e-10 of the largest weight apart
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, e, rtol=0, atol=1e-9 * np.abs(e).max())
