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

from collections.abc import Callable

import numpy as np
import torch

from linclass.preprocess import Affine

# Bytes of converted rows and score-sized temporaries held at once: large enough that every
# matrix product keeps a GPU busy, small enough that a full-batch pass over ImageNet-sized
# features (1.3M x 1,024 x 1,000) never builds an (N, C) array.
CHUNK_BYTES = 256 * 2**20

DataTerm = Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], tuple[torch.Tensor, torch.Tensor]]


def _softmax(scores, y, weight):
    """Cross-entropy ``L_i = w_{y_i} (logsumexp(s_i) - s_{i, y_i})``; ``G_i = w_{y_i} (p_i - e_{y_i})``."""
    labels = y[:, None]
    log_probs = torch.log_softmax(scores, dim=1)
    losses = -log_probs.gather(1, labels).squeeze(1)
    dscores = log_probs.exp_()
    dscores.scatter_add_(1, labels, torch.full_like(losses[:, None], -1.0))
    if weight is not None:
        target_weight = weight[y]
        losses *= target_weight
        dscores *= target_weight[:, None]
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
    "squared_error": _squared_error,
}


def chunk_rows(n_features: int, n_classes: int, itemsize: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Rows per chunk so that a converted chunk and its scores and dscores stay within ``chunk_bytes``."""
    return max(1, chunk_bytes // max(1, (n_features + 2 * n_classes) * itemsize))


def fold(transform: Affine | None, W: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw-input weights ``(scale * W, b - (shift * scale) @ W)``, rounded as :meth:`Affine.fold` rounds."""
    if transform is None:
        return W, b
    scale = torch.as_tensor(transform.scale, device=W.device).to(W.dtype)
    shift_scaled = torch.as_tensor(transform.shift * transform.scale, device=W.device).to(W.dtype)
    return scale[:, None] * W, b - shift_scaled @ W


def fold_grad(
    transform: Affine | None, dW: torch.Tensor, db: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chain rule through :func:`fold`: ``(scale * (dW_raw - shift db_raw), db_raw)``."""
    if transform is None:
        return dW, db
    scale = torch.as_tensor(transform.scale, device=dW.device).to(dW.dtype)
    shift = torch.as_tensor(transform.shift, device=dW.device).to(dW.dtype)
    return scale[:, None] * (dW - shift[:, None] * db[None, :]), db


def linear_sums(
    X: torch.Tensor,
    y: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    *,
    loss: str,
    class_weight: torch.Tensor | None = None,
    transform: Affine | None = None,
    with_grad: bool = True,
    accumulate: torch.dtype | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[float, tuple[torch.Tensor, torch.Tensor] | None, int, int]:
    """Chunk sums of the data term: ``(loss_sum, (dW_sum, db_sum) or None, n, n_correct)``.

    Args:
        X: raw inputs ``(n, D)`` on ``W``'s device; converted to ``W.dtype`` one chunk at a time.
        y: class indices ``(n,)`` (int64) or real targets ``(n,)``/``(n, C)`` for ``"squared_error"``.
        W, b: ``(D, C)`` and ``(C,)`` of the compute dtype.
        loss: a key of :data:`DATA_TERMS`.
        class_weight: per-class weights ``(C,)`` of ``W``'s dtype and device, or None.
        transform: preprocessing folded into ``W, b``, or None.
        with_grad: compute the gradient sums.
        accumulate: dtype the gradient sums accumulate in across chunks (e.g. ``torch.float64``
            for float32 compute); None: the compute dtype. The loss sum always accumulates in
            float64. The sums are returned in the compute dtype.
        chunk_bytes: bound on the temporaries of one chunk (see :func:`chunk_rows`).

    Returns:
        the loss sum (a Python float), the gradient sums w.r.t. ``W, b`` (or None), the number
        of rows, and the rows whose highest score is their label (0 for regression). One
        device synchronization per call, to read the two numbers.
    """
    term = DATA_TERMS[loss]
    regression = loss == "squared_error"
    W_raw, b_raw = fold(transform, W, b)
    n = X.shape[0]
    acc = W.dtype if accumulate is None else accumulate
    loss_sum = torch.zeros((), dtype=torch.float64, device=W.device)
    n_correct = torch.zeros((), dtype=torch.int64, device=W.device)
    dW = torch.zeros(W.shape, dtype=acc, device=W.device) if with_grad else None
    db = torch.zeros(b.shape, dtype=acc, device=W.device) if with_grad else None
    rows = chunk_rows(X.shape[1], W.shape[1], W.element_size(), chunk_bytes)
    for start in range(0, n, rows):
        chunk = X[start : start + rows].to(W.dtype)
        y_chunk = y[start : start + rows]
        scores = torch.addmm(b_raw, chunk, W_raw)
        if not regression:
            n_correct += (scores.argmax(dim=1) == y_chunk).sum()
        losses, dscores = term(scores, y_chunk, class_weight)
        loss_sum += losses.sum(dtype=torch.float64)
        if with_grad:
            grad_W = chunk.T @ dscores
            grad_b = dscores.sum(dim=0)
            dW += grad_W if acc == W.dtype else grad_W.to(acc)
            db += grad_b if acc == W.dtype else grad_b.to(acc)
    total, correct = torch.stack([loss_sum, n_correct.to(torch.float64)]).tolist()
    if not with_grad:
        return total, None, n, int(correct)
    grads = fold_grad(transform, dW.to(W.dtype), db.to(W.dtype))
    return total, grads, n, int(correct)


def linear_scores(
    X: torch.Tensor,
    W: torch.Tensor,
    b: torch.Tensor,
    *,
    transform: Affine | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> torch.Tensor:
    """Scores ``transform(X) @ W + b`` ``(N, C)`` in ``W``'s dtype and on its device, by chunks of rows."""
    W_raw, b_raw = fold(transform, W, b)
    out = torch.empty((X.shape[0], W.shape[1]), dtype=W.dtype, device=W.device)
    rows = chunk_rows(X.shape[1], W.shape[1], W.element_size(), chunk_bytes)
    for start in range(0, X.shape[0], rows):
        torch.addmm(b_raw, X[start : start + rows].to(W.dtype), W_raw, out=out[start : start + rows])
    return out


def as_numpy(value: torch.Tensor | np.ndarray) -> np.ndarray:
    """A host NumPy array of a tensor (a view for CPU tensors) or the array itself."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
