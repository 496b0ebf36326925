"""The Dask backend: chunk sums computed on a ``dask.distributed`` cluster, reduced in chunk order.

For a data set split into row chunks ``X_0, ..., X_{K-1}`` (a ``dask.array``), one evaluation

1. sends ``W, b`` to the workers once (``scatter(..., broadcast=True, hash=False)``: a fresh
   key each time, since re-scattering identical data under its hash can lose it);
2. runs the local kernels on every chunk where it lives, giving
   ``(loss_sum_k, dW_k, db_k, n_k, n_correct_k)`` (chunks arrive in whatever memory layout the
   transfer left them; ``np.require(X, requirements="AC")`` makes them aligned and C-contiguous,
   which the matrix products need to run at full speed);
3. adds the chunk sums on a binary tree over the chunk index —
   ``((S_0 + S_1) + (S_2 + S_3)) + ...`` — whose shape depends on ``K`` alone, never on which
   worker finished first, so the result is bit-identical for any number of workers and any
   scheduling, and differs from a one-machine sum only by the rounding of a different order.

The caller divides by the global ``n`` and adds the penalty, as for every backend. A worker
lost during an evaluation is replaced by the scheduler and the evaluation is run again
(chunk sums are pure, so nothing changes); a client that lost its scheduler raises
:class:`ClusterError`. Scores are lazy: ``linear_scores`` returns a ``dask.array``.

dask and distributed are imported when a :class:`DaskKernels` is made, never by ``import linclass``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from linclass.kernels.cluster_data import ClusterError, aligned_chunks, is_dask_collection
from linclass.kernels.protocol import ChunkSums
from linclass.losses import LossSpec
from linclass.penalties import Penalty, PenaltyResult
from linclass.preprocess import Affine, FeatureStatistics


def add_sums(left: ChunkSums, right: ChunkSums) -> ChunkSums:
    """``left + right``, field by field (new arrays; the inputs are not changed)."""
    grads = None
    if left.grad_sums is not None:
        grads = tuple(a + b for a, b in zip(left.grad_sums, right.grad_sums, strict=True))
    return ChunkSums(
        left.loss_sum + right.loss_sum, grads, left.n + right.n, left.n_correct + right.n_correct
    )


def tree_reduce(items: Sequence[Any], combine: Callable[[Any, Any], Any]) -> Any:
    """Combine ``items`` on a balanced binary tree over their index: ``((i0 + i1) + (i2 + i3)) + i4``.

    The pairing depends on ``len(items)`` only, so floating-point sums come out the same bits
    whatever order the items were computed in. ``combine`` may build a task graph instead of
    adding (``dask.delayed``), which is how the cluster uses it.

        >>> tree_reduce([1, 2, 3, 4, 5], lambda a, b: f"({a}+{b})")
        '(((1+2)+(3+4))+5)'
    """
    if not items:
        raise ValueError("tree_reduce needs at least one item")
    level = list(items)
    while len(level) > 1:
        paired = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def chunk_sums(
    X: np.ndarray,
    y: np.ndarray,
    params: tuple[np.ndarray, np.ndarray],
    local: Any,
    loss: LossSpec,
    class_weight: np.ndarray | None,
    transform: Affine | None,
    with_grad: bool,
) -> ChunkSums:
    """The sums of one chunk, computed where it lives by the ``local`` kernels."""
    X = np.require(X, requirements="AC")
    W, b = params
    return local.linear_loss(
        X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
    )


def block_scores(
    X: np.ndarray, W: np.ndarray, b: np.ndarray, local: Any, transform: Affine | None
) -> np.ndarray:
    """Scores ``(n, C)`` of one chunk."""
    return local.linear_scores(np.require(X, requirements="AC"), W, b, transform=transform)



def lazy_scores(X: Any, W: np.ndarray, b: np.ndarray, local: Any, transform: Affine | None) -> Any:
    """Scores ``(N, C)`` of the dask array ``X`` as a lazy dask array chunked like its rows."""
    X, _ = aligned_chunks(X)
    return X.map_blocks(
        block_scores, W, b, local, transform, chunks=(X.chunks[0], (W.shape[1],)), dtype=W.dtype
    )


class ChunkSpec(NamedTuple):
    """What every chunk task of one evaluation shares (sent once per evaluation, not once per chunk)."""

    local: Any
    loss: LossSpec
    class_weight: np.ndarray | None
    transform: Affine | None
    with_grad: bool


def spec_chunk_sums(X: np.ndarray, y: np.ndarray, params: tuple, spec: ChunkSpec) -> ChunkSums:
    """:func:`chunk_sums` with its settings packed in a :class:`ChunkSpec`."""
    return chunk_sums(X, y, params, spec.local, spec.loss, spec.class_weight, spec.transform, spec.with_grad)


class DaskKernels:
    """:class:`linclass.kernels.Kernels` on the workers of a ``distributed.Client``; the weights stay here.

    Args:
        client: the client to use (None: the active one, ``distributed.get_client()``).
        local: the kernels each worker runs on its chunks (None: the default kernels, fused
            Numba when installed, else the NumPy reference).
        workers: worker addresses the tasks may run on (None: any worker).
        retries: evaluations re-run after losing a worker before giving up.

    Inputs that are not dask collections (a validation set in memory, a single sample) and the
    penalty go to ``local`` here on the client. Every worker is set to run the fused kernels on
    one thread per task (Dask gives each task one core). Sums are the same bits on every worker
    of one machine type, so a homogeneous cluster gives the same bits for any worker count.
    """

    name: ClassVar[str] = "dask"

    def __init__(
        self, client: Any = None, *, local: Any = None, workers: Sequence[str] | None = None, retries: int = 3
    ) -> None:
        import distributed

        if client is None:
            try:
                client = distributed.get_client()
            except ValueError:
                raise ValueError(
                    "backend='dask' needs a distributed.Client: start one (Client(address) or "
                    "Client(LocalCluster())) or pass client=..."
                ) from None
        if not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
        if local is None:
            from linclass.kernels import default_kernels

            local = default_kernels()
        from linclass.kernels._worker_plugin import OneThreadPerTask

        client.register_plugin(OneThreadPerTask(), name="linclass-one-thread-per-task")
        self.client = client
        self.address = client.scheduler.address
        self.local = local
        self.workers = None if workers is None else list(workers)
        self.retries = int(retries)

    def __repr__(self) -> str:
        return f"DaskKernels(scheduler={self.address!r}, workers={self.workers!r})"

    def linear_loss(self, X, y, W, b, *, loss, class_weight=None, transform=None, with_grad=True):
        """Like the local ``linear_loss``; for dask ``X``, ``y`` the sums come from the cluster."""
        if not is_dask_collection(X):
            return self.local.linear_loss(
                X, y, W, b, loss=loss, class_weight=class_weight, transform=transform, with_grad=with_grad
            )
        return self.chunk_sums(X, y, (W, b), ChunkSpec(self.local, loss, class_weight, transform, with_grad))

    def linear_scores(self, X, W, b, *, transform=None):
        """Scores ``(N, C)``: a lazy ``dask.array`` chunked like ``X`` for dask input, else an ndarray."""
        if not is_dask_collection(X):
            return self.local.linear_scores(X, W, b, transform=transform)
        return lazy_scores(X, W, b, self.local, transform)

    def penalty(self, penalty: Penalty, W: np.ndarray, l1_ratio: float) -> PenaltyResult:
        """``R(W)`` and its gradient, here on the client where ``W`` lives."""
        return self.local.penalty(penalty, W, l1_ratio)

    def chunk_sums(self, X: Any, y: Any, params: tuple, spec: ChunkSpec) -> ChunkSums:
        """The data term's sums over all chunks of ``X``, ``y``, added on the chunk-index tree."""
        return self.map_reduce(spec_chunk_sums, self.blocks(X, y), add_sums, payload=params, shared=spec)

    def blocks(self, X: Any, y: Any) -> list[tuple]:
        """``[(X_k, y_k), ...]``: the row chunks of ``X`` and ``y`` as delayed objects, in order."""
        X, y = aligned_chunks(X, y)
        return list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))

    def run_on_block(self, function: Callable, block: tuple, payload: Any) -> Any:
        """``function(*block, payload, None)`` where ``block`` lives (retried like an evaluation)."""
        return self.map_reduce(function, [block], add_sums, payload=payload, broadcast=False)

    def map_reduce(
        self,
        function: Callable,
        blocks: Sequence[tuple],
        combine: Callable,
        *,
        payload: Any = None,
        shared: Any = None,
        broadcast: bool = True,
    ) -> Any:
        """``tree_reduce([function(*block, payload, shared) for block in blocks], combine)`` on the cluster.

        ``payload`` (the weights) is scattered to the workers afresh for each attempt; ``shared``
        travels in the task graph once. Losing a worker re-runs the whole evaluation, up to
        ``retries`` times.
        """
        import dask
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        for attempt in range(self.retries + 1):
            self._check_connected()
            try:
                (scattered,) = self.client.scatter(
                    [payload], broadcast=broadcast, hash=False, workers=self.workers
                )
                spec = dask.delayed(shared, traverse=False)
                parts = [dask.delayed(function, pure=True)(*block, scattered, spec) for block in blocks]
                total = tree_reduce(parts, dask.delayed(combine, pure=True))
                future = self.client.compute(total, workers=self.workers)
                return future.result()
            except (KilledWorker, FutureCancelledError, OSError) as exc:
                self._check_connected(exc)
                if attempt == self.retries:
                    raise ClusterError(
                        f"the evaluation failed {attempt + 1} times on the cluster at {self.address}: {exc}"
                    ) from exc

    def _check_connected(self, cause: BaseException | None = None) -> None:
        status = self.client.status
        if status != "running":
            raise ClusterError(
                f"the Dask client is {status!r}: it lost its connection to the scheduler at {self.address}; "
                "connect a new client and resume from the last checkpoint"
            ) from cause


def block_sum(X: np.ndarray, payload: Any, spec: Any) -> np.ndarray:
    """Column sums of one chunk in float64 ``(D,)``."""
    return np.asarray(X).sum(axis=0, dtype=np.float64)


def block_centered_squares(X: np.ndarray, mean: np.ndarray, spec: Any) -> np.ndarray:
    """``sum_i (x_i - mean)**2`` per column of one chunk, float64 ``(D,)``."""
    diff = np.asarray(X, dtype=np.float64) - mean
    return np.einsum("ij,ij->j", diff, diff)


def block_max_abs(X: np.ndarray, payload: Any, spec: Any) -> float:
    return float(np.abs(np.asarray(X)).max()) if X.size else 0.0


class ClusterStatistics(FeatureStatistics):
    """The preprocessing statistics of a dask array, computed on the cluster of ``kernels``.

    Column sums are added on the chunk-index tree like the chunk sums, so the statistics are the
    same bits for any number of workers.
    """

    def __init__(self, X: Any, kernels: DaskKernels) -> None:
        X, _ = aligned_chunks(X)
        super().__init__(X)
        self.kernels = kernels
        self.blocks = [(block,) for block in X.to_delayed().ravel()]

    def compute_moments(self) -> tuple[np.ndarray, np.ndarray]:
        n = self.X.shape[0]
        mean = self.kernels.map_reduce(block_sum, self.blocks, np.add) / n
        squares = self.kernels.map_reduce(block_centered_squares, self.blocks, np.add, payload=mean)
        return mean, np.sqrt(squares / n)

    def compute_max_abs(self) -> float:
        return self.kernels.map_reduce(block_max_abs, self.blocks, max)
