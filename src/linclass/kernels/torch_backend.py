"""The PyTorch backend: the :class:`~linclass.kernels.Kernels` protocol on CPU tensors or a CUDA GPU.

:class:`TorchKernels` computes the chunk sums with :mod:`linclass.kernels.torch_kernels` on
its device. Arrays keep the kind they came as: with ``W, b`` as tensors (the weights living on
the device, updated there by the optimizer) the sums and scores are tensors on the device; with
``W, b`` as NumPy arrays (host-side optimizers such as scipy's L-BFGS and the searches, or a
fitted estimator's predictions) the weights are copied to the device for the call and the
results come back as NumPy arrays. Data given as NumPy is moved to the device by
:meth:`TorchKernels.place`, which the estimator calls once per fit.

Tests and benchmarks set ``torch.set_float32_matmul_precision("highest")``: TF32 products on
recent GPUs round float32 inputs to 10 bits of mantissa and break the 1e-5 equality with the
NumPy reference.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from linclass._devices import HostRows, host_tensor, resolve_device
from linclass.kernels import torch_kernels
from linclass.kernels.protocol import ChunkSums
from linclass.kernels.threads import map_parts, num_threads
from linclass.losses import LossSpec
from linclass.penalties import Penalty, PenaltyResult
from linclass.preprocess import Affine

# Host data larger than this share of the GPU's free memory stays on the host and is streamed.
FIT_FRACTION = 0.6


def device_room(device: torch.device) -> float:
    """Bytes of data that may move to ``device``: ``FIT_FRACTION`` of a GPU's free memory, and no
    bound on the CPU (whose data is host memory already)."""
    if device.type == "cpu":
        return math.inf
    free, _ = torch.cuda.mem_get_info(device)
    return FIT_FRACTION * free


# CPU calls run every torch operation on one thread: torch's intra-op threads wait for each
# other after every operation, and on shared cores those waits cost more than the arithmetic (a
# Fashion-MNIST epoch at batch 64 took 42 s on 2 threads and 1.2 s on one, on the shared 2-core
# machine; a full-batch pass 62 ms on 2 threads, 42 ms on one). Calls of at least this many
# multiply-adds (full batches, not minibatches) split their rows into linclass's thread count
# of parts instead, one Python thread each (torch releases the GIL inside an operation), as the
# fused kernels split theirs (:func:`linclass.kernels.threads.map_parts`); the parts' sums are
# added in part order, so results do not depend on timing. Measured under load on the shared
# machine: 30 L-BFGS iterations on Fashion-MNIST 9.2 s in 2 parts, 10.3 s in one; SGD at batch
# 1,024 (8 M multiply-adds a step) 0.58 s in 2 parts, 0.48 s in one, hence the bound.
PARALLEL_MIN_WORK = 50_000_000


def _add_sums(parts: list[tuple]) -> tuple:
    """One ``linear_sums`` result from those of consecutive row parts (added in part order)."""
    total, grads, n, correct = parts[0]
    for part_total, part_grads, part_n, part_correct in parts[1:]:
        total, n, correct = total + part_total, n + part_n, correct + part_correct
        if grads is not None:
            grads = (grads[0] + part_grads[0], grads[1] + part_grads[1])
    return total, grads, n, correct

_ACCUMULATE = {None: None, "float32": torch.float32, "float64": torch.float64}


def _sign_mix(W: torch.Tensor, l2_weight: float, l1_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``l2_weight * sum W^2 + l1_weight * sum |W|`` and its (sub)gradient, as the NumPy penalties."""
    value = l2_weight * (W * W).sum() + l1_weight * W.abs().sum()
    return value, W.sign() * l1_weight + W * (2 * l2_weight)


# The penalties of linclass.penalties on tensors, by registry name; another penalty is computed
# by its NumPy function on a host copy of W.
TORCH_PENALTIES = {
    "l2": lambda W, l1_ratio: ((W * W).sum(), W * 2),
    "l1": lambda W, l1_ratio: (W.abs().sum(), W.sign()),
    "elasticnet": lambda W, l1_ratio: _sign_mix(W, 1 - l1_ratio, l1_ratio),
}


@dataclass(frozen=True, eq=False)
class TorchKernels:
    """The :class:`linclass.kernels.Kernels` protocol in PyTorch, on one device.

    Args:
        device: a torch device or its name (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
        accumulate: ``"float64"`` to accumulate the gradient sums of float32 chunks in float64
            (full-batch passes over many chunks), or None.
        chunk_bytes: bound on one chunk's temporaries; None: 2 MB on the CPU, 256 MB on a GPU.

    Raises:
        ImportError: torch is missing; ValueError: the device is unknown or absent.
    """

    name: ClassVar[str] = "torch"
    device: Any = "cpu"
    accumulate: str | None = None
    chunk_bytes: int | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", resolve_device(self.device))
        if self.accumulate not in _ACCUMULATE:
            raise ValueError(f"accumulate={self.accumulate!r} is not supported; expected None or 'float64'")

    # -- moving arrays -------------------------------------------------------------------------

    def place(self, array: Any) -> Any:
        """``array`` as training should hold it on this backend, copied at most once.

        A tensor on the device stays as it is. Data elsewhere (NumPy, a CPU tensor) moves to the
        device when it fits in :func:`device_room`; on the CPU a NumPy array is then left as it
        is (wrapped without a copy in every call, so the optimizer keeps NumPy weights). Data that
        does not fit (rows ``(N, D)``; labels always move) stays in host memory as
        :class:`~linclass._devices.HostRows`: the weights
        and everything small live on the device, and every pass streams the rows over in chunks
        (:func:`linclass.kernels.torch_kernels.row_chunks`). A tensor on another GPU is an error.
        """
        if isinstance(array, HostRows) or (isinstance(array, torch.Tensor) and array.device.type != "cpu"):
            self._tensor(array)  # the check for a tensor on another GPU
            return array
        on_host = self.device.type == "cpu" and not isinstance(array, torch.Tensor)
        if on_host and self.fits(np.asarray(array).nbytes):
            return array
        tensor = self._tensor(array)
        if tensor.ndim == 2 and not self.fits(tensor.element_size() * tensor.numel()):
            return HostRows(tensor, self.device, self.fits)
        return tensor.to(self.device)

    def fits(self, nbytes: int) -> bool:
        """Whether ``nbytes`` of data may move to the device (see :func:`device_room`)."""
        return nbytes <= device_room(self.device)

    def _tensor(self, array: Any) -> torch.Tensor:
        """A tensor of ``array``: on the device, or a host tensor for a GPU (streamed by the kernels)."""
        if isinstance(array, HostRows):
            return array.host
        if isinstance(array, torch.Tensor):
            if array.device.type != "cpu" and array.device != self.device:
                raise ValueError(
                    f"the tensor is on device '{array.device}' but the kernels run on '{self.device}'; "
                    f"move it once (tensor.to('{self.device}')) or choose device='{array.device}'"
                )
            return array
        array = np.asarray(array)
        if array.dtype in (np.uint16, np.uint32, np.uint64):
            array = array.astype(np.int64)  # torch has no arithmetic on wide unsigned integers
        return host_tensor(array)

    @staticmethod
    def fetch(array: Any) -> np.ndarray:
        """A host NumPy array of ``array`` (a view of a CPU tensor)."""
        return torch_kernels.as_numpy(array)

    def _weights(self, W: Any, b: Any) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """``(W, b)`` as device tensors and whether they came as NumPy arrays."""
        host = not isinstance(W, torch.Tensor)
        return self._on_device(self._tensor(W)), self._on_device(self._tensor(b)), host

    def _on_device(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor if tensor.device == self.device else tensor.to(self.device)

    def _fold(self, transform: Affine | None, dtype: torch.dtype) -> torch_kernels.FoldVectors | None:
        """The transform's device tensors, made once per transform and dtype."""
        if transform is None:
            return None
        key = ("fold", id(transform), dtype)
        if key not in self._cache:
            # the transform is kept with its tensors so that its id is never reused meanwhile
            self._cache[key] = (transform, torch_kernels.fold_vectors(transform, dtype, self.device))
        return self._cache[key][1]

    def _class_weight(self, class_weight: Any, dtype: torch.dtype) -> torch.Tensor | None:
        if class_weight is None:
            return None
        if isinstance(class_weight, torch.Tensor):
            return class_weight.to(device=self.device, dtype=dtype)
        key = ("weight", id(class_weight), dtype)
        if key not in self._cache:
            weight = torch.as_tensor(np.asarray(class_weight), device=self.device).to(dtype)
            self._cache[key] = (class_weight, weight)
        return self._cache[key][1]

    def _labels(self, y: Any, loss: LossSpec, n_classes: int) -> torch.Tensor:
        """Labels on the device; class indices are checked where they are still cheap to read."""
        if loss.is_regression:
            return self._on_device(self._tensor(y))
        host = y if not isinstance(y, torch.Tensor) else y if y.device.type == "cpu" else None
        y = self._on_device(self._tensor(y))
        if y.dtype.is_floating_point or y.dtype == torch.bool:
            raise TypeError(f"y must hold integer class indices, got dtype {y.dtype}")
        if host is not None and y.numel():
            low, high = (int(v) for v in (host.min(), host.max()))  # NumPy's or a CPU tensor's
            if low < 0 or high >= n_classes:
                bad = low if low < 0 else high
                raise ValueError(f"y contains label {bad}; expected class indices 0..{n_classes - 1}")
        return y if y.dtype == torch.int64 else y.long()

    def _in_parts(self, X: torch.Tensor, W: torch.Tensor, run: Callable[[slice], Any]) -> list:
        """``[run(rows) for rows in parts]`` over consecutive row slices of ``X``: one part on a
        GPU or for small CPU work; else :func:`linclass.kernels.num_threads` parts on worker
        threads, every torch operation on one thread (see ``PARALLEL_MIN_WORK``)."""
        if self.device.type != "cpu":
            return [run(slice(None))]
        n = X.shape[0]
        parts = min(num_threads(), n) if n * X.shape[1] * W.shape[1] >= PARALLEL_MIN_WORK else 1
        previous = torch.get_num_threads()
        if previous != 1:
            torch.set_num_threads(1)
        try:
            if parts <= 1:
                return [run(slice(None))]
            bounds = [n * k // parts for k in range(parts + 1)]
            return map_parts(lambda k: run(slice(bounds[k], bounds[k + 1])), parts)
        finally:
            if previous != 1:
                torch.set_num_threads(previous)

    # -- the protocol --------------------------------------------------------------------------

    def linear_loss(
        self,
        X: Any,
        y: Any,
        W: Any,
        b: Any,
        *,
        loss: LossSpec,
        class_weight: Any = None,
        transform: Affine | None = None,
        with_grad: bool = True,
    ) -> ChunkSums:
        if loss.name not in torch_kernels.DATA_TERMS:
            raise ValueError(
                f"loss={loss.name!r} has no PyTorch kernel; the torch backend covers "
                f"{sorted(torch_kernels.DATA_TERMS)} (use backend='numpy' for this loss)"
            )
        W, b, host = self._weights(W, b)
        X = self._tensor(X)
        y = self._labels(y, loss, W.shape[1])
        options = dict(
            loss=loss.name,
            class_weight=self._class_weight(class_weight, W.dtype),
            fold=self._fold(transform, W.dtype),
            with_grad=with_grad,
            accumulate=_ACCUMULATE[self.accumulate],
            chunk_bytes=self.chunk_bytes,
        )
        total, grads, n, n_correct = _add_sums(
            self._in_parts(X, W, lambda rows: torch_kernels.linear_sums(X[rows], y[rows], W, b, **options))
        )
        if grads is not None and host:
            grads = tuple(np.ascontiguousarray(self.fetch(g)) for g in grads)
        return ChunkSums(total, grads, n, n_correct)

    def linear_scores(self, X: Any, W: Any, b: Any, *, transform: Affine | None = None) -> Any:
        W, b, host = self._weights(W, b)
        X = self._tensor(X)
        fold = self._fold(transform, W.dtype)
        chunk_bytes = self.chunk_bytes
        parts = self._in_parts(
            X, W, lambda rows: torch_kernels.linear_scores(X[rows], W, b, fold=fold, chunk_bytes=chunk_bytes)
        )
        scores = parts[0] if len(parts) == 1 else torch.cat(parts)
        return self.fetch(scores) if host else scores

    def penalty(self, penalty: Penalty, W: Any, l1_ratio: float) -> PenaltyResult:
        if not isinstance(W, torch.Tensor):
            return penalty.fn(W, l1_ratio)
        if penalty.name in TORCH_PENALTIES:
            return TORCH_PENALTIES[penalty.name](W, l1_ratio)
        value, grad = penalty.fn(self.fetch(W), l1_ratio)
        return float(value), self._tensor(np.asarray(grad)).to(W.device)
