"""The tables of ``python -m benchmarks.features``, from ``benchmarks/results/features.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks import machine

RESULTS = Path(__file__).parent / "results"
NAMES = {
    "raw": "raw pixels",
    "hog": "HOG + hue histogram",
    "kmeans400": "k-means, 400 centroids",
    "kmeans1600": "k-means, 1,600 centroids",
    "kmeans4000": "k-means, 4,000 centroids",
}
# Coates, Lee & Ng (2011), triangle activation, 6x6 patches, stride 1, whitened; the CS231n
# assignment for raw pixels (DATA.md)
REFERENCE = {
    "raw": "0.38–0.39 (CS231n)",
    "kmeans1600": "SVM 0.779 (paper)",
    "kmeans4000": "SVM 0.796 (paper)",
}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def feature_table(results: dict) -> list[str]:
    lines = [
        "| features | D | softmax | SVM | paper / course | extraction: fit + transform, wall (CPU) "
        "| peak RSS | training softmax / SVM, wall (CPU) | peak RSS |",
        "| --- | ---: | ---: | ---: | --- | --- | ---: | --- | ---: |",
    ]
    for name, label in NAMES.items():
        softmax, svm = results.get(f"{name}/softmax"), results.get(f"{name}/svm")
        if not softmax or not svm or "error" in softmax or "error" in svm:
            continue
        extract = results.get(f"{name}/extract", {})
        if extract:
            extraction = (
                f"{extract['fit_seconds']:.0f} s + {extract['transform_seconds']:.0f} s "
                f"({extract['cpu_seconds']:.0f} s)"
            )
            n_features, extract_rss = (
                f"{extract['n_features']:,}",
                f"{extract['peak_rss_mib'] / 1024:.2f} GiB",
            )
        else:
            extraction, n_features, extract_rss = "—", "3,072", "—"
        training = (
            f"{softmax['train_seconds']:.1f} / {svm['train_seconds']:.1f} s "
            f"({softmax['cpu_seconds']:.0f} / {svm['cpu_seconds']:.0f} s)"
        )
        train_rss = f"{max(softmax['peak_rss_mib'], svm['peak_rss_mib']) / 1024:.2f} GiB"
        lines.append(
            f"| {label} | {n_features} | **{softmax['test_accuracy']:.3f}** "
            f"| **{svm['test_accuracy']:.3f}** | {REFERENCE.get(name, '—')} | {extraction} | {extract_rss} "
            f"| {training} | {train_rss} |"
        )
    return lines


def selection_table(results: dict) -> list[str]:
    lines = [
        "| features | loss | chosen lr, alpha | validation accuracy over the grid (lr, alpha: acc) |",
        "| --- | --- | --- | --- |",
    ]
    for name, label in NAMES.items():
        selection = results.get(f"{name}/select")
        if not selection or "error" in selection:
            continue
        for loss in ("softmax", "svm"):
            best = selection[loss]["best"]
            grid = (
                ", ".join(
                    f"{r['lr']:g}, {r['alpha']:g}: {r['val_accuracy']:.3f}" for r in selection[loss]["grid"]
                )
                or f"not searched: the setting chosen for {NAMES[selection['from']]}"
            )
            lines.append(f"| {label} | {loss} | {best['lr']:g}, {best['alpha']:g} | {grid} |")
    return lines


def wide_table(results: dict) -> list[str]:
    lines = [
        "| contender | training wall time (process CPU) → test accuracy | linclass to the same accuracy "
        "| speed-up | peak RSS |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    curves = {
        loss: sorted(
            (int(key.rsplit("/", 1)[1]), value)
            for key, value in results.items()
            if key.startswith(f"wide/linclass-{loss}/") and "error" not in value
        )
        for loss in ("softmax", "svm")
    }
    for loss, runs in curves.items():  # the accuracy table's run is a point of each curve too
        main_run = results.get(f"kmeans1600/{loss}")
        if main_run and "error" not in main_run and main_run not in [run for _, run in runs]:
            runs.append((main_run.get("epochs", 20), main_run))
            runs.sort(key=lambda point: (point[0], point[1]["test_accuracy"]))
        for epochs, run in runs:
            lines.append(
                f"| linclass {loss}, {epochs} epochs (lr {run['lr']:g}, alpha {run['alpha']:g}) "
                f"| {run['train_seconds']:.1f} s "
                f"({run['cpu_seconds']:.0f} s) → {run['test_accuracy']:.3f} | | "
                f"| {run['peak_rss_mib'] / 1024:.2f} GiB |"
            )
    for contender in ("LogisticRegression(lbfgs)", "LinearSVC(ovr)", "LinearSVC(crammer_singer)"):
        run = results.get(f"wide/{contender}")
        if not run:
            continue
        if "error" in run:
            setting = f", C = {1 / (2 * 50_000 * run['alpha']):.3g}" if "alpha" in run else ""
            lines.append(f"| scikit-learn `{contender}`{setting} | {run['error']} (wall), no result | | | |")
            continue
        loss = "softmax" if contender.startswith("Logistic") else "svm"
        reached = [r for _, r in curves[loss] if r["test_accuracy"] >= run["test_accuracy"] - 1e-9]
        fastest = min(reached, key=lambda r: r["train_seconds"]) if reached else None
        note = "" if run["converged"] else ", not converged"
        same = (
            f"{fastest['train_seconds']:.1f} s → {fastest['test_accuracy']:.3f} ({loss})"
            if fastest
            else "not reached in 20 epochs"
        )
        ratio = f"{run['train_seconds'] / fastest['train_seconds']:.0f}×" if fastest else "—"
        lines.append(
            f"| scikit-learn `{contender}`, C = {run['C']:.3g}{note} | {run['train_seconds']:.0f} s "
            f"({run['cpu_seconds']:.0f} s) → "
            f"{run['test_accuracy']:.3f} | {same} | {ratio} | {run['peak_rss_mib'] / 1024:.2f} GiB |"
        )
    return lines


def write_report(results: dict) -> Path:
    info = machine.describe()
    text = "\n".join(
        [
            "# Linear classifiers on CIFAR-10 features",
            "",
            "`python -m benchmarks.features` on the JPEG CIFAR-10 set (50,000 train / 10,000 test).",
            "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ".",
            "Wall times were taken on a shared 2-core machine with other jobs running; CPU seconds are",
            "the process's user + system time.",
            "",
            "## Accuracy, time and memory",
            "",
            *feature_table(results),
            "",
            "## Hyperparameters chosen on a validation split (45,000 / 5,000 of the training set)",
            "",
            *selection_table(results),
            "",
            "## Wide features: 50,000 × 6,400 (1,600 centroids)",
            "",
            *wide_table(results),
            "",
        ]
    )
    path = RESULTS / "features.md"
    path.write_text(text)
    return path


if __name__ == "__main__":
    print(write_report(json.loads((RESULTS / "features.json").read_text())).read_text())
    sys.exit(0)
