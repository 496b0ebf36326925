"""On a CUDA GPU: data stays on the device, streamed data gives the same sums, and a GPU-trained model
predicts the same on the CPU. Every test here needs a GPU and is skipped without one (CI has none;
``python -m benchmarks.gpu`` runs them on a GPU machine)."""

import numpy as np
import pytest

from problems import clustered_images

torch = pytest.importorskip("torch")

from linclass._devices import HostRows  # noqa: E402
from linclass.kernels import torch_backend  # noqa: E402
from linclass.kernels.torch_backend import TorchKernels  # noqa: E402

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.usefixtures("exact_matmul"),
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]



def data():
    return clustered_images(3000, 64, n_classes=5)


def test_streamed_host_data_gives_the_sums_of_data_on_the_device(monkeypatch):
    from linclass.losses import LOSSES
    from linclass.preprocess import fit_transform

    X, y = data()
    transform = fit_transform("standardize", X)
    W = torch.randn(64, 5, device="cuda", dtype=torch.float64) * 1e-2
    b = torch.zeros(5, device="cuda", dtype=torch.float64)
    small_chunks = TorchKernels("cuda", chunk_bytes=200 * (64 + 10) * 8)
    on_device = small_chunks.linear_loss(small_chunks.place(X), y, W, b, loss=LOSSES["softmax"], transform=transform)
    monkeypatch.setattr(torch_backend, "FIT_FRACTION", 0.0)
    host = small_chunks.place(X)
    assert type(host) is HostRows and host.host.device.type == "cpu" and host.device == small_chunks.device
    streamed = small_chunks.linear_loss(host, y, W, b, loss=LOSSES["softmax"], transform=transform)
    assert streamed.n == on_device.n and streamed.n_correct == on_device.n_correct
    assert streamed.loss_sum == pytest.approx(on_device.loss_sum, rel=1e-12)
    for a, e in zip(streamed.grad_sums, on_device.grad_sums, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-12, atol=1e-12)


def test_a_model_trained_on_the_gpu_keeps_the_data_there_and_predicts_the_same_on_the_cpu(tmp_path):
    import linclass

    X, y = data()
    X_cuda, y_cuda = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
    before = torch.cuda.memory_allocated()
    gpu = linclass.LinearClassifier(device="cuda", dtype="float64", epochs=3, random_state=0).fit(X_cuda, y_cuda)
    assert torch.cuda.memory_allocated() - before < X.nbytes  # no second copy of X stays behind
    assert isinstance(gpu.coef_, np.ndarray) and isinstance(gpu.intercept_, np.ndarray)
    cpu = linclass.LinearClassifier(backend="torch", dtype="float64", epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(gpu.coef_, cpu.coef_, rtol=1e-10, atol=1e-12)
    gpu.save(tmp_path / "model.npz")
    loaded = linclass.load(tmp_path / "model.npz")
    np.testing.assert_array_equal(loaded.predict(X), gpu.predict(X_cuda))
    np.testing.assert_allclose(loaded.predict_proba(X), gpu.predict_proba(X_cuda), rtol=1e-5, atol=1e-6)
