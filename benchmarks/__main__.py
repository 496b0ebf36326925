"""``python -m benchmarks [--quick] [--only NAME[,NAME...]] [--output FOLDER]``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from benchmarks import accuracy, cluster, defaults, machine, probe, probe_report, report, solver, speed

SUITES = {
    "fashion": (accuracy.fashion_suite, "1. Fashion-MNIST: time to accuracy", report.fashion_section),
    "epoch": (speed.epoch_suite, "2. One SGD epoch against the machine's limit", report.epoch_section),
    "batch": (speed.batch_suite, "3. One batch: loss + gradient", report.batch_section),
    "cifar": (accuracy.cifar_suite, "4. CIFAR-10, raw pixels", report.cifar_section),
    "scaling": (speed.scaling_suite, "5. Cost growth", report.scaling_section),
    "solver": (solver.solver_suite, "6. The exact solver: time to the optimum", solver.solver_section),
    "probe": (
        probe.probe_suite,
        "8. Linear probes against scikit-learn and PyTorch",
        probe_report.probe_section,
    ),
    "defaults": (defaults.defaults_suite, "9. Speed at the defaults", defaults.defaults_section),
    "optimizers": (
        accuracy.optimizers_suite,
        "Every optimizer on digits and Fashion-MNIST",
        report.optimizers_section,
    ),
    "dask": (cluster.dask_suite, "7. Training on a Dask cluster", cluster.dask_section),
}
NOTES = {
    "fashion": "Each contender runs in a fresh process; runs under 5 s are repeated (same seed) and "
    "timed by their best of 3. linclass trains on the raw uint8 pixels and fits its "
    "preprocessing inside the timed fit; the others get float32 pixels/255 minus the mean image, "
    "prepared before their clock starts. *fit extra* is the resident-memory high-water mark during "
    "fit above the resident memory before it. ![Fashion-MNIST](fashion.png)",
    "epoch": "Limit = max(bytes of X as stored / read bandwidth, 4·N·D·C / peak GEMM FLOP/s), N = 60,000, "
    "D = 784, C = 10. *batches alone* runs the epoch's `Objective.batch` calls without the training "
    "loop (gathering rows, optimizer updates and bookkeeping make the difference).",
    "batch": "float32 inputs, C = 10, no penalty; PyTorch is `nn.Linear` forward + loss + backward "
    "(SVM: `MultiMarginLoss`, compared with linclass's `multi_margin`); the NumPy path is linclass "
    "with `LINCLASS_DISABLE_NUMBA=1` semantics (BLAS products + the vectorized losses). Best of repeats.",
    "cifar": "Limit = 2 × the uint8 data set's bytes (train + test) + 200 MB. Peak RSS is the whole "
    "process (interpreter, NumPy, scikit-learn, Numba and the data included).",
    "scaling": "One SGD epoch (batch 256, softmax, float32). Memory from a fresh process per N, one "
    "epoch: through `LinearClassifier.fit` (preprocessing fitted inside) and through "
    "`linclass.train.fit` alone. ![cost growth](cost_growth.png)",
    "solver": "Fashion-MNIST pixels / 255, softmax + L2 at C = 1 (alpha = 1 / (2 C N)); all runs in one "
    "process, one after the other, on a shared 2-core machine. See `benchmarks/solver.py`.",
    "probe": "scikit-learn runs on one thread under a CPU-time budget "
    "(`python -m benchmarks.probe_reference`, its result files read when present); a stopped run "
    "gives a lower bound (≥). linclass and torch run on one thread as well; speed-ups compare CPU "
    "seconds with CPU seconds (wall-time ratios beside them). A shared 2-core machine. See "
    "`benchmarks/probe.py`.",
    "defaults": "Fashion-MNIST, softmax (and a CIFAR-10 row). Each row in a fresh process; fit times are "
    "one fit after a 1-epoch warm-up on 1,000 rows (compilation and caches excluded). Limit = the run's "
    "epochs × max(bytes of X / read bandwidth, 4·N·D·C / peak GEMM FLOP/s), bandwidth and FLOP/s "
    "measured in this run; the Python loop is `LINCLASS_PYTHON_LOOP=1`; the compiled loop uses both "
    "cores for batches of 64 rows and more where that measures faster; PyTorch runs on one thread (its "
    "two spinning threads ran several times slower on the loaded machine); scikit-learn gets float32 "
    "pixels/255 minus the mean image, prepared before its clock starts. See `benchmarks/defaults.py`.",
    "optimizers": "Softmax objective with L2 (alpha = 1e-4); digits standardized, Fashion-MNIST "
    "center-scaled. Searches are budgeted in loss evaluations (each one a pass over the training set).",
    "dask": "`LocalCluster(n_workers=k, threads_per_worker=1)` on this machine; the workers stream the "
    "chunks (32 MB) from the `.npy` file each evaluation. *evaluation* is one full-batch loss + gradient, "
    "best of 9, the 1- and 2-worker clusters running side by side and taking turns (3 calls each, 3 "
    "rounds) so that the shared machine's load reaches both alike; the fits run on a fresh cluster per "
    "worker count, one after the other. The one-machine rows read a memory map of the same file with "
    "all the machine's cores. On 2 cores the scheduler and the client compete with the workers.",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller data and budgets (well under a minute)")
    parser.add_argument(
        "--only", default=",".join(SUITES), help=f"comma-separated suites to run, from: {', '.join(SUITES)}"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="folder for latest.md, latest.json and the charts",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.only.split(",") if name not in SUITES]
    if unknown:
        parser.error(f"--only got unknown suite(s) {unknown}; expected names from {list(SUITES)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    description = machine.describe()
    print(report.table(["machine", ""], [[key, value] for key, value in description.items()]), flush=True)
    results: dict = {}
    sections = []
    for name in args.only.split(","):
        run, title, render = SUITES[name]
        clock = time.perf_counter()
        print(f"\n## {title}", flush=True)
        results[name] = run(args.quick)
        text = render(results[name])
        print(text + f"\n\n({time.perf_counter() - clock:.0f} s)", flush=True)
        sections.append(f"## {title}\n\n{NOTES[name]}\n\n{text}")
    summary = report.targets(results) + defaults.targets(results.get("defaults"))
    summary_text = report.table(
        ["target", "requirement", "measured", "met"],
        [[t, r, m, "yes" if ok else "NO"] for t, r, m, ok in summary],
    )
    print("\n## Targets\n\n" + summary_text)
    elapsed = time.perf_counter() - started
    args.output.mkdir(parents=True, exist_ok=True)
    report.charts(results, args.output)
    command = (
        "python -m benchmarks"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only != ",".join(SUITES) else "")
    )
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    markdown = "\n\n".join(
        [
            "# linclass benchmarks",
            f"`{command}` — {stamp}, {elapsed:.0f} s in all."
            + (
                " Quick mode: smaller data and budgets, so the targets below are indicative only."
                if args.quick
                else ""
            ),
            "## Machine\n\n" + report.table(["", ""], [[key, value] for key, value in description.items()]),
            "## Targets\n\n" + summary_text,
            *sections,
        ]
    )
    (args.output / "latest.md").write_text(markdown + "\n")
    (args.output / "latest.json").write_text(
        json.dumps({"machine": description, "results": results}, indent=1)
    )
    print(f"\nwrote {args.output / 'latest.md'} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
