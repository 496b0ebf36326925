"""A worker plugin for the Dask backend (imported only where distributed is, by ``DaskKernels``)."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from linclass.kernels.threads import set_num_threads


class OneThreadPerTask(WorkerPlugin):
    """Dask gives each task one core, so the fused kernels use one thread per task on every worker."""

    def setup(self, worker) -> None:
        set_num_threads(1)
