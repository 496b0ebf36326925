"""``linclass tune``: the results table, the best model and the search options."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import linclass
from linclass.app.experiment import TrainConfig, prepare_data
from linclass.cli import main

GRID = ["--epochs", "2", "--lr", "0.01,0.1", "--alpha", "1e-4,0.1"]


def _tune_json(capsys, *argv):
    assert main(["tune", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _without_seconds(results):
    return [{key: value for key, value in r.items() if key != "seconds"} for r in results]


def test_results_are_sorted_and_the_best_model_is_saved(tmp_path, capsys):
    out = tmp_path / "best.npz"
    result = _tune_json(capsys, *GRID, "--out", str(out))
    accuracies = [r["val_accuracy"] for r in result["results"]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert sorted((r["learning_rate"], r["alpha"]) for r in result["results"]) == [
        (0.01, 1e-4),
        (0.01, 0.1),
        (0.1, 1e-4),
        (0.1, 0.1),
    ]
    best = result["results"][0]
    assert (
        result["best"]["learning_rate"] == best["learning_rate"] and result["best"]["alpha"] == best["alpha"]
    )
    assert result["search"] == "grid" and result["model"] == str(out)
    model = linclass.load(out)
    assert (model.learning_rate, model.alpha) == (best["learning_rate"], best["alpha"])
    splits = prepare_data(TrainConfig(epochs=2))
    assert model.score(splits.X_val, splits.y_val) == best["val_accuracy"]
    assert result["best"]["accuracy"]["test"] == model.score(splits.X_test, splits.y_test)


def test_jobs_do_not_change_the_results_or_the_best_model(tmp_path, capsys):
    serial = _tune_json(capsys, *GRID, "--jobs", "1", "--out", str(tmp_path / "serial.npz"))
    parallel = _tune_json(capsys, *GRID, "--jobs", "2", "--out", str(tmp_path / "parallel.npz"))
    assert _without_seconds(parallel["results"]) == _without_seconds(serial["results"])
    assert parallel["best"] == serial["best"]
    serial_model, parallel_model = (
        linclass.load(tmp_path / "serial.npz"),
        linclass.load(tmp_path / "parallel.npz"),
    )
    np.testing.assert_array_equal(parallel_model.coef_, serial_model.coef_)
    np.testing.assert_array_equal(parallel_model.intercept_, serial_model.intercept_)


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    # tune writes best.npz into the working directory by default
    monkeypatch.chdir(tmp_path)


def test_text_output_has_progress_table_and_best_line(capsys, tmp_path):
    assert main(["tune", *GRID]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [f"trial   {k}/4" for k in (1, 2, 3, 4)]
    header = lines.index("rank  learning_rate     alpha  train_acc  val_acc  seconds")
    table = [line.split() for line in lines[header + 1 : header + 5]]
    assert [row[0] for row in table] == ["1", "2", "3", "4"]
    val = [float(row[4]) for row in table]
    assert val == sorted(val, reverse=True)
    assert lines[-2].startswith(f"best: learning rate {table[0][1]}, alpha {table[0][2]} (train ")
    assert lines[-1] == "best model written to best.npz"
    assert (tmp_path / "best.npz").is_file()


def test_quiet_prints_only_the_table(capsys):
    assert main(["tune", *GRID, "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rank  learning_rate") and len(lines) == 5


def test_ranges_mean_random_search(capsys):
    argv = [
        "--epochs",
        "1",
        "--lr-range",
        "1e-3:1e-1",
        "--alpha-range",
        "1e-5:1e-2",
        "--trials",
        "3",
        "--seed",
        "4",
    ]
    result = _tune_json(capsys, *argv)
    assert result["search"] == "random" and len(result["results"]) == 3
    for r in result["results"]:
        assert 1e-3 <= r["learning_rate"] <= 1e-1 and 1e-5 <= r["alpha"] <= 1e-2
    again = _tune_json(capsys, *argv)
    assert _without_seconds(again["results"]) == _without_seconds(result["results"])


def test_diverged_trials_are_null_in_json(capsys):
    result = _tune_json(capsys, "--epochs", "1", "--lr", "1e30,0.1", "--alpha", "1e-4")
    last = result["results"][-1]
    assert last["diverged"] is True and last["val_accuracy"] is None and last["learning_rate"] == 1e30
    assert not math.isnan(result["results"][0]["val_accuracy"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "0.1,fast"], "--lr: 'fast' is not a number"),
        (["--lr-range", "0.1"], "--lr-range: expected LOW:HIGH (e.g. 1e-4:1e-1), got '0.1'"),
        (["--alpha-range", "1:0.1"], "--alpha-range: expected 0 < LOW <= HIGH, got '1:0.1'"),
        (
            ["--lr-range", "1e-3:1e-1", "--search", "grid"],
            "learning_rates is a range (0.001:0.1) but search='grid' needs lists of values",
        ),
    ],
)
def test_bad_options_are_one_line_errors(argv, message, capsys):
    code = 1 if "search='grid'" in message else 2  # option values are usage errors
    assert main(["tune", "--epochs", "1", *argv]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"linclass tune: error: {message}") and err.count("\n") == 1


def test_exit_codes_from_a_real_process(tmp_path):
    out = tmp_path / "best.npz"
    command = [
        sys.executable,
        "-m",
        "linclass",
        "tune",
        "--epochs",
        "1",
        "--lr",
        "0.1",
        "--alpha",
        "1e-4,1e-3",
    ]
    ok = subprocess.run([*command, "--out", str(out), "-q"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == 3 and out.is_file()
    failed = subprocess.run([*command, "--jobs", "0"], capture_output=True, text=True, check=False)
    assert failed.returncode == 2
    assert failed.stderr == "linclass tune: error: --jobs must be -1 (every core) or >= 1, got 0\n"


def test_list_and_range_together_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["tune", "--lr", "0.1", "--lr-range", "1e-3:1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == "linclass tune: error: --lr-range: not allowed with --lr\n"
    with pytest.raises(SystemExit):
        main(["tune", "--learning-rate-range", "1e-3:1", "--lr", "0.1"])
    assert capsys.readouterr().err == "linclass tune: error: --lr: not allowed with --learning-rate-range\n"


def test_an_optimizer_without_a_learning_rate_cannot_be_tuned_and_ignored_options_are_refused(tmp_path, capsys):
    out = str(tmp_path / "never.npz")
    assert main(["tune", "--optimizer", "lbfgs", "--out", out]) == 2
    assert capsys.readouterr().err == (
        "linclass tune: error: --optimizer lbfgs takes no learning rate, but tune searches learning rates; "
        "choose an optimizer that has one\n"
    )
    assert main(["tune", "--optimizer", "adam", "--momentum", "0.5", "--out", out]) == 2
    assert capsys.readouterr().err == "linclass tune: error: --momentum 0.5 has no effect with --optimizer adam\n"
    assert not os.path.exists(out)
