"""The linear-model kernels in PyTorch: the same sums as the NumPy reference, on CPU tensors or a GPU.

For raw inputs ``X (N, D)`` (a tensor on the device, any real dtype: uint8 stays uint8),
``W (D, C)``, ``b (C,)`` of the compute dtype on the same device::

    scores   = X @ W + b                        (n, C) per chunk of rows, converted per chunk
    L_i, G_i = loss(scores_i, y_i)              per-sample loss and dscores, class weight applied
    sums     = (sum_i L_i, (X.T @ G, sum_i G_i), n, #{argmax scores_i = y_i})

The losses are written out with their analytic gradients (no autograd graph), each the
formula of the matching function in :mod:`linclass.losses`; at a kink (a margin exactly 0) the
subgradient is 0, as there. A preprocessing :class:`~linclass.preprocess.Affine` is folded into
``W, b`` and its chain rule applied to the gradient sums, never applied to ``X``.

Non-finite scores are not checked here (that would wait for the device on every chunk); they
make the loss sum NaN or infinite, which the training loop's divergence guard reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
import torch

from linclass.preprocess import Affine

# Bytes of converted rows and score-sized temporaries held at once. On a GPU: large enough
# that every matrix product keeps the device busy, small enough that a full-batch pass over
# ImageNet-sized features (1.3M x 1,024 x 1,000) never builds an (N, C) array. On the CPU:
# a chunk that stays in cache while it is converted, multiplied and multiplied back.
CHUNK_BYTES = 256 * 2**20
CPU_CHUNK_BYTES = 2 * 2**20

DataTerm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]


def _softmax(scores, y, weight, dim=1):
    """Cross-entropy ``L_i = w_{y_i} (logsumexp(s_i) - s_{i, y_i})``; ``G_i = w_{y_i} (p_i - e_{y_i})``.

    The classes run along ``dim`` of ``scores``: 1 for rows ``(n, C)``, 0 for class-major
    ``(C, n)``; ``dscores`` has the layout of ``scores``. With few classes the class-major
    layout lets the CPU kernels vectorize the reductions over the rows: ``log_softmax`` of
    1,270 x 10 scores takes about 6 µs class-major against 130 µs row-major on one core.
    """
    labels = y.unsqueeze(dim)
    log_probs = torch.log_softmax(scores, dim=dim)
    losses = -log_probs.gather(dim, labels).squeeze(dim)
    dscores = log_probs.exp_()
    dscores.scatter_add_(dim, labels, torch.full_like(labels, -1.0, dtype=scores.dtype))
    if weight is not None:
        target_weight = weight[y]
        losses *= target_weight
        dscores *= target_weight.unsqueeze(dim)
    return losses, dscores


def _hinge(power: int, normalize: bool) -> DataTerm:
    """Weston-Watkins hinge ``L_i = w_{y_i} sum_{j != y_i} max(0, s_j - s_{y_i} + 1)^power``.

    ``normalize`` divides each sample by ``C`` (PyTorch's ``MultiMarginLoss``).
    """

    def term(scores, y, weight):
        labels = y[:, None]
        margins = scores - scores.gather(1, labels)
        margins += 1
        margins.scatter_(1, labels, 0.0)
        margins.clamp_(min=0)
        if power == 1:
            losses = margins.sum(dim=1)
            dscores = (margins > 0).to(scores.dtype)
        else:
            losses = (margins * margins).sum(dim=1)
            dscores = margins.mul_(2)
        dscores.scatter_(1, labels, -dscores.sum(dim=1, keepdim=True))
        scale = None if weight is None else weight[y]
        if normalize:
            scale = 1.0 / scores.shape[1] if scale is None else scale / scores.shape[1]
        if scale is not None:
            losses *= scale
            dscores *= scale if isinstance(scale, float) else scale[:, None]
        return losses, dscores

    return term


def _crammer_singer(scores, y, weight):
    """``L_i = w_{y_i} max(0, 1 + max_{j != y_i} s_j - s_{y_i})``; gradient +-w at the runner-up and y.

    The runner-up is the first highest wrong class on ties, as in the reference.
    """
    labels = y[:, None]
    wrong = scores.scatter(1, labels, float("-inf"))
    runner_up = wrong.argmax(dim=1, keepdim=True)
    losses = (wrong.gather(1, runner_up) - scores.gather(1, labels)).squeeze(1)
    losses += 1
    losses.clamp_(min=0)
    violated = (losses > 0).to(scores.dtype)
    if weight is not None:
        target_weight = weight[y]
        losses *= target_weight
        violated *= target_weight
    dscores = torch.zeros_like(scores)
    dscores.scatter_(1, runner_up, violated[:, None])
    dscores.scatter_add_(1, labels, -violated[:, None])
    return losses, dscores


def _ovr_squared_hinge(scores, y, weight):
    """``L_i = w_{y_i} sum_c max(0, 1 - t_ic s_ic)^2`` (``t = +1`` at ``y_i``, else -1).

    ``G_ic = -2 w_{y_i} t_ic max(0, 1 - t_ic s_ic)``.
    """
    labels = y[:, None]
    signs = torch.full_like(scores, -1.0).scatter_(1, labels, 1.0)
    gaps = (1 - signs * scores).clamp_(min=0)
    losses = (gaps * gaps).sum(dim=1)
    dscores = gaps.mul_(signs).mul_(-2)
    if weight is not None:
        target_weight = weight[y]
        losses *= target_weight
        dscores *= target_weight[:, None]
    return losses, dscores


def _squared_error(pred, target, weight):
    """``L_i = sum_k (pred_ik - y_ik)^2``, ``G_i = 2 (pred_i - y_i)``."""
    residual = pred - target.reshape(pred.shape).to(pred.dtype)
    return (residual * residual).sum(dim=1), residual.mul_(2)


DATA_TERMS: dict[str, DataTerm] = {
    "softmax": _softmax,
    "svm": _hinge(1, normalize=False),
    "squared_hinge": _hinge(2, normalize=False),
    "multi_margin": _hinge(1, normalize=True),
    "crammer_singer": _crammer_singer,
    "ovr_squared_hinge": _ovr_squared_hinge,
    "squared_error": _squared_error,
}


def chunk_rows(n_features: int, n_classes: int, itemsize: int, chunk_bytes: int) -> int:
    """Rows per chunk so that a converted chunk and its scores and dscores stay within ``chunk_bytes``."""
    return max(1, chunk_bytes // max(1, (n_features + 2 * n_classes) * itemsize))


def default_chunk_bytes(device: torch.device) -> int:
    """Chunk size for ``device``: CPU chunks stay in cache, GPU chunks keep the device busy."""
    return CPU_CHUNK_BYTES if device.type == "cpu" else CHUNK_BYTES


class FoldVectors(NamedTuple):
    """A preprocessing ``x' = (x - shift) * scale`` as tensors ``(D,)`` of the compute dtype and device."""

    scale: torch.Tensor
    shift_scaled: torch.Tensor
    shift: torch.Tensor
    scale_column: torch.Tensor  # scale as (D, 1), to multiply W's rows


def fold_vectors(transform: Affine | None, dtype: torch.dtype, device: torch.device) -> FoldVectors | None:
    """The tensors of ``transform`` (None for None), rounded as :meth:`Affine.fold` rounds them."""
    if transform is None:
        return None
    scale, shift_scaled, shift = (
        torch.as_tensor(vector, device=device).to(dtype)
        for vector in (transform.scale, transform.shift * transform.scale, transform.shift)
    )
    return FoldVectors(scale, shift_scaled, shift, scale[:, None].contiguous())


def fold_weights(
    fold: FoldVectors | None, W: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw-input weights ``(scale * W, b - (shift * scale) @ W)`` (:meth:`Affine.fold`)."""
    if fold is None:
        return W, b
    return W * fold.scale_column, torch.addmv(b, W.T, fold.shift_scaled, alpha=-1)


# Below this many classes the scores are computed as (W.T @ chunk.T).T (see chunk_scores).
TRANSPOSED_BELOW_CLASSES = 32


def chunk_scores(chunk: torch.Tensor, W_raw: torch.Tensor, b_raw: torch.Tensor) -> torch.Tensor:
    """``chunk @ W_raw + b_raw`` ``(n, C)``; for few classes computed as ``(W_raw.T @ chunk.T).T``.

    With 10 classes that orientation runs 2-3x faster in the CPU BLAS than ``chunk @ W_raw``
    (64-1,150 rows x 784 features); with 100 or 1,000 it is no faster. The row-major copy at the
    end costs less than the losses' reductions over the rows of a transposed view.
    """
    if W_raw.shape[1] >= TRANSPOSED_BELOW_CLASSES:
        return torch.addmm(b_raw, chunk, W_raw)
    return class_major_scores(chunk, W_raw, b_raw).T.contiguous()


def class_major_scores(chunk: torch.Tensor, W_raw: torch.Tensor, b_raw: torch.Tensor) -> torch.Tensor:
    """``(W_raw.T @ chunk.T + b_raw)`` ``(C, n)``: the scores transposed, in their own memory."""
    return torch.addmm(b_raw[:, None], W_raw.T, chunk.T)


def fold_grad(
    fold: FoldVectors | None, dW_raw_t: torch.Tensor, db: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dW (D, C), db)`` from the raw-weight gradient ``dW_raw_t (C, D)``: ``scale * (dW_raw - shift db)``.

    The chain rule of :meth:`linclass.preprocess.Affine.fold_grad`; ``dW`` is returned as the
    transposed view of a ``(C, D)`` tensor, the layout the backward product gives.
    """
    if fold is not None:
        dW_raw_t = torch.addr(dW_raw_t, db, fold.shift, alpha=-1)
        dW_raw_t *= fold.scale
    return dW_raw_t.T, db


# The pinned buffers of the last streamed shape, and the copy event of each buffer's last use:
# pinned allocations cost milliseconds, so every pass of a fit reuses them.
_STAGING: dict[tuple, tuple[list[torch.Tensor], list]] = {}


def _staging(shape: tuple, dtype: torch.dtype) -> tuple[list[torch.Tensor], list]:
    """Two pinned host buffers of ``shape`` and the events of their last copies (None: unused)."""
    key = (shape, dtype)
    if key not in _STAGING:
        _STAGING.clear()  # one pair at a time
        _STAGING[key] = ([torch.empty(shape, dtype=dtype, pin_memory=True) for _ in range(2)], [None, None])
    return _STAGING[key]


def row_chunks(X: torch.Tensor, rows: int, device: torch.device) -> Iterator[tuple[int, torch.Tensor]]:
    """``(start, X[start:start + rows] on device)`` for every chunk (one empty chunk for an empty X).

    A host ``X`` and a GPU ``device``: data that does not fit on the device. Each chunk is
    copied into one of two pinned staging buffers (kept for the next pass) and sent on a side
    stream, so chunk ``k + 1`` travels while the device computes on chunk ``k``; a buffer is
    refilled only after its previous copy, of this pass or an earlier one, has finished.
    """
    starts = range(0, max(X.shape[0], 1), rows)
    if X.device == device or device.type == "cpu":
        yield from ((0, X),) if len(starts) == 1 else ((start, X[start : start + rows]) for start in starts)
        return
    copy_stream, compute_stream = torch.cuda.Stream(device), torch.cuda.current_stream(device)
    staging, sent = _staging((min(rows, X.shape[0]), *X.shape[1:]), X.dtype)

    def send(k: int) -> tuple[torch.Tensor, torch.cuda.Event]:
        part = X[starts[k] : starts[k] + rows]
        buffer = staging[k % 2][: part.shape[0]]
        if sent[k % 2] is not None:
            sent[k % 2].synchronize()  # the last copy out of this buffer has finished
        buffer.copy_(part)
        with torch.cuda.stream(copy_stream):
            on_device = buffer.to(device, non_blocking=True)
            sent[k % 2] = done = torch.cuda.Event()
            done.record(copy_stream)
        return on_device, done

    upcoming = send(0)
    for k, start in enumerate(starts):
        chunk, arrived = upcoming
        compute_stream.wait_event(arrived)
        chunk.record_stream(compute_stream)  # allocated on the copy stream, used on the compute one
        if k + 1 < len(starts):
            upcoming = send(k + 1)
        yield start, chunk


def linear_sums(
    X: torch.Tensor,
    y: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    *,
    loss: str,
    class_weight: torch.Tensor | None = None,
    fold: FoldVectors | None = None,
    with_grad: bool = True,
    accumulate: torch.dtype | None = None,
    chunk_bytes: int | None = None,
) -> tuple[float, tuple[torch.Tensor, torch.Tensor] | None, int, int]:
    """Chunk sums of the data term: ``(loss_sum, (dW_sum, db_sum) or None, n, n_correct)``.

    Args:
        X: raw inputs ``(n, D)`` on ``W``'s device, or in host memory for a GPU ``W`` (streamed,
            see :func:`row_chunks`); converted to ``W.dtype`` one chunk at a time.
        y: class indices ``(n,)`` (int64) or real targets ``(n,)``/``(n, C)`` for ``"squared_error"``.
        W, b: ``(D, C)`` and ``(C,)`` of the compute dtype.
        loss: a key of :data:`DATA_TERMS`.
        class_weight: per-class weights ``(C,)`` of ``W``'s dtype and device, or None.
        fold: the preprocessing folded into ``W, b`` (:func:`fold_vectors`), or None.
        with_grad: compute the gradient sums.
        accumulate: dtype the gradient sums accumulate in across chunks (e.g. ``torch.float64``
            for float32 compute); None: the compute dtype. The loss sum always accumulates in
            float64. The sums are returned in the compute dtype.
        chunk_bytes: bound on the temporaries of one chunk (see :func:`chunk_rows`); None:
            :func:`default_chunk_bytes`.

    Returns:
        the loss sum (a Python float), the gradient sums w.r.t. ``W, b`` (or None), the number
        of rows, and the rows whose highest score is their label (0 for regression). One
        device synchronization per call, to read the two numbers.
    """
    term = DATA_TERMS[loss]
    regression = loss == "squared_error"
    # softmax with few classes runs class-major (see _softmax); the same sums
    by_class = loss == "softmax" and W.shape[1] < TRANSPOSED_BELOW_CLASSES
    W_raw, b_raw = fold_weights(fold, W, b)
    n = X.shape[0]
    acc = W.dtype if accumulate is None else accumulate
    chunk_bytes = default_chunk_bytes(W.device) if chunk_bytes is None else chunk_bytes
    rows = chunk_rows(X.shape[1], W.shape[1], W.element_size(), chunk_bytes)
    loss_sum = n_correct = dW_t = db = None
    for start, chunk in row_chunks(X, rows, W.device):
        chunk = chunk if chunk.dtype == W.dtype else chunk.to(W.dtype)
        y_chunk = y if chunk.shape[0] == n else y[start : start + rows]
        if by_class:  # scores and dscores (C, n)
            scores = class_major_scores(chunk, W_raw, b_raw)
            losses, dscores_t = _softmax(scores, y_chunk, class_weight, dim=0)
            predicted = scores.max(dim=0).indices  # the first highest, as argmax; 10x faster along dim 0
        else:
            scores = chunk_scores(chunk, W_raw, b_raw)
            losses, dscores = term(scores, y_chunk, class_weight)
            predicted, dscores_t = None if regression else scores.argmax(dim=1), dscores.T
        chunk_loss = losses.sum(dtype=torch.float64)
        # counted in float64, exact to 2**53 rows, so that one stack reads both numbers
        chunk_correct = None if regression else (predicted == y_chunk).sum(dtype=torch.float64)
        grad_W_t = dscores_t @ chunk if with_grad else None
        if grad_W_t is not None and acc != W.dtype:
            grad_W_t = grad_W_t.to(acc)
        grad_b = dscores_t.sum(dim=1, dtype=acc) if with_grad else None
        if loss_sum is None:
            loss_sum, n_correct, dW_t, db = chunk_loss, chunk_correct, grad_W_t, grad_b
            continue
        loss_sum += chunk_loss
        if chunk_correct is not None:
            n_correct += chunk_correct
        if with_grad:
            dW_t += grad_W_t
            db += grad_b
    if n_correct is None:
        total, correct = loss_sum.item(), 0
    else:
        total, correct = torch.stack([loss_sum, n_correct]).tolist()
    if not with_grad:
        return total, None, n, int(correct)
    if acc != W.dtype:
        dW_t, db = dW_t.to(W.dtype), db.to(W.dtype)
    return total, fold_grad(fold, dW_t, db), n, int(correct)


def linear_scores(
    X: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    *,
    fold: FoldVectors | None = None,
    chunk_bytes: int | None = None,
) -> torch.Tensor:
    """Scores ``transform(X) @ W + b`` ``(N, C)`` in ``W``'s dtype and on its device, by chunks of rows."""
    W_raw, b_raw = fold_weights(fold, W, b)
    chunk_bytes = default_chunk_bytes(W.device) if chunk_bytes is None else chunk_bytes
    rows = chunk_rows(X.shape[1], W.shape[1], W.element_size(), chunk_bytes)
    out = torch.empty((X.shape[0], W.shape[1]), dtype=W.dtype, device=W.device)
    for start, chunk in row_chunks(X, rows, W.device):
        out[start : start + rows] = chunk_scores(chunk.to(W.dtype), W_raw, b_raw)
    return out


def as_numpy(value: torch.Tensor | np.ndarray) -> np.ndarray:
    """A host NumPy array of a tensor (a view for CPU tensors) or the array itself."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
