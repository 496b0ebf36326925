"""The estimators on the torch backend: same models as the NumPy backend, tensor inputs, NumPy outputs,
device-free model files, and clear errors for a missing device."""

import numpy as np
import pytest

import linclass
from linclass import LinearClassifier, LinearRegressor
from problems import clustered_images

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.usefixtures("exact_matmul")

from linclass.kernels.torch_backend import TorchKernels  # noqa: E402


@pytest.fixture(scope="module")
def images():
    X, y = clustered_images(400, 30, noise=40.0)
    return X, np.array(["cat", "car", "frog", "ship"])[y]


SETTINGS = dict(epochs=4, dtype="float64", random_state=0)


@pytest.mark.parametrize(
    "options",
    [
        dict(loss="softmax"),
        dict(loss="svm", class_weight="balanced"),
        dict(loss="crammer_singer", penalty="l1", optimizer="adam", learning_rate=0.01),
        dict(loss="squared_hinge", optimizer="lbfgs", penalty="l2"),
        dict(loss="softmax", early_stopping=True, n_iter_no_change=2, preprocess="center-scale"),
    ],
    ids=lambda options: "-".join(str(value) for value in options.values()),
)
def test_a_torch_fit_equals_the_numpy_fit(images, options):
    X, y = images
    expected = LinearClassifier(backend="numpy", **SETTINGS, **options).fit(X, y)
    actual = LinearClassifier(backend="torch", **SETTINGS, **options).fit(X, y)
    assert isinstance(actual.objective_.kernels, TorchKernels)
    assert type(actual.coef_) is np.ndarray and type(actual.intercept_) is np.ndarray
    np.testing.assert_allclose(actual.coef_, expected.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(actual.intercept_, expected.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(actual.predict(X), expected.predict(X))
    np.testing.assert_allclose(actual.predict_proba(X), expected.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(actual.history_["loss"], expected.history_["loss"], rtol=1e-10)


def test_tensors_in_numpy_out_and_the_device_follows_the_data(images):
    X, y = images
    y_idx = np.searchsorted(np.unique(y), y)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y_idx)
    clf = LinearClassifier(**SETTINGS).fit(X_t, y_t)  # no backend, no device: the tensor's (CPU)
    assert isinstance(clf.objective_.kernels, TorchKernels) and clf.objective_.kernels.device.type == "cpu"
    on_arrays = LinearClassifier(backend="torch", **SETTINGS).fit(X, y_idx)
    np.testing.assert_allclose(clf.coef_, on_arrays.coef_, rtol=1e-10, atol=1e-12)
    assert type(clf.predict(X_t)) is np.ndarray
    np.testing.assert_array_equal(clf.predict(X_t), clf.predict(X))
    np.testing.assert_allclose(clf.decision_function(X_t), clf.decision_function(X), rtol=1e-12)
    assert clf.score(X_t, y_t) == clf.score(X, y_idx) > 0.8
    assert all(type(p) is np.ndarray for p in clf.params_)


def test_numpy_data_is_placed_once_per_fit_not_per_step(images, monkeypatch):
    X, y = images
    placed = []
    original = TorchKernels.place
    monkeypatch.setattr(TorchKernels, "place", lambda self, array: placed.append(array.shape) or original(self, array))
    LinearClassifier(backend="torch", loss="svm", epochs=5, batch_size=16, random_state=0).fit(X, y)
    assert placed == [(400, 30), (400,), (40, 30), (40,)]  # X, y (training rows indexed), the Platt split


def test_a_model_trained_with_torch_predicts_identically_with_the_cpu_backends(images, tmp_path):
    X, y = images
    clf = LinearClassifier(backend="torch", loss="svm", **SETTINGS).fit(torch.from_numpy(X), y)
    clf.save(tmp_path / "model.npz")
    loaded = linclass.load(tmp_path / "model.npz")
    assert loaded.device is None and loaded.backend is None
    assert not isinstance(loaded.objective_.kernels, TorchKernels)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict(torch.from_numpy(X)), clf.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-12)


def test_partial_fit_and_the_regressor_run_on_torch(images):
    X, y = images
    classes = np.unique(y)
    expected, actual = LinearClassifier(backend="numpy", **SETTINGS), LinearClassifier(backend="torch", **SETTINGS)
    for start in range(0, 400, 100):
        expected.partial_fit(X[start : start + 100], y[start : start + 100], classes=classes)
        actual.partial_fit(torch.from_numpy(X[start : start + 100]), y[start : start + 100], classes=classes)
    np.testing.assert_allclose(actual.coef_, expected.coef_, rtol=1e-10, atol=1e-12)
    targets = X[:, :2].astype(np.float64) @ np.array([[0.5, -1.0], [2.0, 0.1]])
    fitted = [LinearRegressor(backend=name, **SETTINGS).fit(X, targets) for name in ("numpy", "torch")]
    np.testing.assert_allclose(fitted[1].coef_, fitted[0].coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fitted[1].predict(torch.from_numpy(X)), fitted[0].predict(X), rtol=1e-10)


def test_tensor_input_gets_the_array_checks(images):
    X, y = images
    bad = torch.from_numpy(X).double()
    bad[3, 4] = float("nan")
    with pytest.raises(ValueError, match=r"^Input X contains NaN\.$"):
        LinearClassifier().fit(bad, y)
    with pytest.raises(ValueError, match=r"^Expected 2D array, got 1D array instead: X has shape \(400,\)"):
        LinearClassifier().fit(torch.from_numpy(X[:, 0]), y)
    clf = LinearClassifier(backend="torch", epochs=1).fit(X, y)
    with pytest.raises(ValueError, match=r"^X has 29 features, but LinearClassifier is expecting 30 features"):
        clf.predict(torch.from_numpy(X[:, 1:]))


def test_a_missing_or_unknown_device_is_a_clear_error(images):
    X, y = images
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"^device='cuda' needs a CUDA GPU, but none is available \(PyTorch "
                           r".*torch\.cuda\.is_available\(\) is False\); use device='cpu'$"):
            LinearClassifier(device="cuda").fit(X, y)
    with pytest.raises(ValueError, match=r"^device='tpu' is not a torch device; expected 'cpu', 'cuda' or 'cuda:N'$"):
        LinearClassifier(device="tpu").fit(X, y)
    with pytest.raises(ValueError, match=r"^device='cpu' runs the PyTorch backend, but backend='numba'; "):
        LinearClassifier(device="cpu", backend="numba").fit(X, y)
    with pytest.raises(TypeError, match=r"^device must be None or a torch device \('cpu', 'cuda', 'cuda:1'\), got 3$"):
        LinearClassifier(device=3).fit(X, y)


def test_float64_accumulation_is_chosen_by_passing_the_kernels_as_the_backend(images):
    from linclass.kernels import get_kernels

    X, y = images
    kernels = get_kernels("torch", device="cpu", accumulate="float64")
    settings = dict(optimizer="lbfgs", max_iter=25, dtype="float32", random_state=0)
    accumulated = LinearClassifier(backend=kernels, **settings).fit(X, y)
    assert accumulated.objective_.kernels is kernels and accumulated.coef_.dtype == np.float32
    reference = LinearClassifier(backend="numpy", **settings).fit(X, y)
    np.testing.assert_allclose(accumulated.coef_, reference.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(accumulated.predict(X), reference.predict(X))
