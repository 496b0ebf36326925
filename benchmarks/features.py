"""Linear classifiers on CIFAR-10 features: raw pixels, HOG + colour, k-means (Coates et al. 2011).

``python -m benchmarks.features [--only raw,hog,kmeans400,kmeans1600,kmeans4000,wide] [--work DIR]``

Each step runs in a fresh process (so its peak memory is its own) and appends its result to
``benchmarks/results/features.json``; the tables are then written to
``benchmarks/results/features.md``. Steps:

- ``extract``: ``linclass features`` on the JPEG CIFAR-10 set (fit on the 50,000 training
  images, transform all 60,000), timed, with the process's peak RSS;
- ``select``: for each loss, a small grid of (learning rate, alpha), each trained on 45,000
  training rows and scored on the other 5,000 (never on test);
- ``train``: the chosen setting trained on all 50,000 rows in a fresh process: training time,
  test accuracy, peak RSS (loading the feature file included);
- ``wide``: on the 1,600-centroid features, scikit-learn's ``LinearSVC`` (Crammer-Singer and
  one-vs-rest) and ``LogisticRegression`` against linclass's SVM and softmax after 1..20
  epochs: time to the same test accuracy. scikit-learn gets the standardized float64 features,
  prepared before its clock starts; its ``C`` is linclass's ``alpha`` converted
  (``C = 1 / (2 N alpha)``).
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
GRID = [(lr, alpha) for lr in (1e-3, 1e-2) for alpha in (1e-5, 1e-4, 1e-3)]
# 1,600 centroids: the learning rate the other grids chose, and stronger penalties for the
# wider features
# (and one longer run, 60 epochs at a larger learning rate: a point is (lr, alpha[, epochs]))
GRIDS = {"kmeans1600": [*((1e-2, alpha) for alpha in (1e-3, 3e-3, 1e-2)), (3e-2, 1e-3, 60)]}
EPOCHS = 20
WIDE_EPOCHS = (1, 2, 5, 10, 20)
PAPER = {"kmeans400": None, "kmeans1600": 0.779, "kmeans4000": 0.796}
# the paper's L2-SVM: C = 100 on the mean squared hinge, that is alpha = 1 / (2 C) here and
# liblinear's C = 100 / N
PAPER_ALPHA = 0.005
FEATURE_SETS = {
    "raw": None,
    "hog": ["--kind", "hog-color"],
    "kmeans400": ["--kind", "kmeans", "--centroids", "400"],
    "kmeans1600": ["--kind", "kmeans", "--centroids", "1600", "--plot", str(FIGURE)],
    "kmeans4000": ["--kind", "kmeans", "--centroids", "4000"],
}


def _usage() -> dict:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def _data_spec(name: str, work: Path) -> str:
    return CIFAR if name == "raw" else str(work / f"{name}.npz")


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
        "n_features": settings["n_features"],
        **_usage(),
    }


def _classifier(loss: str, lr: float, alpha: float, epochs: int):
    import linclass

    return linclass.LinearClassifier(
        loss=loss,
        alpha=alpha,
        learning_rate=lr,
        epochs=epochs,
        batch_size=256,
        preprocess="standardize",
        random_state=0,
    )


def step_select(
    name: str, work: Path, losses: list[str] = LOSSES, grid: list[list[float]] = GRID, epochs: int = EPOCHS
) -> dict:
    from linclass.datasets import load_source

    dataset = load_source(_data_spec(name, work)).flatten()
    order = np.random.default_rng(0).permutation(len(dataset.X_train))
    train, val = np.sort(order[5000:]), np.sort(order[:5000])
    X, y = dataset.X_train[train], dataset.y_train[train]
    X_val, y_val = dataset.X_train[val], dataset.y_train[val]
    chosen = {}
    for loss in losses:
        rows = []
        for lr, alpha, *longer in grid:
            n_epochs = longer[0] if longer else epochs
            model = _classifier(loss, lr, alpha, n_epochs).fit(X, y)
            accuracy = float(model.score(X_val, y_val))
            rows.append({"lr": lr, "alpha": alpha, "epochs": n_epochs, "val_accuracy": accuracy})
        chosen[loss] = {"grid": rows, "best": max(rows, key=lambda row: row["val_accuracy"])}
    return chosen


def step_train(name: str, work: Path, loss: str, lr: float, alpha: float, epochs: int = EPOCHS) -> dict:
    from linclass.datasets import load_source

    start = time.perf_counter()
    dataset = load_source(_data_spec(name, work)).flatten()
    loaded = time.perf_counter()
    model = _classifier(loss, lr, alpha, epochs).fit(dataset.X_train, dataset.y_train)
    trained = time.perf_counter()
    return {
        "lr": lr,
        "alpha": alpha,
        "epochs": epochs,
        "load_seconds": loaded - start,
        "train_seconds": trained - loaded,
        "test_accuracy": float(model.score(dataset.X_test, dataset.y_test)),
        **_usage(),
    }


def step_sklearn(name: str, work: Path, contender: str, alpha: float) -> dict:
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    from linclass.datasets import load_source

    dataset = load_source(_data_spec(name, work))
    mean = dataset.X_train.mean(axis=0, dtype=np.float64)
    scale = dataset.X_train.std(axis=0, dtype=np.float64) + 1e-8
    X, y = (dataset.X_train - mean) / scale, dataset.y_train
    X_test, y_test = (dataset.X_test - mean) / scale, dataset.y_test
    del dataset  # the float32 copy: liblinear's own copy of X needs the room
    C = 1.0 / (2 * len(X) * alpha)
    model = {
        "LinearSVC(crammer_singer)": lambda: LinearSVC(C=C, multi_class="crammer_singer", max_iter=1000),
        "LinearSVC(ovr)": lambda: LinearSVC(C=C, max_iter=1000),
        "LogisticRegression(lbfgs)": lambda: LogisticRegression(C=C, max_iter=1000),
    }[contender]()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {
        "train_seconds": seconds,
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
    results[key] = value
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "features.json").write_text(json.dumps(results, indent=1))
    print(f"    -> {value}", flush=True)


def _once(results: dict, key: str, step: str, **kwargs) -> dict:
    """Run a step unless ``results`` already holds it without an error (a rerun resumes)."""
    if key not in results or "error" in results[key]:
        _record(results, key, _run_step(step, **kwargs))
    return results[key]


def run_feature_set(name: str, work: Path, results: dict) -> None:
    if FEATURE_SETS[name] is not None and not (work / f"{name}.npz").is_file():
        results.pop(f"{name}/extract", None)
    if FEATURE_SETS[name] is not None:
        _once(results, f"{name}/extract", "extract", name=name, work=str(work))
    selection = _once(
        results, f"{name}/select", "select", name=name, work=str(work), grid=GRIDS.get(name, GRID)
    )
    for loss in LOSSES:
        best = selection[loss]["best"]
        _once(
            results,
            f"{name}/{loss}",
            "train",
            name=name,
            work=str(work),
            loss=loss,
            lr=best["lr"],
            alpha=best["alpha"],
            epochs=best.get("epochs", EPOCHS),
        )


def run_wide(work: Path, results: dict, timeout: float) -> None:
    name = "kmeans1600"
    for loss in LOSSES:
        best = results[f"{name}/{loss}"]
        for epochs in WIDE_EPOCHS:
            _once(
                results,
                f"wide/linclass-{loss}/{epochs}",
                "train",
                name=name,
                work=str(work),
                loss=loss,
                lr=best["lr"],
                alpha=best["alpha"],
                epochs=epochs,
            )
    for contender in ("LogisticRegression(lbfgs)", "LinearSVC(ovr)", "LinearSVC(crammer_singer)"):
        alpha = results[f"{name}/softmax"]["alpha"] if contender.startswith("Logistic") else PAPER_ALPHA
        _once(
            results,
            f"wide/{contender}",
            "sklearn",
            timeout=timeout,
            name=name,
            work=str(work),
            contender=contender,
            alpha=alpha,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.features", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--only", default="raw,hog,kmeans400,kmeans1600,wide,kmeans4000")
    parser.add_argument(
        "--work",
        default=os.path.expanduser("~/.cache/linclass/bench-features"),
        help="where the feature files go (about 1.5 GB for 1,600 centroids)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="seconds each scikit-learn contender may take (default: 1200)",
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
            run_wide(work, results, args.timeout)
        else:
            run_feature_set(name, work, results)
    from benchmarks.features_report import write_report

    write_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
