"""The ``--scheduler`` / ``--workers`` options of the commands that can run on a Dask cluster."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager


def add_cluster_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """Add the mutually exclusive ``--scheduler ADDRESS`` and ``--workers N`` to ``parser``.

    ``verb`` starts each help line: "train" gives "train on the Dask cluster of ...".
    """
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"{verb} on the Dask cluster of this scheduler, tcp://host:8786 (default: none, one machine)",
    )
    cluster.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"{verb} on a local Dask cluster of N single-threaded workers (default: none, one machine)",
    )


def on_cluster(args: argparse.Namespace) -> bool:
    """Whether ``--scheduler`` or ``--workers`` was given."""
    return args.scheduler is not None or args.workers is not None


@contextmanager
def cluster_backend(args: argparse.Namespace, workers: int | None = None) -> Iterator[str | None]:
    """``"dask"`` inside a client on ``--scheduler`` or a local cluster; else None.

    The local cluster has ``--workers`` workers, or ``workers`` when the option was not given
    (None: no cluster unless an option asks for one).
    """
    n_workers = args.workers if args.workers is not None else workers
    if args.scheduler is None and n_workers is None:
        yield None
        return
    from linclass.kernels.cluster_data import cluster_client

    with cluster_client(args.scheduler, n_workers):
        yield "dask"
