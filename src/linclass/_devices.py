"""Where the array work runs: torch devices named by string, checked without importing torch early.

``import linclass`` never imports PyTorch. These helpers import it only when a device is
asked for, and turn what is missing (torch itself, CUDA, a GPU index) into one clear error::

    >>> is_tensor([1.0, 2.0])
    False
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import Any

import numpy as np


def torch_available() -> bool:
    """True when PyTorch can be imported."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return find_spec("torch") is not None


def is_tensor(value: Any) -> bool:
    """True for a ``torch.Tensor`` or :class:`HostRows`; never imports torch (no tensor exists
    before torch is imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, (torch.Tensor, HostRows))


class HostRows:
    """Rows of training data left in host memory for a device that cannot hold them all.

    Everything else of the fit (weights, optimizer state, labels, samples of rows) lives on
    ``device``: this object reports ``device`` as its own, so code that places arrays "where the
    data is" puts them there. The torch kernels read ``host`` in chunks, sending each chunk over
    while the device computes on the previous one
    (:func:`linclass.kernels.torch_kernels.row_chunks`). Indexing selects rows on the host and
    returns them on ``device`` when ``fits(nbytes)`` says they fit (a minibatch, a moment sample),
    else as a new :class:`HostRows` (a training split of rows that do not fit either).

    Args:
        host: a CPU tensor ``(N, D)``.
        device: the ``torch.device`` the kernels compute on.
        fits: ``fits(nbytes)`` → whether that many bytes of rows may move to ``device``.
    """

    __slots__ = ("host", "device", "fits")

    def __init__(self, host: Any, device: Any, fits: Any) -> None:
        self.host, self.device, self.fits = host, device, fits

    @property
    def shape(self) -> tuple:
        return tuple(self.host.shape)

    @property
    def dtype(self) -> Any:
        return self.host.dtype

    @property
    def ndim(self) -> int:
        return self.host.ndim

    def __len__(self) -> int:
        return self.host.shape[0]

    def __repr__(self) -> str:
        return f"HostRows(shape={self.shape}, dtype={self.dtype}, device={self.device})"

    def __getitem__(self, index: Any) -> Any:
        if is_tensor(index):
            index = index.cpu()  # an index made on the device (one small copy)
        rows = self.host[index]
        if self.fits(rows.element_size() * rows.numel()):
            return rows.to(self.device)
        return HostRows(rows, self.device, self.fits)

    def to(self, dtype: Any) -> HostRows:
        """The rows in ``dtype``, still in host memory (a new host copy unless already so)."""
        return HostRows(self.host.to(dtype), self.device, self.fits)

    def new_zeros(self, shape: tuple, dtype: Any = None) -> Any:
        return self.host.new_zeros(shape, dtype=dtype, device=self.device)

    def new_full(self, shape: tuple, value: float, dtype: Any = None) -> Any:
        return self.host.new_full(shape, value, dtype=dtype, device=self.device)


def require_torch(what: str) -> Any:
    """The ``torch`` module, or ImportError naming ``what`` needed it and how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"{what} needs PyTorch, which is not installed; install it (pip install torch) "
            "or train on the CPU without it (device=None)"
        ) from exc
    return torch


def resolve_device(device: Any, what: str | None = None) -> Any:
    """``torch.device`` for a device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``) or a ``torch.device``.

    Raises:
        ImportError: torch is not installed.
        ValueError: the string names no device, or names a CUDA device this machine lacks.
    """
    what = what or f"device={device!r}"
    torch = require_torch(what)
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu', 'cuda' or 'cuda:1', got {device!r}")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a torch device; expected 'cpu', 'cuda' or 'cuda:N'"
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            build = "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}"
            raise ValueError(
                f"{what} needs a CUDA GPU, but none is available (PyTorch {torch.__version__} built {build}, "
                "torch.cuda.is_available() is False); use device='cpu'"
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"{what} names GPU {resolved.index}, but this machine has {count} (0..{count - 1})"
            )
        if resolved.index is None:  # tensors always carry an index: compare like with like
            resolved = torch.device("cuda", torch.cuda.current_device())
    elif resolved.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; expected 'cpu', 'cuda' or 'cuda:N'")
    return resolved


def to_host(value: Any) -> Any:
    """A NumPy array of a tensor (a view of a CPU tensor or of :class:`HostRows`); anything else as it is."""
    if isinstance(value, HostRows):
        return value.host.numpy()
    return value.detach().cpu().numpy() if is_tensor(value) else value


def host_tensor(array: np.ndarray) -> Any:
    """A CPU tensor sharing the memory of ``array`` (C-contiguous; copied only when it is not).

    A read-only array — a memory-mapped file — is shared too: linclass never writes into its
    inputs, so PyTorch's warning that writing through such a tensor is undefined does not apply
    and is not passed on to the user.
    """
    import warnings

    import torch

    array = np.ascontiguousarray(array)
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "The given NumPy array is not writable", UserWarning)
        return torch.from_numpy(array)


def on_device_of(like: Any, value: Any) -> Any:
    """``value`` (an array or a tensor, dtype kept) on ``like``'s device when ``like`` is a tensor;
    ``value`` itself otherwise. A NumPy array on the CPU becomes a tensor sharing its memory."""
    if not is_tensor(like):
        return value
    if not is_tensor(value):
        value = host_tensor(value)
    return value.to(like.device)


def all_finite(arrays: Any) -> bool:
    """True when every entry of every array or tensor in ``arrays`` is finite (one read per device)."""
    tensors = [a for a in arrays if is_tensor(a)]
    host = all(bool(np.isfinite(a).all()) for a in arrays if not is_tensor(a))
    if not tensors or not host:
        return host
    import torch

    return bool(torch.stack([t.isfinite().all() for t in tensors]).all())
