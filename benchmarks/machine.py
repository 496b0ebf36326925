"""The machine: what it is (CPU, cores, library versions) and what it can do (bandwidth, GEMM FLOP/s)."""

from __future__ import annotations

import functools
import math
import os
import platform
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

MIB = 2**20


def best_time(function, repeats: int = 5, budget: float | None = None) -> float:
    """Smallest wall time of ``function()`` over ``repeats`` calls (more while under ``budget`` seconds)."""
    times = []
    started = time.perf_counter()
    while len(times) < repeats or (budget is not None and time.perf_counter() - started < budget):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def compare_times(functions: dict, rounds: int = 2, budget: float = 0.2) -> dict[str, float]:
    """Smallest wall time of each function over ``rounds`` blocks of calls, the blocks taking turns.

    Each block calls one function repeatedly for ``budget`` seconds (at least 3 times), as a
    training loop would; taking turns block by block spreads changes in the machine's load over
    all the functions without making one function's idle threads compete with the next call.
    """
    best = {name: math.inf for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            best[name] = min(best[name], best_time(function, 3, budget))
    return best


def cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, str]:
    """CPU model, usable cores, memory, and the versions that matter for the numbers."""
    from threadpoolctl import threadpool_info

    from linclass import kernels

    blas = sorted(
        {
            f"{pool['internal_api']} {pool['version']}"
            for pool in threadpool_info()
            if pool["user_api"] == "blas"
        }
    )
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        total_kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        memory = f"{total_kib / 2**20:.1f} GiB"
    return {
        "CPU": cpu_model(),
        "cores usable": str(cores),
        "memory": memory,
        "Python": platform.python_version(),
        "numpy": np.__version__,
        "BLAS": ", ".join(blas),
        "numba": _version("numba"),
        "torch": _version("torch"),
        "scikit-learn": _version("scikit-learn"),
        "linclass backend": kernels.default_kernels().name,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def memory_bandwidth(size_mib: int = 512, repeats: int = 5) -> float:
    """Read bandwidth in bytes/s: the best of summing a ``size_mib`` array on one thread and on all cores."""
    data = np.ones(size_mib * MIB // 4, np.float32)
    single = best_time(lambda: data.sum(), repeats)
    n_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    parts = np.array_split(data, n_threads)

    def parallel_sum() -> None:
        # NumPy releases the GIL in reductions, so the parts stream from memory at once.
        threads = [threading.Thread(target=part.sum) for part in parts[1:]]
        for thread in threads:
            thread.start()
        parts[0].sum()
        for thread in threads:
            thread.join()

    parallel = best_time(parallel_sum, repeats)
    return data.nbytes / min(single, parallel)


def peak_gemm_flops(sizes: tuple[int, ...] = (2048, 4096), repeats: int = 5) -> float:
    """Best float32 matrix-product rate (FLOP/s) of NumPy's BLAS on all cores."""
    best = 0.0
    for n in sizes:
        a = np.random.default_rng(0).random((n, n), dtype=np.float32)
        seconds = best_time(lambda a=a: a @ a, repeats)
        best = max(best, 2 * n**3 / seconds)
    return best


def one_thread_rates(repeats: int = 5) -> dict[str, float]:
    """FLOP/s on one thread of NumPy's float32 GEMM (2048²) and of linclass's forward block (the
    4-row x 5-class register block of the fused kernels) on a cache-resident 16 x 784 tile with 10
    classes, measured one after the other.

    The machine limits use the GEMM rate, as a "measured peak"; on a CPU whose BLAS runs narrower
    vector code than the hardware has (OpenBLAS and MKL run AVX2 kernels on AMD's AVX-512 cores),
    linclass's own block can exceed it, and then the limit is not the hardware's.
    """
    from threadpoolctl import threadpool_limits

    from linclass.kernels.vectors import aligned_copy

    rng = np.random.default_rng(0)
    a = rng.random((2048, 2048), dtype=np.float32)
    # on 64-byte boundaries, as the kernels allocate their tiles and weights
    xs = aligned_copy(rng.random((16, 784), dtype=np.float32))
    Wt = aligned_copy(rng.random((10, 784), dtype=np.float32))
    b = np.zeros(10, np.float32)
    sT = np.zeros((10, 16), np.float32)
    reps = 4000
    forward = _forward_blocks()
    forward(xs, Wt, b, sT, 1)  # compile
    with threadpool_limits(1):
        gemm = best_time(lambda: a @ a, repeats)
    block = best_time(lambda: forward(xs, Wt, b, sT, reps), repeats)
    return {"gemm": 2 * 2048**3 / gemm, "block": reps * 2 * xs.size * Wt.shape[0] / block}


@functools.cache
def _forward_blocks():
    """``forward(xs, Wt, b, sT, reps)``: the fused kernels' forward blocks over ``xs``, ``reps`` times."""
    import numba

    from linclass.kernels.blocks import block_scores

    @numba.njit
    def forward(xs, Wt, b, sT, reps):
        for _ in range(reps):
            for k in range(0, xs.shape[0], 4):
                block_scores(xs, k, Wt, b, sT)

    return forward
