"""Turn suite results into Markdown tables, a target summary and PNG charts."""

from __future__ import annotations

import math
from pathlib import Path

MB = 1e6
MIB = 2**20


def table(headers: list[str], rows: list[list]) -> str:
    def cell(value) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "–"
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _get(row: dict, key: str) -> float:
    """``row[key]`` as a float; NaN where it was not measured."""
    value = row.get(key)
    return math.nan if value is None else float(value)


def _fit_extra(row: dict) -> float:
    return _get(row, "fit_peak") - _get(row, "rss_before")


def fashion_section(results: dict) -> str:
    parts = []
    for loss, rows in results.items():
        ours = next((row for row in rows if row["contender"] == "linclass" and "error" not in row), None)
        body = []
        for row in rows:
            if "error" in row:
                body.append([row["contender"], "failed: " + row["error"], "", "", "", ""])
                continue
            ratio = row["time"] / ours["time"] if ours else math.nan
            body.append(
                [
                    row["contender"],
                    row["time"],
                    row["accuracy"],
                    ratio,
                    _get(row, "peak_rss"),
                    _fit_extra(row),
                ]
            )
        parts.append(
            f"**{loss}**\n\n"
            + table(
                [
                    "contender",
                    "fit time s",
                    "test accuracy",
                    "time / linclass",
                    "peak RSS MiB",
                    "fit extra MiB",
                ],
                body,
            )
        )
    return "\n\n".join(parts)


def epoch_section(result: dict) -> str:
    head = (
        f"Measured memory read bandwidth {result['bandwidth GB/s']:.1f} GB/s; "
        f"peak float32 GEMM {result['peak GFLOP/s']:.0f} GFLOP/s.\n\n"
    )
    rows = [
        [
            r["X stored as"],
            r["backend"],
            r["epoch s"] * 1e3,
            r["batches alone s"] * 1e3,
            r["limit s"] * 1e3,
            r["ratio to limit"],
        ]
        for r in result["rows"]
    ]
    return head + table(
        ["X stored as", "backend", "epoch ms", "batches alone ms", "limit ms", "epoch / limit"], rows
    )


def batch_section(result: dict) -> str:
    rows = [
        [
            r["loss"],
            r["D"],
            r["batch"],
            r["linclass us"],
            r["torch us"],
            r["numpy us"],
            r["torch / linclass"],
            r["numpy / linclass"],
        ]
        for r in result["rows"]
    ]
    return table(
        [
            "loss",
            "D",
            "batch",
            "linclass µs",
            "PyTorch µs",
            "NumPy path µs",
            "PyTorch / linclass",
            "NumPy / linclass",
        ],
        rows,
    )


def cifar_section(result: dict) -> str:
    if "skipped" in result:
        return "Skipped: " + result["skipped"]
    body = []
    for row in result["rows"]:
        if "error" in row:
            body.append([row["what"], row["loss"], "failed: " + row["error"], "", "", "", "", ""])
            continue
        limit = (2 * row["dataset_bytes"] + 200 * MB) / MIB
        body.append(
            [
                row["what"],
                row["loss"],
                row["time"],
                row["accuracy"],
                _get(row, "peak_rss"),
                _get(row, "rss_before"),
                _fit_extra(row),
                limit,
            ]
        )
    return table(
        [
            "run",
            "loss",
            "fit time s",
            "test accuracy",
            "peak RSS MiB",
            "RSS before fit MiB",
            "fit extra MiB",
            "limit MiB",
        ],
        body,
    )


def scaling_section(result: dict) -> str:
    by_n = [[n, s * 1e3, s / n * 1e9] for n, s in zip(result["n"], result["seconds by n"], strict=True)]
    by_d = [[d, s * 1e3, s / d * 1e6] for d, s in zip(result["d"], result["seconds by d"], strict=True)]
    memory = [
        [n, estimator, loop]
        for n, estimator, loop in zip(
            result["memory n"], result["estimator memory MiB"], result["loop memory MiB"], strict=True
        )
    ]
    return "\n\n".join(
        [
            table(["N (Fashion-MNIST rows)", "epoch ms", "ns per row"], by_n)
            + f"\n\nLinear fit: R² = {result['fit by n']['r2']:.4f}.",
            table([f"D (N = {result['rows for d']:,} random uint8 rows)", "epoch ms", "µs per feature"], by_d)
            + f"\n\nLinear fit: R² = {result['fit by d']['r2']:.4f}.",
            table(
                ["N", "LinearClassifier.fit, MiB above the data", "training loop alone, MiB above the data"],
                memory,
            ),
        ]
    )


def optimizers_section(result: dict) -> str:
    parts = []
    for name, rows in result.items():
        body = [[r["optimizer"], r["epochs"], r["evaluations"], r["time"], r["accuracy"]] for r in rows]
        parts.append(
            f"**{name}**\n\n"
            + table(["optimizer", "epochs / steps", "loss evaluations", "time s", "test accuracy"], body)
        )
    return "\n\n".join(parts)


def targets(results: dict) -> list[list]:
    """Rows ``[target, requirement, measured, met]`` for every suite that ran."""
    rows = []
    if results.get("solver"):
        from benchmarks.solver import solver_target

        rows.append(solver_target(results["solver"]))
    if results.get("probe"):
        from benchmarks.probe_report import probe_targets

        rows.extend(probe_targets(results["probe"]))
    fashion = results.get("fashion")
    if fashion:
        for loss, baseline, accuracy, factor in (
            ("softmax", "scikit-learn", 0.840, 20),
            ("svm", "scikit-learn", 0.835, 10),
        ):
            by_name = {row["contender"]: row for row in fashion[loss] if "error" not in row}
            ours = by_name.get("linclass")
            theirs = next((row for name, row in by_name.items() if name.startswith(baseline)), None)
            if ours and theirs:
                speedup = theirs["time"] / ours["time"]
                rows.append(
                    [
                        f"1. Fashion-MNIST {loss}",
                        f"accuracy ≥ {accuracy}, ≥ {factor}x faster than {baseline}",
                        f"{ours['accuracy']:.4f} in {ours['time']:.2f} s; {speedup:.1f}x faster",
                        ours["accuracy"] >= accuracy and speedup >= factor,
                    ]
                )
    epoch = results.get("epoch")
    if epoch:
        row = next(r for r in epoch["rows"] if r["X stored as"] == "uint8" and r["backend"] == "numba")
        rows.append(
            [
                "2. SGD epoch vs machine limit",
                "≤ 3x the limit",
                f"{row['ratio to limit']:.2f}x "
                f"({row['epoch s'] * 1e3:.1f} ms vs {row['limit s'] * 1e3:.1f} ms)",
                row["ratio to limit"] <= 3,
            ]
        )
    batch = results.get("batch")
    if batch:
        torch_ratio = min(r["torch / linclass"] for r in batch["rows"])
        numpy_ratio = min(r["numpy / linclass"] for r in batch["rows"])
        rows.append(
            [
                "3. batch loss + gradient vs PyTorch",
                "≥ 1x everywhere",
                f"min {torch_ratio:.2f}x",
                torch_ratio >= 1,
            ]
        )
        rows.append(
            [
                "3. batch loss + gradient vs NumPy path",
                "≥ 3x everywhere",
                f"min {numpy_ratio:.2f}x",
                numpy_ratio >= 3,
            ]
        )
    cifar = results.get("cifar")
    if cifar and "rows" in cifar:
        for row in cifar["rows"]:
            if "error" in row or row["what"] != "LinearClassifier.fit":
                continue
            limit = (2 * row["dataset_bytes"] + 200 * MB) / MIB
            rows.append(
                [
                    f"4. CIFAR-10 {row['loss']}",
                    f"≥ 0.39 in ≤ 15 s, peak ≤ {limit:.0f} MiB",
                    f"{row['accuracy']:.4f} in {row['time']:.1f} s, peak {_get(row, 'peak_rss'):.0f} MiB",
                    row["accuracy"] >= 0.39 and row["time"] <= 15 and _get(row, "peak_rss") <= limit,
                ]
            )
    scaling = results.get("scaling")
    if scaling:
        memory = [m for m in scaling["loop memory MiB"] if not math.isnan(m)]
        spread = max(memory) - min(memory) if memory else math.nan
        estimator = max((m for m in scaling["estimator memory MiB"] if not math.isnan(m)), default=math.nan)
        linear = scaling["fit by n"]["r2"] >= 0.98 and scaling["fit by d"]["r2"] >= 0.98
        rows.append(
            [
                "5. cost growth",
                "time linear in N and D; memory flat in N",
                f"R² {scaling['fit by n']['r2']:.3f} (N), {scaling['fit by d']['r2']:.3f} (D); training loop "
                f"memory spread {spread:.1f} MiB over N (LinearClassifier.fit: up to {estimator:.0f} MiB)",
                linear and spread < 10,
            ]
        )
    if results.get("dask"):
        from benchmarks.cluster import targets as cluster_targets

        rows += cluster_targets(results["dask"])
    return rows


def charts(results: dict, folder: Path) -> list[Path]:
    """``fashion.png`` (time per contender) and ``cost_growth.png``; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    if results.get("fashion"):
        figure, axes = plt.subplots(2, 1, figsize=(9, 7))
        for ax, (loss, rows) in zip(axes, results["fashion"].items(), strict=False):
            rows = [row for row in rows if "error" not in row]
            ax.barh([row["contender"] for row in rows], [row["time"] for row in rows], color="tab:blue")
            for i, row in enumerate(rows):
                ax.text(row["time"], i, f"  {row['accuracy']:.3f}", va="center", fontsize=8)
            ax.set_xscale("log")
            ax.invert_yaxis()
            ax.set_xlabel("training time, s (log scale); labels: test accuracy")
            ax.set_title(f"Fashion-MNIST, {loss}")
        figure.tight_layout()
        written.append(folder / "fashion.png")
        figure.savefig(written[-1], dpi=110)
        plt.close(figure)
    scaling = results.get("scaling")
    if scaling:
        figure, axes = plt.subplots(1, 3, figsize=(14, 3.8))
        axes[0].plot(scaling["n"], [s * 1e3 for s in scaling["seconds by n"]], "o-")
        axes[0].set(xlabel="N (rows)", ylabel="ms per epoch", title="time vs N (D = 784)")
        axes[1].plot(scaling["d"], [s * 1e3 for s in scaling["seconds by d"]], "o-")
        axes[1].set(
            xlabel="D (features)", ylabel="ms per epoch", title=f"time vs D (N = {scaling['rows for d']:,})"
        )
        axes[2].plot(scaling["memory n"], scaling["estimator memory MiB"], "o-", label="LinearClassifier.fit")
        axes[2].plot(scaling["memory n"], scaling["loop memory MiB"], "s-", label="training loop alone")
        axes[2].set(xlabel="N (rows)", ylabel="MiB above the data", title="fit memory vs N", ylim=(0, None))
        axes[2].legend()
        for ax in axes:
            ax.grid(alpha=0.3)
        figure.tight_layout()
        written.append(folder / "cost_growth.png")
        figure.savefig(written[-1], dpi=110)
        plt.close(figure)
    return written
