"""The Dask backend's kernels: chunk sums on the cluster equal the local kernels, in any worker count."""

import sys

import cloudpickle
import dask.array as da
import numpy as np
import pytest

from linclass.kernels import ChunkSums, Kernels, default_kernels
from linclass.kernels.cluster import (
    ClusterStatistics,
    DaskKernels,
    add_sums,
    chunk_sums,
    tree_reduce,
)
from linclass.losses import LOSSES
from linclass.preprocess import feature_moments, fit_transform

# The workers cannot import this test module: send its classes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

# ragged row chunks with a one-row chunk in the middle
CHUNKS = (40, 1, 77, 13, 69)
CLASSIFICATION = ["softmax", "svm", "squared_hinge", "multi_margin", "crammer_singer"]
LOCAL = default_kernels()


def problem(n=200, n_features=7, n_classes=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features)).astype(dtype)
    y = rng.integers(0, n_classes, size=n)
    W = rng.normal(scale=0.3, size=(n_features, n_classes)).astype(dtype)
    b = rng.normal(scale=0.5, size=n_classes).astype(dtype)
    return X, y, W, b


def chunked(X, y):
    return da.from_array(X, chunks=(CHUNKS, X.shape[1])), da.from_array(y, chunks=(CHUNKS,))


def one_worker(client):
    return sorted(client.scheduler_info()["workers"])[:1]


def test_tree_reduce_pairs_by_index_whatever_the_count():
    assert tree_reduce([1], lambda a, b: f"({a}+{b})") == 1
    assert tree_reduce([1, 2, 3], lambda a, b: f"({a}+{b})") == "((1+2)+3)"
    assert tree_reduce(list("abcdef"), lambda a, b: f"({a}+{b})") == "(((a+b)+(c+d))+(e+f))"
    with pytest.raises(ValueError, match="at least one item"):
        tree_reduce([], lambda a, b: a)


def test_add_sums_adds_every_field():
    left = ChunkSums(1.5, (np.ones((2, 2)), np.ones(2)), 3, 1)
    right = ChunkSums(2.0, (np.full((2, 2), 2.0), np.zeros(2)), 4, 2)
    total = add_sums(left, right)
    assert (total.loss_sum, total.n, total.n_correct) == (3.5, 7, 3)
    np.testing.assert_array_equal(total.grad_sums[0], np.full((2, 2), 3.0))
    assert add_sums(left._replace(grad_sums=None), right._replace(grad_sums=None)).grad_sums is None


class RecordingKernels:
    """Local kernels that remember the memory layout of the chunk they were given."""

    def __init__(self):
        self.flags = None

    def linear_loss(self, X, y, W, b, **options):
        self.flags = (X.flags.aligned, X.flags.c_contiguous)
        return LOCAL.linear_loss(X, y, W, b, **options)


def test_the_dask_backend_implements_the_kernels_protocol(dask_client):
    backend = DaskKernels(dask_client)
    assert isinstance(backend, Kernels) and backend.name == "dask"
    assert backend.address == dask_client.scheduler.address


def test_a_chunk_is_made_aligned_and_c_contiguous_before_the_kernels_see_it():
    X, y, W, b = problem(n=30)
    raw = np.zeros(X.nbytes + 1, np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=np.float64, count=X.size, offset=1).reshape(X.shape)
    unaligned[...] = X
    strided = np.asfortranarray(unaligned)
    assert not unaligned.flags.aligned and not strided.flags.c_contiguous
    recorder = RecordingKernels()
    for chunk in (unaligned, strided):
        sums = chunk_sums(chunk, y, (W, b), recorder, LOSSES["softmax"], None, None, True)
        assert recorder.flags == (True, True)
        expected = LOCAL.linear_loss(X, y, W, b, loss=LOSSES["softmax"])
        assert sums.loss_sum == pytest.approx(expected.loss_sum, rel=1e-12)
        assert (sums.n, sums.n_correct) == (30, expected.n_correct)


class ContiguousOnlyKernels:
    """Local kernels that refuse a chunk that is not aligned and C-contiguous."""

    def linear_loss(self, X, y, W, b, **options):
        if not (X.flags.aligned and X.flags.c_contiguous):
            raise ValueError("chunk is not aligned and C-contiguous")
        return LOCAL.linear_loss(X, y, W, b, **options)


def test_the_workers_hand_the_kernels_aligned_c_contiguous_chunks(dask_client):
    X, y, W, b = problem()
    # made Fortran-ordered where they are computed, on the workers
    Xd = da.from_array(X, chunks=(CHUNKS, X.shape[1])).map_blocks(np.asfortranarray)
    assert not Xd.to_delayed().ravel()[0].compute().flags.c_contiguous
    sums = DaskKernels(dask_client, local=ContiguousOnlyKernels()).linear_loss(
        Xd, da.from_array(y, chunks=(CHUNKS,)), W, b, loss=LOSSES["softmax"]
    )
    expected = LOCAL.linear_loss(X, y, W, b, loss=LOSSES["softmax"])
    np.testing.assert_allclose(sums.loss_sum, expected.loss_sum, rtol=1e-12)
    assert (sums.n, sums.n_correct) == (200, expected.n_correct)


@pytest.mark.parametrize("loss", CLASSIFICATION)
@pytest.mark.parametrize("weighted", [False, True])
def test_cluster_sums_equal_the_local_kernels_with_ragged_chunks(dask_client, loss, weighted):
    X, y, W, b = problem()
    class_weight = np.array([0.5, 1.0, 2.0, 1.5]) if weighted else None
    transform = fit_transform("standardize", X)
    Xd, yd = chunked(X, y)
    spec = LOSSES[loss]
    sums = DaskKernels(dask_client).linear_loss(
        Xd, yd, W, b, loss=spec, class_weight=class_weight, transform=transform
    )
    local = LOCAL.linear_loss(X, y, W, b, loss=spec, class_weight=class_weight, transform=transform)
    assert (sums.n, sums.n_correct) == (200, local.n_correct)
    np.testing.assert_allclose(sums.loss_sum, local.loss_sum, rtol=1e-12)
    np.testing.assert_allclose(sums.grad_sums[0], local.grad_sums[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sums.grad_sums[1], local.grad_sums[1], rtol=1e-10, atol=1e-12)


def test_cluster_sums_are_the_same_bits_on_one_worker_and_on_two(dask_client):
    X, y, W, b = problem(n=2000, seed=1)
    Xd, yd = da.from_array(X, chunks=(97, 7)), da.from_array(y, chunks=(500,))
    both = DaskKernels(dask_client).linear_loss(Xd, yd, W, b, loss=LOSSES["softmax"])
    single = DaskKernels(dask_client, workers=one_worker(dask_client)).linear_loss(Xd, yd, W, b, loss=LOSSES["softmax"])
    assert both.loss_sum == single.loss_sum
    np.testing.assert_array_equal(both.grad_sums[0], single.grad_sums[0])
    np.testing.assert_array_equal(both.grad_sums[1], single.grad_sums[1])


def test_value_only_evaluation_has_no_gradients(dask_client):
    X, y, W, b = problem()
    sums = DaskKernels(dask_client).linear_loss(*chunked(X, y), W, b, loss=LOSSES["svm"], with_grad=False)
    assert sums.grad_sums is None
    assert sums.loss_sum == pytest.approx(LOCAL.linear_loss(X, y, W, b, loss=LOSSES["svm"]).loss_sum, rel=1e-12)


def test_scores_are_a_lazy_dask_array_chunked_like_x(dask_client):
    X, y, W, b = problem(dtype=np.float32)
    transform = fit_transform("center-scale", X)
    Xd, _ = chunked(X, y)
    scores = DaskKernels(dask_client).linear_scores(Xd, W, b, transform=transform)
    assert isinstance(scores, da.Array) and scores.dtype == np.float32
    assert scores.chunks == (CHUNKS, (4,))
    np.testing.assert_allclose(scores.compute(), LOCAL.linear_scores(X, W, b, transform=transform), rtol=1e-5)


def test_arrays_in_memory_stay_on_the_client(dask_client):
    X, y, W, b = problem()
    sums = DaskKernels(dask_client).linear_loss(X, y, W, b, loss=LOSSES["softmax"])
    assert sums.loss_sum == LOCAL.linear_loss(X, y, W, b, loss=LOSSES["softmax"]).loss_sum


def test_column_chunks_are_joined_and_labels_follow_the_row_chunks(dask_client):
    X, y, W, b = problem()
    Xd = da.from_array(X, chunks=(50, 3))
    yd = da.from_array(y, chunks=(120,))
    sums = DaskKernels(dask_client).linear_loss(Xd, yd, W, b, loss=LOSSES["softmax"])
    np.testing.assert_allclose(sums.loss_sum, LOCAL.linear_loss(X, y, W, b, loss=LOSSES["softmax"]).loss_sum, rtol=1e-12)


def test_statistics_on_the_cluster_equal_the_local_ones(dask_client):
    X, y, W, b = problem(n=300)
    X[:, 2] *= 40
    stats = ClusterStatistics(da.from_array(X, chunks=(CHUNKS + (100,), 7)), DaskKernels(dask_client))
    mean, std = stats.moments()
    local_mean, local_std = feature_moments(X)
    np.testing.assert_allclose(mean, local_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(std, local_std, rtol=1e-12)
    assert stats.value_range() == float(np.abs(X).max())
    for name in ("standardize", "center-scale", "scale", "center", "none"):
        cluster, local = fit_transform(name, stats), fit_transform(name, X)
        np.testing.assert_allclose(cluster.shift, local.shift, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(cluster.scale, local.scale, rtol=1e-12)
