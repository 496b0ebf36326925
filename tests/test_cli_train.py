"""``linclass train`` driven as a user would: output, model files, checkpoints, interrupts."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import linclass
from linclass.cli import main
from linclass.io import read_bundle


def run_cli(*args, cwd=None, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "linclass", *args], capture_output=True, text=True, cwd=cwd, timeout=300, **kwargs
    )


def test_train_without_arguments_trains_digits_and_writes_a_model(tmp_path):
    result = run_cli("train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("epoch   1/20  loss ")
    assert "val acc" in lines[0]
    test_line = [line for line in lines if line.startswith("test accuracy:")][0]
    assert float(test_line.split()[-1]) > 0.9
    assert "model written to model.npz" in lines[-1]
    model = linclass.load(tmp_path / "model.npz")
    assert model.image_shape_ == (8, 8)
    assert model.class_names_ == tuple(str(d) for d in range(10))
    assert len(model.history_["loss"]) == 20


def test_train_json_reports_every_split(tmp_path, capsys):
    out = tmp_path / "m.npz"
    code = main(["train", "--epochs", "3", "--loss", "svm", "--json", "--out", str(out)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["loss"] == "svm" and report["epochs"] == 3
    assert set(report["accuracy"]) == {"train", "val", "test"}
    assert 0.8 < report["accuracy"]["test"] <= 1.0
    assert out.exists()


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "gd", "lbfgs", "random_search", "genetic"])
def test_train_accepts_every_optimizer_and_runs_as_long_as_told(tmp_path, capsys, optimizer):
    length = ["--max-iter", "2"] if optimizer == "lbfgs" else ["--epochs", "2"]
    code = main(["train", "--optimizer", optimizer, *length, "--json", "--out", str(tmp_path / "m.npz")])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["optimizer"], report["epochs"]) == (optimizer, 2)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        # L-BFGS counts iterations: --epochs used to be accepted and ignored (the run went on to convergence)
        (["--optimizer", "lbfgs", "--epochs", "3"],
         "--epochs 3 has no effect with --optimizer lbfgs (it runs at most --max-iter iterations)"),
        (["--max-iter", "3"], "--max-iter 3 has no effect with --optimizer sgd"),
        (["--optimizer", "adam", "--momentum", "0.5"], "--momentum 0.5 has no effect with --optimizer adam"),
        (["--optimizer", "gd", "--batch-size", "8"], "--batch-size 8 has no effect with --optimizer gd"),
        (["--optimizer", "genetic", "--schedule", "step"], "--schedule step has no effect with --optimizer genetic"),
        (["--l1-ratio", "0.5"], "--l1-ratio 0.5 has no effect with --penalty l2"),
        (["--patience", "2", "--val-fraction", "0.2"], "--patience 2 has no effect without --early-stopping"),
        (["--optimizer", "lbfgs", "--lr", "0.1", "--penalty", "none"],
         "--lr 0.1 has no effect with --optimizer lbfgs"),
    ],
)  # fmt: skip
def test_options_the_run_would_ignore_are_refused_before_any_work(tmp_path, capsys, options, message):
    out = tmp_path / "m.npz"
    assert main(["train", "--data", "cifar10:/nonexistent", *options, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"linclass train: error: {message}\n"
    assert not out.exists()


def test_max_iter_limits_lbfgs_and_epochs_count_its_lines(tmp_path, capsys):
    assert main(["train", "--optimizer", "lbfgs", "--max-iter", "4", "--out", str(tmp_path / "m.npz")]) == 0
    out, err = capsys.readouterr()
    assert [line[:11] for line in out.splitlines()[:4]] == [f"epoch   {k}/4" for k in range(1, 5)]
    assert linclass.load(tmp_path / "m.npz").n_iter_ == 4
    # the unconverged run's warning is one line naming the command, not a source line
    assert err.startswith("linclass train: warning: LinearClassifier(optimizer='lbfgs') did not converge: "
                          "max_iter=4 was reached") and err.count("\n") == 1, err  # fmt: skip


def test_usage_errors_exit_2_and_runtime_errors_exit_1(tmp_path):
    bad_choice = run_cli("train", "--loss", "hinge", cwd=tmp_path)
    assert bad_choice.returncode == 2
    assert bad_choice.stderr == (
        "linclass train: error: --loss hinge: not one of the choices; expected one of crammer_singer, "
        "multi_margin, ovr_squared_hinge, softmax, squared_hinge, svm\n"
    )
    bad_lr = run_cli("train", "--lr", "-1", cwd=tmp_path)
    assert bad_lr.returncode == 2
    assert bad_lr.stderr == "linclass train: error: --lr must be > 0, got -1\n"
    missing = run_cli("train", "--data", "cifar10:/nonexistent/dir", cwd=tmp_path)
    assert missing.returncode == 1
    assert len(missing.stderr.strip().splitlines()) == 1 and "/nonexistent/dir" in missing.stderr
    assert "Traceback" not in missing.stderr
    debug = run_cli("train", "--data", "cifar10:/nonexistent/dir", "--debug", cwd=tmp_path)
    assert "Traceback" in debug.stderr


def test_help_shows_an_example():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    assert "linclass train --resume run.ckpt" in result.stdout


def _slow_run_args(out, epochs, *extra):
    # Small batches and many epochs make the run last a few seconds, long enough to interrupt.
    return ["train", "--epochs", str(epochs), "--batch-size", "8", "--seed", "3", "--quiet", "--out", str(out), *extra]


def _wait_for(path, process, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, "training ended before the first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.01)


# The compiled loop runs an epoch of digits in about 1.5 ms, so it needs more epochs than the
# Python loop to still be training when the signal comes (a checkpoint per epoch costs ~10 ms).
LOOPS = {"compiled": ({}, 400), "python": ({"LINCLASS_PYTHON_LOOP": "1"}, 60)}


@pytest.mark.slow
@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_run_resumes_to_bit_identical_weights(tmp_path, sig, code, loop):
    extra_env, epochs = LOOPS[loop]
    env = {**os.environ, **extra_env}
    straight = tmp_path / "straight.npz"
    assert run_cli(*_slow_run_args(straight, epochs), env=env).returncode == 0

    ckpt = tmp_path / "run.ckpt"
    interrupted = tmp_path / "interrupted.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "linclass", *_slow_run_args(interrupted, epochs, "--checkpoint", str(ckpt))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _wait_for(ckpt, process)
    time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "checkpoint saved" in stderr
    assert not interrupted.exists()
    _, meta = read_bundle(ckpt, kind="checkpoint")
    assert 0 < meta["state"]["epoch"] < epochs

    resumed = run_cli("train", "--resume", str(ckpt), "--quiet", "--out", str(interrupted), env=env)
    assert resumed.returncode == 0, resumed.stderr
    a, b = linclass.load(straight), linclass.load(interrupted)
    assert a.params_[0].tobytes() == b.params_[0].tobytes()
    assert a.params_[1].tobytes() == b.params_[1].tobytes()
    assert a.history_["loss"] == b.history_["loss"]


def test_resume_refuses_corrupt_checkpoint(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    assert main(["train", "--epochs", "2", "--quiet", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.npz")]) == 0
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    result = run_cli("train", "--resume", str(ckpt))
    assert result.returncode == 1
    assert "checksum mismatch" in result.stderr or "corrupt" in result.stderr
    ckpt.write_bytes(bytes(data[: len(data) // 3]))
    result = run_cli("train", "--resume", str(ckpt))
    assert result.returncode == 1 and str(ckpt) in result.stderr


def test_model_file_is_not_a_checkpoint(tmp_path):
    model = tmp_path / "m.npz"
    assert main(["train", "--epochs", "1", "--quiet", "--out", str(model)]) == 0
    result = run_cli("train", "--resume", str(model))
    assert result.returncode == 1
    assert "model" in result.stderr and "checkpoint" in result.stderr
    np.testing.assert_array_equal(linclass.load(model).classes_, np.arange(10))
    assert os.path.getsize(model) > 0


def test_train_on_a_torch_device_and_a_missing_device_is_a_usage_error(tmp_path):
    torch = pytest.importorskip("torch")
    result = run_cli("train", "--device", "cpu", "--epochs", "2", "--quiet", "--out", "m.npz", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    on_cpu_kernels = run_cli("train", "--epochs", "2", "--quiet", "--out", "n.npz", cwd=tmp_path)
    assert on_cpu_kernels.returncode == 0, on_cpu_kernels.stderr
    torch_model, cpu_model = linclass.load(tmp_path / "m.npz"), linclass.load(tmp_path / "n.npz")
    np.testing.assert_allclose(torch_model.coef_, cpu_model.coef_, rtol=1e-4, atol=1e-5)
    if not torch.cuda.is_available():
        missing = run_cli("train", "--device", "cuda", cwd=tmp_path)
        assert missing.returncode == 2
        assert missing.stderr.startswith("linclass train: error: --device cuda needs a CUDA GPU, but none is available")
        assert len(missing.stderr.splitlines()) == 1
    unknown = run_cli("train", "--device", "gpu0", cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr == (
        "linclass train: error: device='gpu0' is not a torch device; expected 'cpu', 'cuda' or 'cuda:N'\n"
    )
