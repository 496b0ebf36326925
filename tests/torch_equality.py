"""What the torch equality tests share: the device their tensors live on, the tolerances, and
moving arrays there and back.

The device is ``LINCLASS_TEST_DEVICE`` (default ``cpu``; ``python -m benchmarks.gpu`` runs the
tests with ``cuda``). float64 agrees with NumPy to 1e-10 relative, float32 to 1e-5. Import this
module after ``pytest.importorskip("torch")``.
"""

import os

import numpy as np
import torch

DEVICE = torch.device(os.environ.get("LINCLASS_TEST_DEVICE", "cpu"))
RTOL = {np.float32: 1e-5, np.float64: 1e-10}


def on_device(*arrays):
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).to(DEVICE) for a in arrays)


def host(value):
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def assert_close(actual, desired, dtype):
    """``actual`` equals ``desired`` to ``RTOL[dtype]``, relative to the larger of 1 and ``max |desired|``."""
    actual, desired = host(actual).astype(np.float64), np.asarray(desired, np.float64)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=rtol * max(1.0, float(np.abs(desired).max())))
