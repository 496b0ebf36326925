"""Data at the cluster boundary: dask inputs cut into aligned row chunks, in-memory arrays sent once, clients.

dask and distributed are imported inside the functions, never by ``import linclass``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class ClusterError(ConnectionError):
    """The cluster could not finish an evaluation: the client lost its scheduler, or retries ran out."""


def is_dask_collection(value: Any) -> bool:
    """True for dask arrays, data frames and series (checked without importing dask)."""
    return type(value).__module__.split(".")[0] == "dask" and hasattr(value, "__dask_graph__")


def aligned_chunks(X: Any, y: Any | None = None) -> tuple[Any, Any | None]:
    """``X`` with all columns in one chunk and ``y`` cut into the same row chunks as ``X``.

    Data frames and series become arrays (their partition lengths are computed when unknown).
    """
    import dask.array as da

    X = _as_dask_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array (N, D), got {X.ndim}-D with shape {X.shape}")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    if y is None:
        return X, None
    y = _as_dask_array(y, "y")
    if y.shape[:1] != X.shape[:1]:
        raise ValueError(f"y has {y.shape[0]} entries but X has {X.shape[0]} rows")
    if y.chunks[0] != X.chunks[0]:
        y = y.rechunk({0: X.chunks[0]} if y.ndim == 1 else {0: X.chunks[0], 1: -1})
    elif y.ndim == 2 and len(y.chunks[1]) != 1:
        y = y.rechunk({1: -1})
    return X, da.asarray(y)


def _as_dask_array(value: Any, name: str) -> Any:
    import dask.array as da

    if isinstance(value, da.Array):
        array = value
    elif hasattr(value, "to_dask_array"):  # dask.dataframe DataFrame or Series
        array = value.to_dask_array(lengths=True)
    elif name == "y" and hasattr(value, "__len__"):  # labels in memory: cut like X's rows later
        array = da.from_array(np.asarray(value))
    else:
        raise TypeError(f"{name} must be a dask array, data frame or series, got {type(value).__name__}")
    if any(math.isnan(size) for sizes in array.chunks for size in sizes):
        array = array.compute_chunk_sizes()
    return array


def to_cluster(client: Any, X: np.ndarray, *, chunk_bytes: int = 64 * 2**20) -> Any:
    """An in-memory array sent to the workers once, as a persisted ``dask.array`` of row chunks.

    The scheduler keeps each chunk's task, so a chunk on a lost worker is rebuilt elsewhere.
    """
    import warnings

    import dask.array as da

    X = np.asarray(X)
    row_bytes = max(1, X.itemsize * int(np.prod(X.shape[1:], dtype=np.int64)))
    rows = max(1, chunk_bytes // row_bytes)
    array = da.from_array(X, chunks=(rows, *X.shape[1:]))
    with warnings.catch_warnings():
        # sending the data once is the point here
        warnings.filterwarnings("ignore", message="Sending large graph")
        return client.persist(array)


@contextmanager
def cluster_client(
    scheduler: str | None = None, n_workers: int | None = None, *, timeout: str = "10s"
) -> Iterator[Any]:
    """A ``distributed.Client`` on the scheduler at ``scheduler``, or on a new local cluster.

    Args:
        scheduler: address of a running scheduler (``tcp://host:8786``); None starts a
            ``LocalCluster`` of ``n_workers`` single-threaded worker processes.
        n_workers: workers of the local cluster (ignored with ``scheduler``).
        timeout: how long to try reaching ``scheduler``.

    The client is the default one inside the ``with`` block, and is closed (with the local
    cluster) after it.
    """
    import distributed

    if scheduler is None:
        with distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, dashboard_address=None
        ) as cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    with client:
        yield client


def labels_like(client: Any, y: np.ndarray, X: Any) -> Any:
    """Labels ``y (N,)`` in memory, on the workers in the row chunks of the dask array ``X``."""
    import warnings

    import dask.array as da

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph")
        return client.persist(da.from_array(np.asarray(y), chunks=(X.chunks[0],)))
