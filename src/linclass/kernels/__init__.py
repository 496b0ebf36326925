"""The array work of the linear model, behind one protocol: :class:`Kernels`.

A backend is one class implementing :class:`Kernels` (chunk sums of the data term, scores,
the penalty); :class:`linclass.objective.Objective` holds one. These ship here:

- :class:`NumpyKernels` — the readable reference (BLAS products and the registry's losses);
- :class:`NumbaKernels` — fused Numba kernels with the same results to float32 rounding,
  falling back to the reference for the inputs :meth:`NumbaKernels.supports` refuses;
- ``"torch"`` — :class:`linclass.kernels.torch_backend.TorchKernels`, PyTorch on CPU tensors or
  a CUDA GPU (``get_kernels("torch", device="cuda")``); torch is imported only when it is built;
- ``"dask"`` — :class:`linclass.kernels.cluster.DaskKernels`, the chunk sums of dask arrays
  computed on a ``dask.distributed`` cluster by one of the others and added in chunk order.

``KERNELS`` maps backend names to factories ``factory(**options) -> Kernels``; names are
resolved once, at the estimator or command-line boundary, by :func:`get_kernels`. Nothing here
is a process-wide switch: the environment variable ``LINCLASS_DISABLE_NUMBA`` (``1``, ``true``
or ``yes``) only changes what :func:`default_kernels` returns (Numba when installed).

    >>> import numpy as np
    >>> from linclass.losses import LOSSES
    >>> X = np.array([[1, 0], [0, 1]], dtype=np.uint8)
    >>> W, b = np.eye(2, dtype=np.float32), np.zeros(2, np.float32)
    >>> get_kernels("numpy").linear_loss(X, np.array([0, 1]), W, b, loss=LOSSES["svm"]).loss_sum
    0.0
"""

from __future__ import annotations

import os
from typing import Any

from linclass.kernels.numba_kernels import FUSED_INPUT_DTYPES, NumbaKernels, numba_available
from linclass.kernels.protocol import ChunkSums, Kernels
from linclass.kernels.reference import NumpyKernels
from linclass.kernels.threads import limit_threads, num_threads, set_num_threads
from linclass.losses import LOSSES
from linclass.registry import Registry

DISABLE_ENV = "LINCLASS_DISABLE_NUMBA"

FUSED_LOSSES = frozenset(name for name, spec in LOSSES.items() if spec.fused_code is not None)

KERNELS: Registry = Registry("backend")
KERNELS.register("numpy", NumpyKernels)
KERNELS.register("numba", NumbaKernels)


def _torch_kernels(**options: Any) -> Kernels:
    """:class:`linclass.kernels.torch_backend.TorchKernels`; torch is imported here, not before."""
    from linclass._devices import require_torch

    require_torch(f"device={options['device']!r}" if "device" in options else "backend='torch'")
    from linclass.kernels.torch_backend import TorchKernels

    return TorchKernels(**options)


KERNELS.register("torch", _torch_kernels)


def _dask_kernels(**options: Any) -> Kernels:
    """:class:`linclass.kernels.cluster.DaskKernels` (on the active ``distributed.Client`` by default)."""
    from linclass.kernels.cluster import DaskKernels

    return DaskKernels(**options)


KERNELS.register("dask", _dask_kernels)

__all__ = [
    "DISABLE_ENV",
    "FUSED_INPUT_DTYPES",
    "FUSED_LOSSES",
    "KERNELS",
    "ChunkSums",
    "Kernels",
    "NumbaKernels",
    "NumpyKernels",
    "default_kernels",
    "get_kernels",
    "limit_threads",
    "num_threads",
    "numba_available",
    "set_num_threads",
]


def default_kernels() -> Kernels:
    """:class:`NumbaKernels` when Numba is installed and ``LINCLASS_DISABLE_NUMBA`` is not set, else NumPy."""
    disabled = os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes")
    return NumbaKernels() if numba_available() and not disabled else NumpyKernels()


def get_kernels(backend: str | Kernels | None = None, **options: Any) -> Kernels:
    """The kernels for ``backend``: None is :func:`default_kernels`, a name is built by ``KERNELS``
    (with ``options``, e.g. a device), an object implementing :class:`Kernels` passes through."""
    if backend is None and not options:
        return default_kernels()
    if isinstance(backend, str) or backend is None:
        return KERNELS.resolve(backend)(**options)
    if not isinstance(backend, Kernels):
        raise TypeError(
            f"backend must be None, a name in {KERNELS.names()} or an object implementing "
            f"linclass.kernels.Kernels, got {backend!r}"
        )
    if options:
        raise ValueError(f"{sorted(options)} apply to a backend given by name; build them into {backend!r}")
    return backend
