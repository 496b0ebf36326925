"""``python -m benchmarks.gpu [--device cuda] [--small] [--skip-tests] [--output FILE]``: the GPU check.

On a machine with a CUDA GPU this runs, in under 5 minutes:

1. the torch equality tests (``tests/test_torch_*.py``) on the device;
2. a CIFAR-10-sized problem (50,000 x 3,072 uint8, C = 10): one SGD epoch (batch 256, momentum
   0.9, L2) and one full-batch value-and-gradient, for linclass's torch backend, for
   ``torch.nn.Linear`` + ``torch.optim.SGD`` doing the same work on the same device, and for
   linclass's Numba backend on the host;
3. an ImageNet-sized embedding probe (1,281,167 x 1,024 float32, C = 1,000, synthetic data):
   one full-batch value-and-gradient against ``nn.Linear`` + ``cross_entropy`` + ``backward``,
   and 10 L-BFGS iterations of linclass's own solver on the device (:func:`linclass.optim.solve`,
   the probe's solver: plain, and in whitened coordinates; memory 10) against
   ``torch.optim.LBFGS`` (strong Wolfe, history 10), each with its evaluations and final objective;
4. on the CPU, ``LinearClassifier`` fits on Fashion-MNIST with the torch backend against the
   Numba one (:mod:`benchmarks.torch_cpu`, SGD at batch 64 and 256), alternating in one process;

with the peak device memory of each, and writes a markdown table (``--output``). ``--small``
shrinks every size (for CI's smoke test with ``--device cpu``). Times are the best of a few
repeats after a warm-up; float32 products run at ``"highest"`` precision (no TF32) unless a
row says otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# OpenMP threads that spin while they wait make every multi-threaded torch CPU operation crawl
# on a machine whose cores are shared (seen: 40x slower on the project's 2 loaded cores); let
# them sleep instead. Set before torch is imported; a value given by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FULL = {"cifar": (50_000, 3_072, 10), "probe": (1_281_167, 1_024, 1_000), "repeats": 3, "lbfgs_iter": 10,
        "fashion_rows": None, "fashion_epochs": 3}
SMALL = {"cifar": (2_000, 3_072, 10), "probe": (4_000, 256, 100), "repeats": 2, "lbfgs_iter": 3,
         "fashion_rows": 3_000, "fashion_epochs": 1}
ALPHA = 1e-4
BATCH = 256


def best_time(function: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    """Best wall time of ``repeats`` calls in seconds, after one warm-up call."""
    function()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


class Bench:
    """One device's measurements: rows of (problem, contender, what, milliseconds, peak MiB)."""

    def __init__(self, device: str, sizes: dict) -> None:
        import torch

        from linclass.kernels.torch_backend import TorchKernels

        self.torch = torch
        self.device = torch.device(device)
        self.kernels = TorchKernels(self.device)
        self.sizes = sizes
        self.rows: list[tuple[str, str, str, float, float | None]] = []

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def measure(
        self,
        problem: str,
        contender: str,
        what: str,
        function: Callable[[], object],
        note: Callable[[], str] | None = None,
    ) -> None:
        """Time ``function``; ``note()`` (read after the last call) is added to ``what``."""
        cuda = self.device.type == "cuda"
        if cuda:
            self.torch.cuda.reset_peak_memory_stats(self.device)
        seconds = best_time(function, self.sizes["repeats"], self.sync)
        if note is not None:
            what = f"{what} ({note()})"
        peak = self.torch.cuda.max_memory_allocated(self.device) / 2**20 if cuda else None
        self.rows.append((problem, contender, what, seconds * 1e3, peak))
        print(f"{problem:9s} {contender:34s} {what:28s} {seconds * 1e3:10.2f} ms", flush=True)

    def objective(self, X, kernels):
        from linclass.objective import Objective
        from linclass.preprocess import fit_transform

        return Objective("softmax", "l2", ALPHA, transform=fit_transform("center-scale", X), kernels=kernels)


def cifar(bench: Bench) -> None:
    """SGD epoch and full-batch value-and-gradient on CIFAR-10-sized uint8 data."""
    torch, device = bench.torch, bench.device
    n, d, c = bench.sizes["cifar"]
    rng = np.random.default_rng(0)
    X_host = rng.integers(0, 256, size=(n, d), dtype=np.uint8)
    y_host = rng.integers(0, c, size=n)
    X, y = torch.from_numpy(X_host).to(device), torch.from_numpy(y_host).to(device)
    objective = bench.objective(X, bench.kernels)
    from linclass.optim import sgd
    from linclass.train import fit

    def linclass_epoch(objective, X, y, params):
        fit(objective, params, X, y, optimizer=sgd(0.1, momentum=0.9), batch_size=BATCH, epochs=1,
            random_state=0)

    zeros = (torch.zeros(d, c, device=device), torch.zeros(c, device=device))
    bench.measure("CIFAR-10", "linclass torch", f"SGD epoch (batch {BATCH})",
                  lambda: linclass_epoch(objective, X, y, zeros))
    bench.measure("CIFAR-10", "linclass torch", "full-batch value+grad",
                  lambda: objective.value_and_grad(zeros, X, y))

    shift = torch.as_tensor(objective.transform.shift, device=device, dtype=torch.float32)
    scale = torch.as_tensor(objective.transform.scale, device=device, dtype=torch.float32)
    linear = torch.nn.Linear(d, c, device=device)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1, momentum=0.9)

    def torch_step(rows):
        logits = linear((X[rows].float() - shift) * scale)
        loss = torch.nn.functional.cross_entropy(logits, y[rows]) + ALPHA * (linear.weight**2).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        return loss

    def torch_epoch():
        order = torch.from_numpy(np.random.default_rng(0).permutation(n)).to(device)
        for start in range(0, n, BATCH):
            torch_step(order[start : start + BATCH])
            optimizer.step()

    bench.measure("CIFAR-10", "nn.Linear + torch.optim.SGD", f"SGD epoch (batch {BATCH})", torch_epoch)
    bench.measure("CIFAR-10", "nn.Linear + torch.optim.SGD", "full-batch value+grad",
                  lambda: torch_step(slice(None)))

    from linclass.kernels import default_kernels

    host = default_kernels()
    host_objective = bench.objective(X_host, host)
    host_zeros = (np.zeros((d, c), np.float32), np.zeros(c, np.float32))
    label = f"linclass {host.name} (CPU)"
    bench.measure("CIFAR-10", label, f"SGD epoch (batch {BATCH})",
                  lambda: linclass_epoch(host_objective, X_host, y_host, host_zeros))
    bench.measure("CIFAR-10", label, "full-batch value+grad",
                  lambda: host_objective.value_and_grad(host_zeros, X_host, y_host))


def probe(bench: Bench) -> None:
    """Full-batch value-and-gradient and L-BFGS on ImageNet-sized float32 embeddings."""
    torch, device = bench.torch, bench.device
    n, d, c = bench.sizes["probe"]
    generator = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(n, d, device=device, generator=generator)
    y = torch.randint(0, c, (n,), device=device, generator=generator)
    from linclass.objective import Objective

    objective = Objective("softmax", "l2", ALPHA, kernels=bench.kernels)
    params = (torch.zeros(d, c, device=device), torch.zeros(c, device=device))
    linear = torch.nn.Linear(d, c, device=device)

    def torch_value_and_grad():
        linear.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(linear(X), y) + ALPHA * (linear.weight**2).sum()
        loss.backward()
        return loss

    for precision in ("highest", "high"):
        torch.set_float32_matmul_precision(precision)
        what = "full-batch value+grad" + ("" if precision == "highest" else " (TF32)")
        bench.measure("probe", "linclass torch", what, lambda: objective.value_and_grad(params, X, y))
        bench.measure("probe", "nn.Linear + cross_entropy", what, torch_value_and_grad)
    torch.set_float32_matmul_precision("highest")

    iterations = bench.sizes["lbfgs_iter"]
    from linclass.optim import solve

    for precondition, name in (("none", "plain"), ("whiten", "whitened")):
        runs = []

        def linclass_lbfgs(precondition=precondition, runs=runs):
            runs.append(solve(objective, X, y, params, tol=0.0, max_iter=iterations, memory=10,
                              precondition=precondition))

        bench.measure("probe", f"linclass solve on the device, {name}", f"L-BFGS, {iterations} iterations",
                      linclass_lbfgs, note=lambda runs=runs: f"{runs[-1].n_evaluations} value+grad, "
                      f"f = {runs[-1].value:.6f}")
    lbfgs = torch.optim.LBFGS(
        linear.parameters(), max_iter=iterations, max_eval=4 * iterations, history_size=10,
        tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe",
    )

    def torch_lbfgs():
        torch.nn.init.zeros_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        lbfgs.state.clear()
        lbfgs.step(torch_value_and_grad)

    def torch_note() -> str:
        with torch.no_grad():
            value = torch.nn.functional.cross_entropy(linear(X), y) + ALPHA * (linear.weight**2).sum()
        return f"{lbfgs.state[lbfgs._params[0]]['func_evals']} value+grad, f = {float(value):.6f}"

    bench.measure("probe", "torch.optim.LBFGS", f"L-BFGS, {iterations} iterations", torch_lbfgs,
                  note=torch_note)


def fashion(bench: Bench) -> None:
    """The CPU path kept honest: ``LinearClassifier`` fits on Fashion-MNIST, torch on the CPU against
    Numba (both of its loops), from :func:`benchmarks.torch_cpu.compare`."""
    from benchmarks.torch_cpu import FLOOR, compare, fashion_mnist

    X, y, data = fashion_mnist(bench.sizes["fashion_rows"])
    for result in compare(X, y, (64, 256), bench.sizes["fashion_epochs"], bench.sizes["repeats"]):
        floor = result["contender"] == FLOOR
        name = "eager torch, minimal step" if floor else f"linclass {result['contender']}"
        contender = f"{name} (CPU), {result['ratio']:.2f}x {result['host']}"
        bench.rows.append((data, contender, result["setting"], result["seconds"] * 1e3, None))


def equality_tests(device: str) -> str:
    """Run the torch equality tests with their tensors on ``device``; the pytest summary line."""
    tests = sorted(str(path) for path in (ROOT / "tests").glob("test_torch_*.py"))
    env = dict(os.environ, LINCLASS_TEST_DEVICE=device, PYTHONPATH=str(ROOT / "src"))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    summary = lines[-1] if lines else result.stderr.strip()[-200:]
    print(f"equality tests on {device}: {summary}", flush=True)
    return summary


def table(bench: Bench, tests: str | None) -> str:
    torch = bench.torch
    name = torch.cuda.get_device_name(bench.device) if bench.device.type == "cuda" else "CPU"
    lines = [f"GPU check on {name} (torch {torch.__version__}), sizes: CIFAR-10 {bench.sizes['cifar']}, "
             f"probe {bench.sizes['probe']} (N, D, C).", ""]
    if tests is not None:
        lines += [f"Equality tests on the device: {tests}", ""]
    lines += ["| problem | contender | measures | ms | peak device MiB |",
              "| --- | --- | --- | ---: | ---: |"]
    for problem, contender, what, ms, peak in bench.rows:
        memory = "-" if peak is None else f"{peak:.0f}"
        lines.append(f"| {problem} | {contender} | {what} | {ms:.2f} | {memory} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="torch device (default: cuda)")
    parser.add_argument("--small", action="store_true", help="small sizes (a smoke test, e.g. on the CPU)")
    parser.add_argument("--skip-tests", action="store_true", help="do not run the equality tests first")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "gpu.md")
    args = parser.parse_args(argv)
    import torch

    from linclass._devices import resolve_device

    try:
        resolve_device(args.device)
    except (ImportError, ValueError) as exc:
        print(f"python -m benchmarks.gpu: {exc}", file=sys.stderr)
        return 2
    torch.set_float32_matmul_precision("highest")
    tests = None if args.skip_tests else equality_tests(args.device)
    bench = Bench(args.device, SMALL if args.small else FULL)
    cifar(bench)
    probe(bench)
    fashion(bench)
    text = table(bench, tests)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    partial = args.output.with_name(args.output.name + ".partial")
    partial.write_text(text)
    partial.replace(args.output)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
