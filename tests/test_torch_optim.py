"""The gradient transformations update torch tensors exactly as they update NumPy arrays."""

import numpy as np
import pytest

from linclass.optim import adam, apply_updates, sgd
from linclass.optim.schedules import SCHEDULES

torch = pytest.importorskip("torch")

OPTIMIZERS = {
    "sgd": lambda: sgd(0.1),
    "momentum": lambda: sgd(0.1, momentum=0.9),
    "nesterov": lambda: sgd(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: adam(0.01),
    "cosine": lambda: sgd(lambda count: SCHEDULES["cosine"](0.1, decay_steps=30)(count), momentum=0.5),
}


def run(tx, params, gradients):
    state = tx.init(params)
    for grads in gradients:
        updates, state = tx.update(grads, state, params)
        params = apply_updates(params, updates)
    return params, state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_tensor_updates_equal_array_updates(name, dtype):
    rng = np.random.default_rng(0)
    params = (rng.normal(size=(6, 3)).astype(dtype), rng.normal(size=3).astype(dtype))
    gradients = [tuple(rng.normal(size=p.shape).astype(dtype) for p in params) for _ in range(25)]
    expected, _ = run(OPTIMIZERS[name](), params, gradients)
    tensor_gradients = [tuple(torch.from_numpy(g) for g in grads) for grads in gradients]
    actual, state = run(OPTIMIZERS[name](), tuple(torch.from_numpy(p) for p in params), tensor_gradients)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    for a, e in zip(actual, expected, strict=True):
        assert isinstance(a, torch.Tensor) and a.dtype == torch.from_numpy(e).dtype
        np.testing.assert_allclose(a.numpy(), e, rtol=rtol, atol=rtol)
    leaves = [leaf for part in state for leaf in part for leaf in (leaf if isinstance(leaf, tuple) else ())]
    assert all(isinstance(leaf, torch.Tensor) for leaf in leaves)


def test_updates_of_another_dtype_are_cast_to_the_parameter_dtype():
    params = (torch.zeros(2, dtype=torch.float32),)
    new = apply_updates(params, (torch.tensor([0.5, 1.0], dtype=torch.float64),))
    assert new[0].dtype == torch.float32 and new[0].tolist() == [0.5, 1.0]
