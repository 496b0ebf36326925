"""``python -m benchmarks.torch_cpu [--rows N] [--epochs E] [--repeats R] [--profile]``: the CPU
torch backend against the Numba backend, ``LinearClassifier`` on Fashion-MNIST.

Every contender fits the same estimator (softmax, L2, ``preprocess="center-scale"``,
``random_state=0``) in each setting: ``optimizer="sgd"`` (momentum 0.9, cosine schedule, learning
rate 0.01) at batch 64, 256 and 1,024 for ``--epochs`` epochs, and ``optimizer="lbfgs"`` for
``LBFGS_ITERATIONS`` iterations on the full batch; only the backend differs:

- ``torch``: ``backend="torch"`` on the CPU (one Python step per minibatch, torch operators);
- ``numba``: the default backend with its default loop, the compiled whole-epoch loop
  (:mod:`linclass.train.compiled`: many steps per kernel call) -- what a user gets;
- ``numba, per-step``: the same kernels one Python step per minibatch (``LINCLASS_PYTHON_LOOP=1``),
  the loop the torch backend runs -- it separates the loop's cost from the kernels' (L-BFGS
  has no compiled loop: there it is the same as ``numba``, and not run).

For SGD a fourth row is a floor, not a contender: ``torch, minimal step`` runs the same epochs
as a hand-written eager loop doing only what a step must -- gather the rows, convert them to
float32, the two products, softmax and its gradient, the L2 term, the momentum update (no
preprocessing, schedule, checks or bookkeeping), one thread. What eager torch cannot undercut
is visible beside what linclass's torch backend costs.

The contenders alternate within each repeat, so all see the same load; the table gives the best
time of each and the ratios to ``numba`` measured in this run. With L-BFGS, a second table times
one full-batch value and gradient: Numba's fused kernel, the torch backend, and the floor of
any torch formulation that uses its BLAS -- the backend's two products alone
(:func:`full_batch_passes`). ``--profile`` adds where the
torch fit at batch 64 spends its time (cProfile, functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import sys
import time
import warnings

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/gpu.py

# role -> (backend, one Python step per minibatch); "host" is the default backend (Numba where
# it is installed), named in the results by the kernels the fit used
CONTENDERS = {"torch": ("torch", False), "host": (None, False), "host, per-step": (None, True)}
LBFGS_ITERATIONS = 30


#: What the results call the rows :func:`fashion_mnist` returns, with and without the data set.
FASHION = "Fashion-MNIST"
SYNTHETIC = "Fashion-MNIST-shaped synthetic rows (Fashion-MNIST is not installed)"


def fashion_mnist(rows: int | None) -> tuple[np.ndarray, np.ndarray, str]:
    """Fashion-MNIST's training rows flattened, and :data:`FASHION`; without the data set, random
    uint8 rows of its shape and :data:`SYNTHETIC`, so that a table never calls them Fashion-MNIST."""
    from linclass.datasets import load_fashion_mnist

    try:
        dataset = load_fashion_mnist()
        X, y, name = dataset.X_train.reshape(len(dataset.X_train), -1), dataset.y_train, FASHION
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        X, y = rng.integers(0, 256, size=(60_000, 784), dtype=np.uint8), rng.integers(0, 10, 60_000)
        name = SYNTHETIC
    return (X, y, name) if rows is None else (X[:rows], y[:rows], name)


def fit(name: str, X, y, batch: int | None, epochs: int):
    """One fit of contender ``name`` (``batch`` None: L-BFGS): (seconds, the fitted classifier)."""
    from linclass import LinearClassifier

    backend, per_step = CONTENDERS[name]
    settings = (dict(optimizer="lbfgs", max_iter=LBFGS_ITERATIONS) if batch is None
                else dict(optimizer="sgd", batch_size=batch, epochs=epochs))
    clf = LinearClassifier(backend=backend, preprocess="center-scale", random_state=0, **settings)
    before = os.environ.get("LINCLASS_PYTHON_LOOP")
    os.environ["LINCLASS_PYTHON_LOOP"] = "1" if per_step else "0"
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():  # L-BFGS stops by its iteration count, on purpose
            warnings.filterwarnings("ignore", "LinearClassifier.*did not converge")
            clf.fit(X, y)
        return time.perf_counter() - start, clf
    finally:
        if before is None:
            del os.environ["LINCLASS_PYTHON_LOOP"]
        else:
            os.environ["LINCLASS_PYTHON_LOOP"] = before


def minimal_torch_sgd(X, y, batch: int, epochs: int) -> float:
    """Seconds for ``epochs`` epochs of the minimal eager torch softmax step at ``batch`` (one thread)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        X_t, y_t = torch.from_numpy(X), torch.from_numpy(np.asarray(y, np.int64))
        n, (rows, features), classes = X_t.shape[0] // batch, X_t.shape, int(y_t.max()) + 1
        # class-major (C, D) weights and (C, n) scores: the layout in which the CPU kernels run the
        # softmax and both products fastest for few classes (see linclass.kernels.torch_kernels)
        W, b = torch.zeros(classes, features), torch.zeros(classes, 1)
        velocity_W, velocity_b = torch.zeros_like(W), torch.zeros_like(b)
        minus_one = torch.full((1, batch), -1.0 / batch)
        generator = torch.Generator().manual_seed(0)
        start = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(rows, generator=generator)
            for k in range(n):
                idx = order[k * batch:(k + 1) * batch]
                x, labels = X_t[idx].to(torch.float32), y_t[idx]
                p = torch.softmax(torch.addmm(b, W, x.T), dim=0).div_(batch)
                p.scatter_add_(0, labels[None, :], minus_one)
                grad_W = torch.addmm(W, p, x, beta=2e-4)  # p @ x + 2 alpha W
                velocity_W.mul_(0.9).add_(grad_W)
                velocity_b.mul_(0.9).add_(p.sum(dim=1, keepdim=True))
                W.sub_(velocity_W, alpha=0.01)
                b.sub_(velocity_b, alpha=0.01)
        return time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)


FLOOR = "torch, minimal step"


def compare(X, y, batches=(64, 256, 1024, None), epochs: int = 3, repeats: int = 3) -> list[dict]:
    """Best times of every contender per setting (batch size, None: L-BFGS), the contenders alternating."""
    results = []
    for batch in batches:
        names = [name for name in CONTENDERS if batch is not None or not CONTENDERS[name][1]]
        for name in names:  # warm-up: compiles the Numba kernels, loads torch
            fit(name, X[:2_000], y[:2_000], batch, 1)
        best = dict.fromkeys(names, math.inf)
        accuracy, label = {}, {}
        if batch is not None:
            minimal_torch_sgd(X[:2_000], y[:2_000], batch, 1)
            best[FLOOR], accuracy[FLOOR], label[FLOOR] = math.inf, math.nan, FLOOR
        for _ in range(repeats):
            for name in names:
                seconds, clf = fit(name, X, y, batch, epochs)
                best[name] = min(best[name], seconds)
                accuracy[name] = clf.score(X, y)
                label[name] = name.replace("host", clf.objective_.kernels.name)
            if batch is not None:
                best[FLOOR] = min(best[FLOOR], minimal_torch_sgd(X, y, batch, epochs))
        setting = (f"L-BFGS, {LBFGS_ITERATIONS} its" if batch is None
                   else f"SGD, batch {batch}, {epochs} epochs")
        for name in best:
            results.append(dict(setting=setting, contender=label[name], seconds=best[name],
                                ratio=best[name] / best["host"], host=label["host"], accuracy=accuracy[name]))
    return results


def full_batch_passes(X, y, repeats: int = 5) -> list[tuple[str, float]]:
    """Best seconds of one full-batch value and gradient (softmax, center-scale, float32): Numba's
    fused kernel, the torch backend, and the torch floor -- only the backend's two products per
    chunk (``W.T @ chunk.T`` and ``dscores.T @ chunk``) on chunks already converted to float32,
    cut into the backend's chunks and row parts on the same threads -- the contenders alternating."""
    import torch

    from linclass.kernels import get_kernels
    from linclass.kernels.threads import map_parts, num_threads
    from linclass.kernels.torch_backend import TorchKernels
    from linclass.kernels.torch_kernels import CPU_CHUNK_BYTES, chunk_rows
    from linclass.losses import LOSSES
    from linclass.preprocess import fit_transform

    transform = fit_transform("center-scale", X)
    rng = np.random.default_rng(0)
    classes = int(np.max(y)) + 1
    W = (rng.normal(size=(X.shape[1], classes)) * 1e-3).astype(np.float32)
    b = np.zeros(classes, np.float32)
    rows = chunk_rows(X.shape[1], classes, 4, CPU_CHUNK_BYTES)
    parts = np.array_split(np.arange(X.shape[0]), num_threads())
    chunks = [[torch.from_numpy(X[part[k:k + rows]].astype(np.float32)) for k in range(0, len(part), rows)]
              for part in parts]
    W_t, dscores_t = torch.from_numpy(W.T.copy()), torch.zeros(classes, rows)

    def products(part: int) -> None:
        for chunk in chunks[part]:
            torch.mm(W_t, chunk.T)
            torch.mm(dscores_t[:, :chunk.shape[0]], chunk)

    def floor() -> None:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            map_parts(products, len(parts))
        finally:
            torch.set_num_threads(previous)

    def value_and_gradient(kernels):
        return lambda: kernels.linear_loss(X, y, W, b, loss=LOSSES["softmax"], transform=transform)

    contenders = {
        "numba fused kernel": value_and_gradient(get_kernels(None)),
        "torch backend": value_and_gradient(TorchKernels("cpu")),
        "torch, the two products alone (floor)": floor,
    }
    best = dict.fromkeys(contenders, math.inf)
    for run in contenders.values():
        run()  # warm-up
    for _ in range(repeats):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return list(best.items())


def passes_table(passes: list[tuple[str, float]], data: str = FASHION) -> str:
    reference = passes[0][1]
    lines = [f"One full-batch value and gradient over the {data} training rows (uint8, softmax, float32), "
             "best of the repeats", "", "| computation | ms | ÷ numba |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {seconds * 1e3:.1f} | {seconds / reference:.2f}x |" for name, seconds in passes]
    return "\n".join(lines) + "\n"


def profile(X, y, batch: int = 64, epochs: int = 1, top: int = 18) -> str:
    """cProfile of one torch fit: the ``top`` functions by own time."""
    fit("torch", X[:2_000], y[:2_000], batch, 1)
    profiler = cProfile.Profile()
    profiler.enable()
    seconds, _ = fit("torch", X, y, batch, epochs)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return f"torch fit, batch {batch}, {epochs} epoch(s), under cProfile: {seconds:.2f} s\n" + out.getvalue()


def table(results: list[dict], epochs: int, data: str = FASHION) -> str:
    lines = [f"| setting | backend | fit, s | vs {results[0]['host']} | train accuracy |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in results:
        accuracy = "-" if math.isnan(r["accuracy"]) else f"{r['accuracy']:.4f}"
        lines.append(f"| {r['setting']} | {r['contender']} | {r['seconds']:.2f} | {r['ratio']:.2f}x | "
                     f"{accuracy} |")
    return f"{data} training rows (uint8), best of the repeats\n\n" + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.torch_cpu",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=None, help="first N training rows (default: all)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256, 1024], help="SGD batch sizes")
    parser.add_argument("--no-lbfgs", action="store_true", help="skip the L-BFGS setting")
    parser.add_argument("--profile", action="store_true", help="also profile the torch fit at batch 64")
    args = parser.parse_args(argv)
    X, y, data = fashion_mnist(args.rows)
    settings = [*args.batches, *([] if args.no_lbfgs else [None])]
    print(table(compare(X, y, settings, args.epochs, args.repeats), args.epochs, data), flush=True)
    if not args.no_lbfgs:
        print(passes_table(full_batch_passes(X, y, args.repeats + 2), data), flush=True)
    if args.profile:
        print(profile(X, y, epochs=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
