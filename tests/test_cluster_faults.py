"""The Dask backend under faults: a worker killed mid-fit changes no bit; a lost client is named."""

import os
import sys

import cloudpickle
import dask.array as da
import numpy as np
import pytest
from distributed import Client

from linclass import LinearClassifier
from linclass.kernels import default_kernels
from linclass.kernels.cluster import ClusterError, DaskKernels
from linclass.losses import LOSSES

# The workers cannot import this test module: send its classes by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


class KillingKernels:
    """Local kernels that kill the worker process running them, once (a marker file remembers)."""

    name = "killing"

    def __init__(self, marker):
        self.marker = str(marker)

    def penalty(self, penalty, W, l1_ratio):
        return default_kernels().penalty(penalty, W, l1_ratio)

    def linear_scores(self, X, W, b, **options):
        return default_kernels().linear_scores(X, W, b, **options)

    def linear_loss(self, X, y, W, b, **options):
        if X.shape[0] == 1 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return default_kernels().linear_loss(X, y, W, b, **options)


def problem():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 6))
    y = rng.integers(0, 3, size=300)
    W, b = rng.normal(size=(6, 3)), rng.normal(size=3)
    chunks = (100, 1, 99, 100)
    return da.from_array(X, chunks=(chunks, 6)), da.from_array(y, chunks=(chunks,)), W, b


def test_a_worker_killed_during_a_fit_is_replaced_and_the_weights_keep_every_bit(own_dask_client, tmp_path):
    client = own_dask_client
    X, y, _, _ = problem()
    options = dict(optimizer="gd", learning_rate=0.1, epochs=3)
    expected = LinearClassifier(**options, backend=DaskKernels(client)).fit(X, y)
    workers_before = set(client.scheduler_info()["workers"])
    killing = DaskKernels(client, local=KillingKernels(tmp_path / "killed"))
    survived = LinearClassifier(**options, backend=killing).fit(X, y)
    assert (tmp_path / "killed").exists()  # the first evaluation lost its one-row chunk's worker
    client.wait_for_workers(2, timeout=60)
    assert set(client.scheduler_info()["workers"]) != workers_before  # the nanny started a new one
    np.testing.assert_array_equal(survived.coef_, expected.coef_)
    np.testing.assert_array_equal(survived.intercept_, expected.intercept_)
    assert survived.history_["loss"] == expected.history_["loss"]


def test_a_closed_client_gives_a_clear_error(dask_client):
    X, y, W, b = problem()
    address = dask_client.scheduler.address
    client = Client(address, set_as_default=False)
    backend = DaskKernels(client)
    client.close()
    with pytest.raises(ClusterError) as caught:
        backend.linear_loss(X, y, W, b, loss=LOSSES["softmax"])
    assert str(caught.value) == (
        f"the Dask client is 'closed': it lost its connection to the scheduler at {address}; "
        "connect a new client and resume from the last checkpoint"
    )


def test_without_a_client_the_backend_says_how_to_get_one(monkeypatch):
    import distributed

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(ValueError, match=r"^backend='dask' needs a distributed.Client: start one"):
        DaskKernels()
    with pytest.raises(TypeError, match="^client must be a distributed.Client, got str$"):
        DaskKernels("tcp://127.0.0.1:1")


def test_an_unreachable_scheduler_is_named():
    from linclass.kernels.cluster_data import cluster_client

    with pytest.raises(ClusterError, match=r"^cannot reach the Dask scheduler at tcp://127.0.0.1:9: "):
        with cluster_client("tcp://127.0.0.1:9", timeout="1s"):
            pass
