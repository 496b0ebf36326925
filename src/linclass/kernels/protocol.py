"""The seam between the objective and the array work: the :class:`Kernels` protocol.

Every backend (the NumPy reference, the fused Numba kernels, PyTorch on CPU or CUDA, Dask on a
cluster) is one class with the methods below; :class:`linclass.objective.Objective` holds one
and calls nothing else. See ``docs/architecture.md`` for a minimal backend.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from linclass.losses import LossSpec
from linclass.penalties import Penalty, PenaltyResult
from linclass.preprocess import Affine


class ChunkSums(NamedTuple):
    """The data term's sums over a chunk of rows: what a backend returns to the objective.

    Attributes:
        loss_sum: ``sum_i w_{y_i} L_i`` over the chunk's rows (class weights applied), a Python
            float (or a scalar of the backend that ``float()`` accepts).
        grad_sums: ``(dW, db)``, the gradients of ``loss_sum`` w.r.t. ``W (D, C)`` and ``b (C,)``
            as arrays of the backend in ``W``'s dtype, or None when not asked for.
        n: the number of rows summed.
        n_correct: rows whose highest score is their label (0 for regression).
    """

    loss_sum: float
    grad_sums: tuple[Any, Any] | None
    n: int
    n_correct: int


@runtime_checkable
class Kernels(Protocol):
    """THE seam for the array work: the NumPy, Numba, PyTorch and Dask backends implement it.

    A backend computes *sums of the data term over a chunk of rows* and scores; it never divides
    by ``N`` and never adds the penalty. The caller (the objective) divides by the global number
    of rows and adds ``alpha * R(W)``:

        L(W, b)  = loss_sum / N + alpha * R(W)
        dL/dW    = dW_sum / N + alpha * dR(W),     dL/db = db_sum / N

    So a result does not depend on how rows are chunked: a cluster backend sums its chunks'
    :class:`ChunkSums` in a fixed chunk order (bit-identical for any number of workers), a GPU
    backend returns tensors on its device. ``W`` and ``b`` live where the backend keeps them
    (NumPy arrays on the host, or tensors on a device), and so do the gradients it returns; the
    optimizer runs on whatever the backend returns, so the weights never leave it.

    Shapes: ``X (N, D)`` raw inputs of any real dtype (uint8 images stay uint8; rows are
    converted to ``W``'s dtype chunk by chunk, never as a whole), ``W (D, C)``, ``b (C,)``,
    ``scores = transform(X) @ W + b`` of shape ``(N, C)``. ``transform`` is a preprocessing
    :class:`linclass.preprocess.Affine` folded into ``W, b`` (never applied to ``X``), with its
    chain rule applied to the gradients. ``loss`` is a resolved :class:`linclass.losses.LossSpec`
    (no names below the estimator): ``y`` holds class indices ``(N,)`` for classification, real
    targets of ``N * C`` values for regression; ``class_weight`` is ``(C,)`` or None.

    Optional hook, not part of the protocol (a backend without it is complete):
    ``place(array) -> array`` puts a fit's data where this backend trains on it, copied at most
    once per fit (the PyTorch backend moves host arrays to its GPU, or leaves them on the host
    to be streamed when they do not fit). The estimators look it up with
    ``getattr(kernels, "place", None)`` and call it on ``X``, ``y`` and the validation arrays
    before training; without it the arrays stay as they are, and tensors given to predict are
    brought to the host.

    Attributes:
        name: the backend's registry name (``"numpy"``, ``"numba"``, ...), for reports.
    """

    name: str

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
        """:class:`ChunkSums` of the data term over the rows of ``X`` (see the class docstring)."""
        ...

    def linear_scores(self, X: Any, W: Any, b: Any, *, transform: Affine | None = None) -> Any:
        """Scores ``transform(X) @ W + b`` of shape ``(N, C)`` in ``W``'s dtype, on the backend."""
        ...

    def penalty(self, penalty: Penalty, W: Any, l1_ratio: float) -> PenaltyResult:
        """``R(W)`` and its gradient, in ``W``'s dtype on the backend (never called for ``"none"``)."""
        ...
