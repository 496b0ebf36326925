"""Linear classifiers on CIFAR-10 features: raw pixels, HOG + colour, k-means (Coates et al. 2011).

``python -m benchmarks.features [--only raw,hog,kmeans400,kmeans1600,wide,sklearn,kmeans4000,single,
kmeans1600flip,kmeans1600normal] [--work DIR] [--cpu-budget SECONDS]``

Each step runs in a fresh process (so its peak memory is its own) and appends its result to
``benchmarks/results/features.json``; the tables are then written to
``benchmarks/results/features.md``. Steps:

- ``extract``: ``linclass features`` on the JPEG CIFAR-10 set (fit on the 50,000 training
  images, transform all 60,000), timed, with the process's peak RSS;
- ``select``: for each loss, a small grid (learning rate and alpha for SGD; alpha for
  L-BFGS), each trained on 45,000 training rows and scored on the other 5,000 (never on test);
- ``train``: the chosen setting trained on all 50,000 rows in a fresh process: training time,
  test accuracy after each of ``CHECKPOINTS`` epochs or iterations (timed without that
  scoring), peak RSS (loading the feature file included). The margin losses calibrate Platt
  scaling on rows they also train on, so no row is held out of training;
- ``wide``: linclass (softmax and the one-vs-rest L2-SVM) on a 10,000-row subset of the
  1,600-centroid features;
- ``sklearn``: scikit-learn's ``LogisticRegression``, ``LinearSVC`` (one-vs-rest, and
  Crammer-Singer) on one thread, on the subset and on all 50,000 rows, each within a budget of
  process CPU seconds (a contender that uses it up is reported as "at least" that): time to
  the same test accuracy as linclass's runs. scikit-learn gets the standardized float64
  features, prepared before its clock starts; its ``C`` is linclass's ``alpha`` converted
  (``C = 1 / (2 N alpha)``), which for ``LogisticRegression`` and ``LinearSVC(ovr)`` is the
  same objective as linclass's softmax and ``ovr_squared_hinge`` (up to liblinear's penalty on
  the intercept). Run this step outside the benchmark lock, under ``nice``: it is timed in CPU
  seconds;
- ``single``: linclass's L2-SVM on all 50,000 rows on one thread (run it pinned to one core),
  the other side of the one-thread comparison;
- ``kmeans1600flip``: 1,600 centroids from the authors' k-means start (``--init normal``) with
  the features of the mirrored training images as 50,000 more training rows (``--augment
  flip``); ``kmeans1600normal``: the first 50,000 training rows of that file (the original
  images only). Both train the paper's L2-SVM at its C (no selection).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.runner import run_worker

RESULTS = Path(__file__).parent / "results"
CIFAR = "folder:" + str(
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.tar.gz"
)
FIGURE = Path(__file__).resolve().parents[1] / "docs" / "images" / "kmeans-centroids.png"
LOSSES = ("softmax", "svm")
# 1,600 centroids: also the paper's classifier, a one-vs-rest L2-SVM solved by L-BFGS
SET_LOSSES = {"kmeans1600": ("softmax", "svm", "ovr_squared_hinge")}
# A grid point is (lr, alpha[, epochs]) for minibatch SGD, or a dict of settings (L-BFGS).
GRID = [(lr, alpha) for lr in (1e-3, 1e-2) for alpha in (1e-5, 1e-4, 1e-3)]


# 1,600 centroids: the losses solved by full-batch L-BFGS around the paper's alpha = 0.005
# (C = 100); the SVM by SGD at the learning rate the other grids chose, with stronger
# penalties for the wider features, and one longer run at a larger learning rate
def _lbfgs(*alphas: float) -> list[dict]:
    return [{"optimizer": "lbfgs", "alpha": alpha, "max_iter": 400} for alpha in alphas]


GRIDS = {
    "kmeans1600": {
        "softmax": _lbfgs(1e-3, 3e-3),
        "svm": [*((1e-2, alpha) for alpha in (1e-3, 3e-3, 1e-2)), (3e-2, 1e-3, 60)],
        "ovr_squared_hinge": _lbfgs(2e-3, 5e-3, 1.25e-2),
    }
}
EPOCHS = 20
# test accuracy is recorded after these epochs (SGD) or iterations (L-BFGS) of the final runs
CHECKPOINTS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 300, 400, 600, 800, 1000)
# the final L-BFGS runs go on to convergence or this many iterations (selection: 400)
FINAL_MAX_ITER = 1000
PAPER = {"kmeans400": None, "kmeans1600": 0.779, "kmeans4000": 0.796}
# rows of the training set that calibrate Platt scaling of the margin losses (every row still
# trains); the accuracy does not depend on them
CALIBRATION_ROWS = 5000
FEATURE_SETS = {
    "raw": None,
    "hog": ["--kind", "hog-color"],
    "kmeans400": ["--kind", "kmeans", "--centroids", "400"],
    "kmeans1600": ["--kind", "kmeans", "--centroids", "1600", "--plot", str(FIGURE)],
    "kmeans4000": ["--kind", "kmeans", "--centroids", "4000"],
    # the authors' k-means start, and the mirrored training images as 50,000 more rows
    "kmeans1600flip": ["--kind", "kmeans", "--centroids", "1600", "--init", "normal", "--augment", "flip"],
}
# sets trained at a fixed setting (no selection here: a validation split of an augmented file
# would hold mirrored copies of training rows). The original images: the paper's L2-SVM at its
# C = 100 (alpha 0.005). The augmented file: alpha 0.0025, chosen on a validation split that
# holds out 5,000 original images and leaves their mirror images out of training (0.0025 / 0.005
# / 0.01: 0.749 / 0.745 / 0.738), with the intercept penalized as the paper's bias column is.
FIXED = {
    "kmeans1600flip": {"ovr_squared_hinge": {"optimizer": "lbfgs", "alpha": 2.5e-3,
                                             "max_iter": FINAL_MAX_ITER, "penalize_intercept": True}},
    "kmeans1600normal": {"ovr_squared_hinge": {"optimizer": "lbfgs", "alpha": 5e-3,
                                               "max_iter": FINAL_MAX_ITER}},
}  # fmt: skip
# sets that are the first rows of another set's training split: its original (unmirrored) images
FIRST_ROWS = {"kmeans1600normal": ("kmeans1600flip", 50_000)}


def _usage() -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def _data_spec(name: str, work: Path) -> str:
    return CIFAR if name == "raw" else str(work / f"{FIRST_ROWS.get(name, (name,))[0]}.npz")


def step_extract(name: str, work: Path) -> dict:
    from linclass.cli import main
    from linclass.datasets import load_features

    out = work / f"{name}.npz"
    start = time.perf_counter()
    code = main(["features", "--data", CIFAR, *FEATURE_SETS[name], "--out", str(out), "--quiet"])
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"linclass features failed for {name} (exit {code})")
    _, metadata = load_features(out)
    settings = metadata["settings"]
    return {
        "wall_seconds": wall,
        "fit_seconds": settings["fit_seconds"],
        "transform_seconds": settings["transform_seconds"],
        **({"augment_seconds": settings["augment_seconds"]} if "augment" in settings else {}),
        "n_features": settings["n_features"],
        **_usage(),
    }


def _setting(point) -> dict:
    """A grid point as the settings it stands for (SGD: ``lr``, ``alpha``, ``epochs``)."""
    if isinstance(point, dict):
        return dict(point)
    lr, alpha, *longer = point
    return {"lr": lr, "alpha": alpha, "epochs": longer[0] if longer else EPOCHS}


def _classifier(loss: str, setting: dict):
    import linclass

    if setting.get("optimizer") == "lbfgs":
        options = {"optimizer": "lbfgs", "max_iter": setting["max_iter"],
                   "penalize_intercept": setting.get("penalize_intercept", False)}
    else:
        options = {"learning_rate": setting["lr"], "epochs": setting["epochs"], "batch_size": 256}
        if "optimizer" in setting:
            options["optimizer"] = setting["optimizer"]
    return linclass.LinearClassifier(
        loss=loss, alpha=setting["alpha"], preprocess="standardize", random_state=0, **options
    )


def _fit(model, X, y, calibration, callbacks=()):
    """``model.fit`` on every row of ``X``: a margin loss's Platt scaling uses ``calibration``."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from linclass.losses import get_loss

    extra = {} if get_loss(model.loss).probabilistic else {"validation_data": calibration}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the budget asked for
        return model.fit(X, y, callbacks=callbacks, **extra)


def _split(name: str, work: Path, n_train: int | None = None):
    """``(dataset, train_rows, val_rows)``: 5,000 validation rows and the rest (or ``n_train`` of it)."""
    from linclass.datasets import load_source

    dataset = load_source(_data_spec(name, work)).flatten()
    order = np.random.default_rng(0).permutation(len(dataset.X_train))
    return dataset, np.sort(order[5000:][:n_train]), np.sort(order[:5000])


def step_select(name: str, work: Path, losses: list[str] = LOSSES, grid=GRID) -> dict:
    """Each loss over its grid (``grid``: one list, or a list per loss), scored on 5,000 held-out rows."""
    dataset, train, val = _split(name, work)
    X, y = dataset.X_train[train], dataset.y_train[train]
    X_val, y_val = dataset.X_train[val], dataset.y_train[val]
    del dataset
    chosen = {}
    for loss in losses:
        rows = []
        for point in grid[loss] if isinstance(grid, dict) else grid:
            setting = _setting(point)
            start = time.perf_counter()
            model = _fit(_classifier(loss, setting), X, y, (X_val, y_val))
            seconds = time.perf_counter() - start
            accuracy = float(model.score(X_val, y_val))
            rows.append({**setting, "val_accuracy": accuracy, "train_seconds": seconds})
        chosen[loss] = {"grid": rows, "best": max(rows, key=lambda row: row["val_accuracy"])}
    return chosen


class _Curve:
    """A callback: test accuracy after the checkpoint epochs, timed without its own scoring."""

    def __init__(self, model, X_test, y_test, checkpoints):
        self.model, self.X_test, self.y_test = model, X_test, y_test
        self.checkpoints = set(checkpoints)
        self.points: list[dict] = []
        self.excluded_wall = self.excluded_cpu = 0.0
        self.start_wall, self.start_cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return (
            time.perf_counter() - self.start_wall - self.excluded_wall,
            time.process_time() - self.start_cpu - self.excluded_cpu,
        )

    def __call__(self, event) -> None:
        if event.epoch not in self.checkpoints:
            return
        entered_wall, entered_cpu = time.perf_counter(), time.process_time()
        wall, cpu = self.elapsed()
        self.points.append({"iter": event.epoch, **self._score(event.params), "train_seconds": wall,
                            "train_cpu_seconds": cpu})  # fmt: skip
        self.excluded_wall += time.perf_counter() - entered_wall
        self.excluded_cpu += time.process_time() - entered_cpu

    def _score(self, params) -> dict:
        scores = self.model.objective_.scores(params, self.X_test)
        return {"test_accuracy": float(np.mean(scores.argmax(axis=1) == self.y_test))}


def step_train(name: str, work: Path, loss: str, n_train: int | None = None, **point) -> dict:
    """The setting trained on every training row (or ``n_train`` of them); test accuracy along the way."""
    start = time.perf_counter()
    if n_train is None:
        from linclass.datasets import load_source

        dataset = load_source(_data_spec(name, work)).flatten()
        first = FIRST_ROWS.get(name, (name, None))[1]
        X, y = dataset.X_train[:first], dataset.y_train[:first]
    else:
        dataset, train, _ = _split(name, work, n_train)
        X, y = dataset.X_train[train], dataset.y_train[train]
    X_test, y_test = dataset.X_test, dataset.y_test
    loaded = time.perf_counter()
    setting = _setting(point)
    model = _classifier(loss, setting)
    every = setting.get("every")  # more checkpoints: every this many iterations
    extra = () if every is None else range(every, setting["max_iter"] + 1, every)
    checkpoints = (*CHECKPOINTS, *extra)
    curve = _Curve(model, X_test, y_test, checkpoints)
    _fit(model, X, y, (X[:CALIBRATION_ROWS], y[:CALIBRATION_ROWS]), callbacks=[curve])
    wall, cpu = curve.elapsed()
    return {
        **setting,
        "n_train": len(X),
        "n_iter": int(np.max(model.n_iter_)),
        "load_seconds": loaded - start,
        "train_seconds": wall,
        "train_cpu_seconds": cpu,
        "test_accuracy": float(model.score(X_test, y_test)),
        "curve": curve.points,
        **_usage(),
    }


def step_sklearn(
    name: str,
    work: Path,
    contender: str,
    alpha: float,
    n_train: int | None = None,
    cpu_budget: float | None = None,
) -> dict:
    """A scikit-learn contender on one thread, on the standardized float64 features.

    ``cpu_budget``: process CPU seconds the fit may use; past them the kernel stops the
    process (``RLIMIT_CPU``) and the step reports the budget as a lower bound.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC
    from threadpoolctl import threadpool_limits

    dataset, train, _ = _split(name, work, n_train)
    rows = slice(None) if n_train is None else train
    X, y = dataset.X_train[rows], dataset.y_train[rows]
    mean = X.mean(axis=0, dtype=np.float64)
    scale = X.std(axis=0, dtype=np.float64) + 1e-8
    X = (X - mean) / scale
    X_test, y_test = (dataset.X_test - mean) / scale, dataset.y_test
    del dataset  # the float32 copy: liblinear's own copy of X needs the room
    C = 1.0 / (2 * len(X) * alpha)
    model = {
        "LinearSVC(crammer_singer)": lambda: LinearSVC(C=C, multi_class="crammer_singer", max_iter=1000),
        "LinearSVC(ovr)": lambda: LinearSVC(C=C, max_iter=1000),
        "LogisticRegression(lbfgs)": lambda: LogisticRegression(C=C, max_iter=1000),
    }[contender]()
    if cpu_budget is not None:
        used = time.process_time()
        resource.setrlimit(resource.RLIMIT_CPU, (int(used + cpu_budget), int(used + cpu_budget) + 30))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # the signal that stops it would dump core
        # the last line on stderr is what the parent reports if the limit stops the process
        print(f"used its budget of {cpu_budget:,g} CPU-s without finishing", file=sys.stderr, flush=True)
    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):
        warnings.simplefilter("always", ConvergenceWarning)
        start, cpu_start = time.perf_counter(), time.process_time()
        model.fit(X, y)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {
        "alpha": alpha,
        "n_train": len(X),
        "train_seconds": seconds,
        "train_cpu_seconds": cpu,
        "test_accuracy": float(model.score(X_test, y_test)),
        "C": C,
        "converged": converged,
        "n_iter": np.asarray(model.n_iter_).max().item(),
        **_usage(),
    }


STEPS = {
    "extract": step_extract,
    "select": step_select,
    "train": step_train,
    "sklearn": step_sklearn,
}


def _run_step(step: str, timeout: float = 3600, **kwargs) -> dict:
    """Run one step in a fresh process; return its result (or the error it stopped with)."""
    print(f"  {step} {kwargs}", flush=True)
    result = run_worker({"step": step, **kwargs}, timeout=timeout, module="benchmarks.features")
    # a step that failed or timed out keeps its settings, for the report
    return {**kwargs, **result} if "error" in result else result


def _record(results: dict, key: str, value: dict) -> None:
    """Store one result; the file is re-read under a lock, so two runs (linclass's under the
    benchmark lock, scikit-learn's outside it) can write to it at once."""
    import fcntl
    import tempfile

    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "features.json"
    with open(Path(tempfile.gettempdir()) / "linclass-features-results.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        on_disk = json.loads(path.read_text()) if path.is_file() else {}
        results.update({**on_disk, key: value})
        path.write_text(json.dumps(results, indent=1))
    print(f"    -> {value}", flush=True)


def _once(results: dict, key: str, step: str, **kwargs) -> dict:
    """Run a step unless ``results`` already holds it without an error (a rerun resumes)."""
    if key not in results or "error" in results[key]:
        _record(results, key, _run_step(step, **kwargs))
    return results[key]


def _trained(selection: dict) -> dict:
    """The settings of a selection's best point (what ``step_train`` takes)."""
    return {k: v for k, v in selection["best"].items() if k not in ("val_accuracy", "train_seconds")}


def run_fixed(name: str, work: Path, results: dict) -> None:
    """A set trained at its ``FIXED`` settings (extracted first unless it is another's first rows)."""
    if name in FEATURE_SETS:
        if not (work / f"{name}.npz").is_file():
            results.pop(f"{name}/extract", None)
        if "error" in _once(results, f"{name}/extract", "extract", name=name, work=str(work)):
            return
    for loss, setting in FIXED[name].items():
        _once(results, f"{name}/{loss}", "train", timeout=7200, name=name, work=str(work), loss=loss,
              **setting)  # fmt: skip


def run_feature_set(name: str, work: Path, results: dict) -> None:
    if name in FIXED:
        return run_fixed(name, work, results)
    if FEATURE_SETS[name] is not None and not (work / f"{name}.npz").is_file():
        results.pop(f"{name}/extract", None)
    if FEATURE_SETS[name] is not None:
        _once(results, f"{name}/extract", "extract", name=name, work=str(work))
    losses = SET_LOSSES.get(name, LOSSES)
    key = f"{name}/select"
    selection = {} if "error" in results.get(key, {}) else dict(results.get(key, {}))
    missing = [loss for loss in losses if loss not in selection]  # a rerun searches only these
    if missing:
        found = _run_step("select", name=name, work=str(work), losses=missing, grid=GRIDS.get(name, GRID))
        _record(results, key, found if "error" in found else {**selection, **found})
        if "error" in found:
            return
    for loss in losses:
        setting = _trained(results[key][loss])
        if setting.get("optimizer") == "lbfgs":
            setting["max_iter"] = FINAL_MAX_ITER
        _once(results, f"{name}/{loss}", "train", name=name, work=str(work), loss=loss, **setting)


CONTENDERS = {  # scikit-learn contender: the linclass loss with its objective (and its alpha)
    "LogisticRegression(lbfgs)": "softmax",
    "LinearSVC(ovr)": "ovr_squared_hinge",
    "LinearSVC(crammer_singer)": "ovr_squared_hinge",
}
SUBSETS = (2_000, 10_000)  # rows of the subsets on which the slow contenders get a second chance


def run_wide(work: Path, results: dict) -> None:
    """linclass on the subset of the wide features (the full-size runs are the feature set's)."""
    name = "kmeans1600"
    for n_train in SUBSETS:
        for loss in ("softmax", "ovr_squared_hinge"):
            _once(results, f"wide{n_train // 1000}k/linclass-{loss}", "train", name=name, work=str(work),
                  loss=loss, n_train=n_train, **_trained(results[f"{name}/select"][loss]))  # fmt: skip


# linclass on one thread on all 50,000 rows, beside the one-thread contenders: the paper's
# L2-SVM (alpha 0.005) by the compiled minibatch loop, Adam with the cosine schedule (its
# learning rate and epochs from a few ad-hoc runs: lr 0.001 / 0.003, 20 / 100 / 200 epochs),
# and by L-BFGS (the Cholesky coordinates "auto" picks for 6,400 features) with the intercept
# penalized as LinearSVC() penalizes it, so both minimize one objective; test accuracy every 5
# iterations
SINGLE = {
    "linclass-ovr_squared_hinge-adam": {"optimizer": "adam", "lr": 1e-3, "alpha": 5e-3, "epochs": 200,
                                        "threads": 1},
    "linclass-ovr_squared_hinge-lbfgs": {"optimizer": "lbfgs", "alpha": 5e-3, "max_iter": FINAL_MAX_ITER,
                                         "penalize_intercept": True, "every": 5, "threads": 1},
}  # fmt: skip
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_single(work: Path, results: dict) -> None:
    """The ``SINGLE`` runs in fresh processes limited to one thread (pin this process to one core)."""
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    for key, setting in SINGLE.items():
        _once(results, f"wide/{key}", "train", timeout=7200, name="kmeans1600", work=str(work),
              loss="ovr_squared_hinge", **setting)  # fmt: skip


def run_sklearn(work: Path, results: dict, cpu_budget: float, full_budget: float) -> None:
    """The scikit-learn contenders on one thread: on the subset within ``cpu_budget`` process CPU
    seconds each, then on all rows within ``full_budget`` (like-for-like objectives first)."""
    name = "kmeans1600"
    subset = [(f"wide{n // 1000}k", n, contender, cpu_budget) for n in SUBSETS for contender in CONTENDERS]
    full = [("wide", None, contender, full_budget) for contender in
            ("LinearSVC(ovr)", "LogisticRegression(lbfgs)", "LinearSVC(crammer_singer)")]  # fmt: skip
    for prefix, n_train, contender, budget in subset + full:
        alpha = results[f"{name}/select"][CONTENDERS[contender]]["best"]["alpha"]
        _once(results, f"{prefix}/{contender}", "sklearn", timeout=3 * budget + 600, name=name,
              work=str(work), contender=contender, alpha=alpha, n_train=n_train,
              cpu_budget=budget)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.features", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--only",
        default="raw,hog,kmeans400,kmeans1600,wide,sklearn,kmeans4000,single,kmeans1600flip,kmeans1600normal",
        help="steps: feature sets, wide (linclass on the subsets), sklearn (the contenders), single "
        "(linclass on one thread on all rows)",
    )
    parser.add_argument(
        "--work",
        default=os.path.expanduser("~/.cache/linclass/bench-features"),
        help="where the feature files go (about 1.5 GB for 1,600 centroids)",
    )
    parser.add_argument(
        "--cpu-budget",
        type=float,
        default=600.0,
        help="process CPU seconds each scikit-learn contender may use on the subset (default: 600)",
    )
    parser.add_argument(
        "--full-cpu-budget",
        type=float,
        default=1500.0,
        help="the same on all 50,000 rows (default: 1500)",
    )
    parser.add_argument("task", nargs="?", help=argparse.SUPPRESS)  # one step, as JSON (a worker)
    args = parser.parse_args(argv)
    if args.task:
        task = json.loads(args.task)
        task["work"] = Path(task["work"])
        print(json.dumps(STEPS[task.pop("step")](**task)))
        return 0
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "features.json"
    results = json.loads(path.read_text()) if path.is_file() else {}
    for name in args.only.split(","):
        print(name, flush=True)
        if name == "wide":
            run_wide(work, results)
        elif name == "single":
            run_single(work, results)
        elif name == "sklearn":
            run_sklearn(work, results, args.cpu_budget, args.full_cpu_budget)
        else:
            run_feature_set(name, work, results)
    from benchmarks.features_report import write_report

    write_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
