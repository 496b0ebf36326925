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


def torch_available() -> bool:
    """True when PyTorch can be imported."""
    if "torch" in sys.modules:
        return sys.modules["torch"] is not None
    return find_spec("torch") is not None


def is_tensor(value: Any) -> bool:
    """True for a ``torch.Tensor``; never imports torch (no tensor exists before torch is imported)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


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
    elif resolved.type != "cpu":
        raise ValueError(f"device={device!r} is not supported; expected 'cpu', 'cuda' or 'cuda:N'")
    return resolved
