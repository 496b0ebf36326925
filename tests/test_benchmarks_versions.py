"""The two-version timing: which folder is a version, one fit in a fresh process, the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from benchmarks import versions

SRC = Path(__file__).resolve().parent.parent / "src"


def test_a_checkout_and_its_src_folder_name_the_same_version():
    assert versions.source_folder(str(SRC.parent)) == SRC
    assert versions.source_folder(str(SRC)) == SRC


def test_a_folder_without_linclass_is_refused_by_name(tmp_path):
    with pytest.raises(SystemExit) as raised:
        versions.source_folder(str(tmp_path))
    assert str(raised.value) == (
        f"versions: {str(tmp_path)!r} holds no linclass package (looked for linclass/ in it and in its src/)"
    )


def test_a_fit_runs_in_its_own_process_on_the_version_given(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (300, 20), dtype=np.uint8)
    y = (X[:, 0] > 127).astype(np.int64) + 2 * (X[:, 1] > 127)
    arrays = tmp_path / "data.npz"
    np.savez(arrays, X=X, y=y, X_test=X, y_test=y)
    rows = versions.compare(SRC, SRC, arrays, 1, {"sgd": {"optimizer": "sgd", "epochs": 3, "random_state": 0}})
    assert [row["fit"] for row in rows] == ["sgd"]
    (row,) = rows
    assert len(row["old s"]) == len(row["new s"]) == 1 and min(row["old s"] + row["new s"]) > 0
    # the same code and seed give the same model, so the same test accuracy, in both processes
    assert row["old accuracy"] == row["new accuracy"] > 0.5


def test_a_failing_fit_reports_its_error(tmp_path):
    arrays = tmp_path / "data.npz"
    np.savez(arrays, X=np.zeros((10, 3), np.uint8), y=np.zeros(10, np.int64), X_test=np.zeros((2, 3)), y_test=np.zeros(2))
    with pytest.raises(RuntimeError, match="the fit with linclass from .* failed:(.|\n)*batch_size"):
        versions.run_fit(SRC, arrays, {"batch_size": 0})


def test_the_table_gives_spans_ratios_and_accuracies():
    rows = [{"fit": "a", "old s": [2.0, 3.0, 4.0], "new s": [1.0, 1.5, 1.0], "old / new": 3.0,
             "old accuracy": 0.41, "new accuracy": 0.4}]  # fmt: skip
    assert versions.table(rows).splitlines()[2] == "| a | 2.00–4.00 | 1.00–1.50 | 3.00 | 0.4100 / 0.4000 |"
    assert versions.span([1.234, 1.236]) == "1.23–1.24" and versions.span([1.0, 1.001]) == "1.00"
