"""Minibatch training on a cluster: sequential passes over the data's blocks (used by ``linclass.train.fit``).

An epoch visits the row chunks ("blocks") of a dask array in a seeded random order. For each
block, the client draws a permutation of its rows and sends the weights, the optimizer state
and that permutation to the worker holding the block; the worker takes minibatch steps of
``batch_size`` rows over the block (the block's last minibatch may be smaller) and sends the
new weights and state back. So:

- it is exactly the one-machine minibatch loop over the sample order ``block order x rows in
  permuted order``, with batches cut at block boundaries — the same bits for any number of
  workers, and the same bits as running :func:`block_steps` on the blocks in memory;
- the data never leaves the workers (only ``W``, ``b``, the optimizer state and a block's
  permutation travel), and each block is read once per epoch (out of core);
- blocks run one after another: the cluster gives the data's memory and disks, not parallel
  speed (full-batch ``gd`` and ``lbfgs`` evaluate all blocks in parallel).

A checkpoint taken between blocks resumes at the next block with the same bits.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import numpy as np

from linclass.kernels.cluster_data import is_dask_collection
from linclass.optim import apply_updates
from linclass.train import interrupts


class BlockResult(NamedTuple):
    """The end of a block: the weights and optimizer state, and the block's bookkeeping."""

    params: tuple
    opt_state: Any
    steps: int
    loss_sum: float
    n_correct: int
    n_seen: int
    failure: str | None  # "loss is nan" or "the weights are not finite": the block stopped there


def block_steps(X, y, payload, spec=None) -> BlockResult:
    """Minibatch steps over one block ``X (n, D)``, ``y (n,)`` in the order ``payload.order``.

    ``payload`` is ``(objective, optimizer, params, opt_state, order, batch_size, max_steps)``;
    the objective's kernels are local ones (this runs on a worker). At most ``max_steps`` steps
    are taken (None: the whole block).
    """
    objective, optimizer, params, opt_state, order, batch_size, max_steps = payload
    X = np.require(X, requirements="AC")
    buffer = np.empty((min(batch_size, len(order)), *X.shape[1:]), dtype=X.dtype)
    steps, loss_sum, n_correct, n_seen = 0, 0.0, 0, 0
    for start in range(0, len(order), batch_size):
        if max_steps is not None and steps >= max_steps:
            break
        idx = order[start : start + batch_size]
        result = objective.batch(params, np.take(X, idx, axis=0, out=buffer[: len(idx)]), y[idx])
        if not math.isfinite(result.value):
            return BlockResult(
                params, opt_state, steps, loss_sum, n_correct, n_seen, f"loss is {result.value}"
            )
        updates, new_state = optimizer.update(result.grads, opt_state, params)
        new_params = apply_updates(params, updates)
        if not all(np.isfinite(p).all() for p in new_params):
            return BlockResult(
                params, opt_state, steps, loss_sum, n_correct, n_seen, "the weights are not finite"
            )
        params, opt_state = new_params, new_state
        steps, loss_sum = steps + 1, loss_sum + result.value
        n_correct, n_seen = n_correct + result.n_correct, n_seen + len(idx)
    return BlockResult(params, opt_state, steps, loss_sum, n_correct, n_seen, None)


def minibatch_steps(X: Any, n_samples: int, batch_size: int | None) -> int:
    """Steps in an epoch: 1 (full batch), ``ceil(N / B)``, or ``sum_k ceil(n_k / B)`` over dask blocks."""
    if batch_size is None:
        return 1
    if is_dask_collection(X):
        return sum(-(-rows // batch_size) for rows in X.chunks[0])
    return -(-n_samples // batch_size)


def run_block_epoch(loop) -> bool:
    """The current epoch's remaining blocks on the cluster; True when ``max_iter`` cut it short.

    ``loop`` is the training loop (its data, state, generator, optimizer and divergence
    messages); its objective holds :class:`linclass.kernels.cluster.DaskKernels`, which run each
    block's steps where the block lives.
    """
    cluster = loop.objective.kernels
    blocks = cluster.blocks(loop.X, loop.y)
    block_rows = loop.X.chunks[0]
    state = loop.state
    order = state.permutation if state.permutation is not None else loop.rng.permutation(len(blocks))
    local_objective = dataclasses.replace(loop.objective, kernels=cluster.local)
    for position in range(state.step, len(blocks)):
        budget = None if loop.max_iter is None else loop.max_iter - state.n_steps
        if budget is not None and budget <= 0:
            return True
        k = int(order[position])
        rows = loop.rng.permutation(block_rows[k])
        payload = (local_objective, loop.optimizer, state.params, state.opt_state, rows, loop.batch, budget)
        result: BlockResult = cluster.run_on_block(block_steps, blocks[k], payload)
        state = dataclasses.replace(
            state,
            params=result.params,
            opt_state=result.opt_state,
            step=position + 1,
            n_steps=state.n_steps + result.steps,
            n_evaluations=state.n_evaluations + result.steps,
            permutation=order,
            rng_state=loop.rng.bit_generator.state,
            epoch_loss_sum=state.epoch_loss_sum + result.loss_sum,
            epoch_batches=state.epoch_batches + result.steps,
            epoch_correct=state.epoch_correct + result.n_correct,
            epoch_seen=state.epoch_seen + result.n_seen,
            elapsed=loop.elapsed(),
        )
        loop.state = state
        if result.failure is not None:
            raise loop.diverged(state.epoch_batches + 1, result.failure, result.params)
        for _ in range(result.steps):
            loop.bar.advance()
        if position + 1 < len(blocks):  # after the last block, run_epochs checks once the epoch is recorded
            interrupts.check()
    return False
