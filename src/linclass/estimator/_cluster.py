"""The estimators on a Dask cluster: which fits go there, and the data and outputs at that boundary.

A fit runs on the cluster when ``backend`` is ``"dask"`` or a :class:`DaskKernels`, or when it is
None and ``X`` is a dask collection (then on the active ``distributed.Client``). There:

- ``X`` stays where it is (a dask array, data frame or memory-mapped chunks; an in-memory array
  is sent to the workers once); its columns form one chunk;
- the labels come to the client (``N`` values, to check and encode them) and go back to the
  workers cut like ``X``'s rows;
- the preprocessing statistics are computed on the cluster;
- there is no automatic held-out split (pass ``validation_data``), so Platt scaling of the
  margin losses uses the training scores.

Predictions on dask input are lazy dask arrays, chunked like ``X``, whatever backend trained.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from linclass.calibration import platt_probabilities
from linclass.kernels import NumpyKernels
from linclass.kernels.cluster import ClusterStatistics, DaskKernels, lazy_scores
from linclass.kernels.cluster_data import aligned_chunks, is_dask_collection, labels_like, to_cluster
from linclass.losses import softmax


def cluster_kernels(backend: Any, X: Any) -> DaskKernels | None:
    """The cluster kernels of a fit with ``backend`` on ``X``, or None for a fit on this machine."""
    if isinstance(backend, DaskKernels):
        return backend
    if backend == "dask" or (backend is None and is_dask_collection(X)):
        return DaskKernels()
    return None


def training_data(X: Any, kernels: DaskKernels) -> Any:
    """``X`` as a dask array with one column chunk (an in-memory ``X`` is sent to the workers)."""
    if not is_dask_collection(X):
        return to_cluster(kernels.client, np.asarray(X))
    X, _ = aligned_chunks(X)
    return X


def check_dask_X(X: Any, name: str, n_features: int | None, estimator_name: str) -> Any:
    """Shape and dtype checks of a dask ``X`` (its values are not read: no finiteness check)."""
    X, _ = aligned_chunks(X)
    if np.dtype(X.dtype).kind not in "fiub":
        raise TypeError(f"{name} must be numeric (float, int, uint8 or bool), got dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} has shape {X.shape}; expected at least one row and one feature")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {estimator_name} is expecting {n_features} features as input."
        )
    return X


def statistics(X: Any, kernels: DaskKernels) -> ClusterStatistics:
    return ClusterStatistics(X, kernels)


def cluster_labels(y_idx: np.ndarray, X: Any, kernels: DaskKernels) -> Any:
    """The encoded labels on the workers, in ``X``'s row chunks."""
    return labels_like(kernels.client, y_idx, X)


def lazy_model_scores(X: Any, objective: Any, params: tuple) -> Any:
    """Lazy scores ``(N, C)`` of dask ``X``, one matrix product per chunk where the chunk lives.

    The NumPy kernels compute them: a prediction is one BLAS product, and a worker that has
    not trained has nothing compiled to run a fused kernel with.
    """
    W, b = params
    return lazy_scores(X, W, b, NumpyKernels(), objective.transform)


def gather(kernels: DaskKernels, lazy: Any) -> np.ndarray:
    """A lazy result computed on ``kernels``' cluster and brought to the client."""
    return kernels.client.compute(lazy).result()


def labels_of(scores: Any, classes: np.ndarray) -> Any:
    """Lazy labels of the highest-scoring class."""
    return scores.argmax(axis=1).map_blocks(partial(np.take, classes), dtype=classes.dtype)


def probabilities(scores: Any, probabilistic: bool, slope: float | None) -> Any:
    """Lazy class probabilities: softmax of the scores, or Platt scaling with ``slope``."""
    if probabilistic:
        return scores.map_blocks(_softmax64, dtype=np.float64)
    return scores.map_blocks(partial(platt_probabilities, slope=slope), dtype=np.float64)


def _softmax64(scores: np.ndarray) -> np.ndarray:
    return softmax(scores.astype(np.float64))
