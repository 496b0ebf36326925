"""Data too large for the device stays in host memory (``HostRows``) and is streamed to the kernels,
while the weights and optimizer state live on the device. The device's room is shrunk so that
the training rows do not fit; the fits must equal those of rows held on the device. The device
is ``LINCLASS_TEST_DEVICE`` (default ``cpu``, where the rows come over from host memory to the
CPU device; ``python -m benchmarks.gpu`` runs this file on a GPU, where they travel through
pinned buffers)."""

import numpy as np
import pytest

from problems import clustered_images

torch = pytest.importorskip("torch")

from linclass import LinearClassifier, LinearClassifierCV  # noqa: E402
from linclass._devices import HostRows, is_tensor, on_device_of, to_host  # noqa: E402
from linclass.kernels import torch_backend  # noqa: E402
from linclass.kernels.torch_backend import TorchKernels  # noqa: E402
from torch_equality import DEVICE  # noqa: E402

pytestmark = pytest.mark.usefixtures("exact_matmul")

# bytes: the solver's 10,000-row sample of 30 uint8 features fits, the 12,000-row training set (or
# its 90 % training split) does not
ROOM = 300_000


@pytest.fixture(scope="module")
def images():
    return clustered_images(12_000, 30, seed=3, noise=40.0)


@pytest.fixture
def small_device(monkeypatch):
    monkeypatch.setattr(torch_backend, "device_room", lambda device: ROOM)


def rows(n=10, d=3):
    return torch.arange(n * d, dtype=torch.float64).reshape(n, d)


def test_host_rows_index_on_the_host_and_return_what_fits_on_the_device():
    fits = lambda nbytes: nbytes <= 5 * 3 * 8  # noqa: E731  (five float64 rows of three)
    data = HostRows(rows(), torch.device("cpu"), fits)
    assert (data.shape, data.ndim, data.dtype, len(data)) == ((10, 3), 2, torch.float64, 10)
    assert is_tensor(data) and repr(data) == "HostRows(shape=(10, 3), dtype=torch.float64, device=cpu)"
    few = data[torch.tensor([7, 1])]
    assert type(few) is torch.Tensor
    torch.testing.assert_close(few, rows()[[7, 1]])
    many = data[np.arange(8)]
    assert type(many) is HostRows and many.shape == (8, 3)
    torch.testing.assert_close(many.host, rows()[:8])
    assert data.to(torch.float32).host.dtype == torch.float32 and data.host.dtype == torch.float64
    assert data.new_zeros((2,), dtype=torch.float32).device == data.device
    assert on_device_of(data, np.zeros(2)).device == data.device
    np.testing.assert_array_equal(to_host(data), rows().numpy())


def test_only_data_rows_that_do_not_fit_stay_on_the_host(images, small_device):
    X, y = images
    kernels = TorchKernels(DEVICE)
    placed = kernels.place(X)
    assert type(placed) is HostRows and placed.device == kernels.device
    np.testing.assert_array_equal(placed.host.numpy(), X)
    assert kernels.place(placed) is placed
    labels = kernels.place(np.repeat(y, 4))  # 384 kB of labels, larger than the room: labels always move
    assert type(labels) is torch.Tensor
    small = kernels.place(X[:10])
    assert type(small) is (np.ndarray if DEVICE.type == "cpu" else torch.Tensor)


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="sgd", batch_size=256, epochs=2),
        dict(optimizer="adam", batch_size=256, epochs=2, learning_rate=0.01, loss="svm", class_weight="balanced"),
        dict(optimizer="lbfgs", max_iter=15, preprocess="standardize"),
        dict(optimizer="gd", epochs=5, loss="crammer_singer", penalty="l1"),
        dict(optimizer="sgd", batch_size=256, epochs=6, early_stopping=True, n_iter_no_change=2),
        dict(optimizer="random_local_search", epochs=4, learning_rate=0.1),
        dict(optimizer="genetic", epochs=3, learning_rate=0.1),
    ],
    ids=lambda options: "-".join(str(value) for value in options.values()),
)
def test_a_fit_on_streamed_rows_equals_the_fit_on_rows_held_on_the_device(images, options, monkeypatch):
    X, y = images
    settings = dict(device=str(DEVICE), dtype="float64", random_state=0, **options)
    held = LinearClassifier(**settings).fit(X, y)
    seen, placed = [], []
    linear_loss, place = TorchKernels.linear_loss, TorchKernels.place

    def spy(self, X_arg, y_arg, W, b, **kw):
        seen.append((type(X_arg), type(W), W.device.type))
        return linear_loss(self, X_arg, y_arg, W, b, **kw)

    monkeypatch.setattr(torch_backend, "device_room", lambda device: ROOM)
    monkeypatch.setattr(TorchKernels, "linear_loss", spy)
    monkeypatch.setattr(TorchKernels, "place", lambda self, a: placed.append(place(self, a)) or placed[-1])
    streamed = LinearClassifier(**settings).fit(X, y)
    assert type(placed[0]) is HostRows
    full_batch = options["optimizer"] != "sgd" and options["optimizer"] != "adam"
    # full passes read the host rows, minibatches come over as tensors (validation rows that fit
    # stay NumPy on the CPU); the weights are tensors
    inputs = {x for x, _, _ in seen}
    assert (HostRows in inputs, torch.Tensor in inputs) == (full_batch, not full_batch)
    assert {(w, where) for _, w, where in seen} == {(torch.Tensor, DEVICE.type)}
    np.testing.assert_allclose(streamed.coef_, held.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.intercept_, held.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.history_["loss"], held.history_["loss"], rtol=1e-10)
    np.testing.assert_array_equal(streamed.predict(X), held.predict(X))


def test_the_cv_path_on_streamed_rows_chooses_and_fits_as_on_the_device(images, monkeypatch):
    X, y = images
    settings = dict(Cs=[0.01, 1.0], cv=2, device=str(DEVICE), dtype="float64", max_iter=30)
    held = LinearClassifierCV(**settings).fit(X, y)
    monkeypatch.setattr(torch_backend, "device_room", lambda device: ROOM)
    streamed = LinearClassifierCV(**settings).fit(X, y)
    assert streamed.C_ == held.C_
    np.testing.assert_allclose(streamed.scores_, held.scores_, rtol=0, atol=0)
    np.testing.assert_allclose(streamed.coef_, held.coef_, rtol=1e-10, atol=1e-12)
