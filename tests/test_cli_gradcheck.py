"""``linclass gradcheck`` and the objective gradient check behind it."""

import dataclasses
import itertools
import json
import subprocess
import sys

import numpy as np
import pytest

from linclass.cli import main
from linclass.gradcheck import (
    KINK_THRESHOLD,
    SMOOTH_THRESHOLD,
    check_objective_gradient,
    default_threshold,
    random_problem,
)
from linclass.losses import LOSSES, loss_names
from linclass.objective import Objective
from linclass.penalties import PENALTIES

SMOOTH = {"softmax", "squared_hinge", "ovr_squared_hinge"}


@pytest.mark.parametrize(("loss", "penalty"), list(itertools.product(loss_names("classification"), PENALTIES.names())))
def test_every_loss_and_penalty_passes(loss, penalty, capsys):
    assert main(["gradcheck", "--loss", loss, "--penalty", penalty, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    threshold = SMOOTH_THRESHOLD if loss in SMOOTH else KINK_THRESHOLD
    assert report["passed"] is True
    assert report["threshold"] == threshold
    assert report["W"]["max_rel_error"] < threshold and report["b"]["max_rel_error"] < threshold
    assert (report["W"]["n_checked"], report["b"]["n_checked"]) == (50, 5)
    assert report["penalty"] == penalty and report["loss"] == loss


@pytest.mark.parametrize("seed", range(5))
def test_smooth_losses_agree_far_below_the_threshold(seed):
    for loss, penalty in itertools.product(sorted(SMOOTH), PENALTIES.names()):
        objective = Objective(loss=loss, penalty=None if penalty == "none" else penalty, alpha=0.3)
        check = check_objective_gradient(objective, *random_problem(30, 7, 4, random_state=seed))
        assert max(check.W.max_rel_error, check.b.max_rel_error) < SMOOTH_THRESHOLD / 10, (loss, penalty)


def test_text_report_shows_both_parameters_and_the_verdict(capsys):
    assert main(["gradcheck", "--loss", "svm", "--penalty", "elasticnet", "--alpha", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(
        "objective: svm + 0.5 * elasticnet on 20 random examples (10 features), 5 classes, float64, "
    )
    assert lines[2].startswith("  W (10x5, 50 checked): max relative error ")
    assert lines[3].startswith("  b (5, 5 checked): max relative error ")
    assert lines[4].startswith("gradient check passed: max relative error ")
    assert lines[4].endswith("(< threshold 1e-04, hinge-type loss, with kinks)")


def test_quiet_prints_only_the_verdict(capsys):
    assert main(["gradcheck", "-q"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("gradient check passed") and line.endswith("(< threshold 1e-07, smooth loss)")


def _broken(fn, factor):
    def broken(*args, **kwargs):
        value, grad = fn(*args, **kwargs)
        return value, grad * factor

    return broken


def test_a_broken_loss_gradient_fails_with_exit_1(monkeypatch, capsys):
    spec = LOSSES.resolve("softmax")
    monkeypatch.setitem(LOSSES._entries, "softmax", dataclasses.replace(spec, fn=_broken(spec.fn, 1.01)))
    assert main(["gradcheck", "--loss", "softmax", "--backend", "numpy"]) == 1
    out = capsys.readouterr().out
    verdict = out.splitlines()[-1]
    assert verdict.startswith("gradient check FAILED: max relative error ")
    assert verdict.endswith("(not < threshold 1e-07, smooth loss)")
    error = float(verdict.split("max relative error ")[1].split()[0])
    assert 1e-3 < error < 0.5


def test_a_broken_fused_kernel_fails_with_exit_1(monkeypatch, capsys):
    pytest.importorskip("numba")
    from linclass.kernels import fused

    original = fused.linear_loss

    def broken(*args, **kwargs):
        result = original(*args, **kwargs)
        if result.grad_sums is None:
            return result
        dW, db = result.grad_sums
        return result._replace(grad_sums=(dW * 1.001, db))

    monkeypatch.setattr(fused, "linear_loss", broken)
    assert main(["gradcheck", "--loss", "svm", "--backend", "numba", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["backend"] == "numba"
    assert report["W"]["passed"] is False and report["b"]["passed"] is True


def test_a_broken_penalty_gradient_fails_only_for_w(monkeypatch, capsys):
    l2 = PENALTIES.resolve("l2")
    monkeypatch.setitem(PENALTIES._entries, "l2", dataclasses.replace(l2, fn=_broken(l2.fn, 1.5)))
    assert main(["gradcheck", "--loss", "svm", "--penalty", "l2", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is False
    assert report["W"]["passed"] is False and report["W"]["max_rel_error"] > 1e-2
    assert report["b"]["passed"] is True


def test_check_on_real_examples_with_sparse_coordinates(capsys):
    argv = [
        "gradcheck",
        "--loss",
        "softmax",
        "--data",
        "digits",
        "--samples",
        "12",
        "--sparse",
        "30",
        "--json",
    ]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True and report["n_samples"] == 12 and report["data"] == "digits"
    assert (report["W"]["n_checked"], report["b"]["n_checked"]) == (30, 10)
    assert 0 <= report["W"]["argmax"][0] < 64 and 0 <= report["W"]["argmax"][1] < 10


def test_same_seed_same_report_other_seed_other_point(capsys):
    def run(seed):
        assert main(["gradcheck", "--loss", "svm", "--seed", str(seed), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    first, again, other = run(4), run(4), run(5)
    assert first == {**again, "seed": 4}
    assert first["value"] != other["value"]


def test_check_leaves_the_parameters_untouched():
    (W, b), X, y = random_problem(random_state=0)
    W_before, b_before = W.copy(), b.copy()
    check_objective_gradient(Objective(loss="softmax"), (W, b), X, y)
    np.testing.assert_array_equal(W, W_before)
    np.testing.assert_array_equal(b, b_before)


def test_random_weights_stay_away_from_the_l1_kink():
    (W, b), X, y = random_problem(50, 16, 7, random_state=1)
    assert W.shape == (16, 7) and b.shape == (7,) and X.shape == (50, 16) and y.shape == (50,)
    assert np.abs(W).min() >= 0.5 / 4 and np.abs(W).max() <= 1.5 / 4
    assert X.dtype == np.float64 and set(np.unique(y)) <= set(range(7))


def test_default_thresholds_follow_smoothness():
    names = ("softmax", "squared_hinge", "ovr_squared_hinge", "svm", "crammer_singer")
    assert [default_threshold(LOSSES[name]) for name in names] == [
        1e-7,
        1e-7,
        1e-7,
        1e-4,
        1e-4,
    ]


def test_nan_gradient_fails():
    spec = LOSSES.resolve("softmax")
    (W, b), X, y = random_problem(random_state=0)

    class NanObjective(Objective):
        def value_and_grad(self, params, X, y):
            value, (dW, db) = super().value_and_grad(params, X, y)
            return value, (dW * np.nan, db)

    check = check_objective_gradient(NanObjective(loss=spec.name), (W, b), X, y)
    assert check.passed is False and np.isnan(check.W.max_rel_error) and check.b.passed


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--samples", "0"], "--samples must be >= 1, got 0"),
        (["--classes", "1"], "--classes must be >= 2, got 1"),
        (["--sparse", "0"], "--sparse must be >= 1, got 0"),
        (["--h", "-1"], "--h must be > 0, got -1"),
    ],
)
def test_bad_options_are_one_line_usage_errors_naming_the_flag(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gradcheck", *argv])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == f"linclass gradcheck: error: {message}\n"


def test_exit_codes_from_a_real_process():
    command = [sys.executable, "-m", "linclass", "gradcheck", "--loss", "squared_hinge", "--penalty", "l1"]
    ok = subprocess.run(command, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("gradient check passed")
    # a step of 1 makes the finite differences far too coarse for a smooth loss
    failed = subprocess.run(command + ["--h", "1", "-q"], capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert failed.stdout.startswith("gradient check FAILED: max relative error ")
    assert failed.stderr == ""


def test_unknown_loss_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["gradcheck", "--loss", "hinge"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("linclass gradcheck: error: --loss hinge: not one of the choices; ")


def test_the_dask_kernels_are_checked_on_the_cluster_given(dask_client, capsys):
    address = dask_client.scheduler.address
    args = ["gradcheck", "--loss", "svm", "--penalty", "elasticnet", "--json"]
    assert main([*args, "--scheduler", address]) == 0
    on_cluster = json.loads(capsys.readouterr().out)
    assert main([*args, "--backend", "numpy"]) == 0
    reference = json.loads(capsys.readouterr().out)
    assert on_cluster["backend"] == "dask" and reference["backend"] == "numpy"
    assert on_cluster["passed"] is True
    # the same objective, its chunk sums added on the workers
    np.testing.assert_allclose(on_cluster["value"], reference["value"], rtol=1e-12)
    np.testing.assert_allclose(on_cluster["W"]["analytic"], reference["W"]["analytic"], rtol=1e-10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--backend", "numpy", "--workers", "2"], "--workers checks the dask kernels, not --backend numpy; drop one"),
        (["--backend", "torch", "--scheduler", "tcp://127.0.0.1:9"],
         "--scheduler checks the dask kernels, not --backend torch; drop one"),
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:9"],
         "--scheduler: not allowed with --workers"),
    ],
)  # fmt: skip
def test_a_cluster_with_another_backend_is_a_usage_error(options, message, capsys):
    try:
        code = main(["gradcheck", *options])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"linclass gradcheck: error: {message}"
