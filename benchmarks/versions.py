"""Two versions of linclass timed side by side: the same fits, alternating fresh processes.

``python -m benchmarks.versions --old PATH [--new PATH] [--data cifar] [--rounds 3]`` times each
fit of :data:`FITS` once per round in each version, old then new, every fit in its own process
(``PYTHONPATH`` set to that version's ``src``), so that both versions see the same moments of a
shared machine. ``PATH`` is a checkout (or its ``src`` folder), for example one made by
``git worktree add /tmp/old <commit>``; ``--new`` defaults to this checkout. Each process
first fits one epoch on every 50th row with the same settings (compiling or loading the
kernels), then times one ``fit`` on the training rows and scores the test rows outside the
clock. It prints a table: each version's seconds (lowest and highest over the rounds), the
ratio of their medians, and the test accuracy.

A speed target stated as "faster than an earlier version's time" on another machine is checked
this way: the earlier code, run here at the same moment, gives the time to beat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks import competitors, data

# The fits compared: CIFAR-10's speed target ("the defaults at batch 256", every other setting
# the default) and the CIFAR-10 softmax settings of the competitors benchmark, unchanged since
# before the compiled loop (its 10-epoch fit is the target's 1.0 s).
FITS: dict[str, dict] = {
    "LinearClassifier(batch_size=256)": {"batch_size": 256, "random_state": 0},
    "earlier benchmark: sgd, momentum 0.9, cosine, batch 256, 10 epochs": competitors.linclass_settings(
        "cifar", "softmax"
    ),
}

# Runs in the child process, with only NumPy and the version's linclass importable.
_CHILD = """
import json, sys, time
import numpy as np
import linclass
settings = json.loads(sys.argv[2])
with np.load(sys.argv[1]) as arrays:
    X, y, X_test, y_test = (arrays[name] for name in ("X", "y", "X_test", "y_test"))
linclass.LinearClassifier(**dict(settings, epochs=1)).fit(X[::50], y[::50])
clf = linclass.LinearClassifier(**settings)
start = time.perf_counter()
clf.fit(X, y)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "accuracy": float(clf.score(X_test, y_test)),
                  "epochs": int(clf.n_iter_), "module": linclass.__file__}))
"""


def source_folder(path: str) -> Path:
    """The folder holding the ``linclass`` package: ``path`` itself or its ``src``."""
    root = Path(path).expanduser().resolve()
    for candidate in (root / "src", root):
        if (candidate / "linclass" / "__init__.py").is_file():
            return candidate
    looked = "looked for linclass/ in it and in its src/"
    raise SystemExit(f"versions: {path!r} holds no linclass package ({looked})")


def run_fit(src: Path, arrays: Path, settings: dict) -> dict:
    """One fit in a fresh process importing linclass from ``src``."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("LINCLASS_PYTHON_LOOP", None)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(arrays), json.dumps(settings)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"the fit with linclass from {src} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["module"].startswith(str(src)):
        raise RuntimeError(f"the fit imported linclass from {result['module']}, not from {src}")
    return result


def compare(old: Path, new: Path, arrays: Path, rounds: int, fits: dict[str, dict]) -> list[dict]:
    """``rounds`` alternations of every fit, old then new; a row per fit."""
    times = {(name, version): [] for name in fits for version in ("old", "new")}
    accuracy: dict[tuple[str, str], float] = {}
    for _ in range(rounds):
        for name, settings in fits.items():
            for version, src in (("old", old), ("new", new)):
                result = run_fit(src, arrays, settings)
                times[name, version].append(result["seconds"])
                accuracy[name, version] = result["accuracy"]
    return [
        {
            "fit": name,
            "old s": times[name, "old"],
            "new s": times[name, "new"],
            "old / new": statistics.median(times[name, "old"]) / statistics.median(times[name, "new"]),
            "old accuracy": accuracy[name, "old"],
            "new accuracy": accuracy[name, "new"],
        }
        for name in fits
    ]


def span(seconds: list[float]) -> str:
    low, high = min(seconds), max(seconds)
    return f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f}–{high:.2f}"


def table(rows: list[dict]) -> str:
    lines = [
        "| fit | old s | new s | old / new (medians) | test accuracy, old / new |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row['fit']} | {span(row['old s'])} | {span(row['new s'])} | {row['old / new']:.2f} "
                     f"| {row['old accuracy']:.4f} / {row['new accuracy']:.4f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="the earlier checkout (or its src folder)")
    parser.add_argument("--new", default=str(data.REPO_ROOT), help="the later one (default: this checkout)")
    parser.add_argument("--data", default="cifar", choices=["cifar", "fashion", "digits"])
    parser.add_argument("--rounds", type=int, default=3, help="alternations of every fit (default 3)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    old, new = source_folder(args.old), source_folder(args.new)
    X, y, X_test, y_test = data.load(args.data)
    with tempfile.TemporaryDirectory() as folder:
        arrays = Path(folder) / "data.npz"
        np.savez(arrays, X=X, y=y, X_test=X_test, y_test=y_test)
        rows = compare(old, new, arrays, args.rounds, FITS)
    print(f"old: {old}\nnew: {new}")
    print(f"data: {args.data} {X.shape[0]:,} x {X.shape[1]:,}, {args.rounds} rounds\n")
    print(table(rows))


if __name__ == "__main__":
    main()
