"""Thread control for the kernels: their own thread count, and the BLAS/OpenMP pools via threadpoolctl.

The fused kernels release the GIL, so a large call splits its rows into parts that run on
plain Python threads (:func:`map_parts`); the reference kernels use the threads of the BLAS
library NumPy links to. :func:`limit_threads` caps both for a block of code, for example to
leave cores to other work or to time a single-threaded run::

    >>> with limit_threads(1):
    ...     num_threads()
    1
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, nullcontext
from importlib.util import find_spec
from typing import TypeVar

from linclass._validation import check_int

T = TypeVar("T")


def _available_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


_settings = {"threads": _available_cpus()}
_pool: dict[str, ThreadPoolExecutor | int | None] = {"executor": None, "pid": None}


def num_threads() -> int:
    """Threads the fused kernels may use (default: the CPUs this process may run on)."""
    return _settings["threads"]


def set_num_threads(n_threads: int) -> None:
    """Let the fused kernels use ``n_threads`` threads from now on."""
    _settings["threads"] = check_int(n_threads, "n_threads")


@contextmanager
def limit_threads(n_threads: int) -> Iterator[None]:
    """Use at most ``n_threads`` threads in the fused kernels and in BLAS/OpenMP inside the block.

    threadpoolctl, when installed, limits the BLAS and OpenMP pools of every loaded library.
    """
    n_threads = check_int(n_threads, "n_threads")
    with ExitStack() as stack:
        if find_spec("threadpoolctl") is not None:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(limits=n_threads))
        previous = num_threads()
        set_num_threads(n_threads)
        stack.callback(set_num_threads, previous)
        yield


_controller: dict = {}


def one_blas_thread():
    """A context in which BLAS runs on one thread (a no-op without threadpoolctl).

    For small products beside the fused kernels — the solver's ``(D, D) @ (D, C)`` coordinate
    changes: a BLAS pool woken for each of them competes with the kernels' threads for the
    cores, which on a loaded 2-core machine made an L-BFGS iteration on Fashion-MNIST about
    twice as slow. Entering costs microseconds (one ``ThreadpoolController``, made once).
    """
    if "controller" not in _controller:
        if find_spec("threadpoolctl") is None:
            _controller["controller"] = None
        else:
            from threadpoolctl import ThreadpoolController

            _controller["controller"] = ThreadpoolController()
    controller = _controller["controller"]
    return nullcontext() if controller is None else controller.limit(limits=1, user_api="blas")


def _executor() -> ThreadPoolExecutor:
    # A pool created before os.fork() has no threads in the child: make a new one there.
    if _pool["executor"] is None or _pool["pid"] != os.getpid():
        _pool["executor"] = ThreadPoolExecutor(max_workers=max(1, _available_cpus() - 1))
        _pool["pid"] = os.getpid()
    return _pool["executor"]


def submit(function: Callable[..., T], *args) -> Future:
    """``function(*args)`` on a pool thread (the pool :func:`map_parts` uses)."""
    return _executor().submit(function, *args)


def map_parts(function: Callable[[int], T], n_parts: int) -> list[T]:
    """``[function(0), ..., function(n_parts - 1)]``, part 0 in the calling thread, the others in a pool.

    ``function`` should release the GIL (Numba ``nogil`` kernels do) for the parts to overlap.
    """
    if n_parts == 1:
        return [function(0)]
    futures = [_executor().submit(function, part) for part in range(1, n_parts)]
    first = function(0)
    return [first, *(future.result() for future in futures)]
