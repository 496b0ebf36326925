"""The local Dask cluster of the cluster tests, started once per session on first use.

Loaded as a plugin (``pytest_plugins = ["cluster_fixtures"]`` in each cluster test file).
"""

import pytest

# Per-worker memory limit of the test cluster: above a worker's own footprint (~240 MB with the
# Numba kernels compiled), below the out-of-core test's data.
CLUSTER_MEMORY_LIMIT = 400 * 2**20


@pytest.fixture(scope="session")
def dask_client():
    """A ``distributed.Client`` on ``LocalCluster(n_workers=2, threads_per_worker=1)``, for the whole session.

    Only the nanny's terminate threshold applies: nothing is spilled or paused, so a worker
    that held more than its share of the data would be killed and restarted, which the
    out-of-core test checks does not happen.
    """
    import dask
    from distributed import Client, LocalCluster

    memory = {"target": False, "spill": False, "pause": False, "terminate": 0.95}
    with dask.config.set({f"distributed.worker.memory.{key}": value for key, value in memory.items()}):
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit=CLUSTER_MEMORY_LIMIT,
        )
        client = Client(cluster)
    yield client
    client.close()
    cluster.close()
