"""Signals are always clean: bursts during the fused kernels, signals while data loads or the
final evaluation runs, and a "checkpoint saved" message only when one was written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import linclass.app.experiment as experiment
from linclass.app.config import TrainConfig
from linclass.cli import main
from linclass.cli.compile_notice import NOTICE
from linclass.estimator import LinearClassifier
from linclass.train.interrupts import Interrupted, deferred_interrupts


@pytest.fixture(autouse=True)
def restore_handlers():
    # the command line ignores the rest of a burst after an interruption, as a process on its way out
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
@pytest.mark.parametrize("loss", ["svm", "softmax"])
def test_bursts_of_two_signals_during_fused_kernels_stop_cleanly(tmp_path, loss):
    """Real ``linclass train`` processes get two signals microseconds apart, mid-epoch."""
    rng = np.random.default_rng(1 if loss == "svm" else 2)
    codes = {signal.SIGINT: 130, signal.SIGTERM: 143}
    for run in range(5):
        first, second = (signal.Signals(int(s)) for s in rng.choice([signal.SIGINT, signal.SIGTERM], size=2))
        args = ["train", "--loss", loss, "--epochs", "100000", "--batch-size", "16", "--out", str(tmp_path / "m.npz")]
        process = subprocess.Popen([sys.executable, "-m", "linclass", *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            assert process.stdout.readline().startswith("epoch "), process.stderr.read()
            time.sleep(rng.uniform(0.0, 0.05))
            process.send_signal(first)
            process.send_signal(second)
            _, stderr = process.communicate(timeout=120)
        finally:
            process.kill()
        # the first run on a fresh installation also says once that it compiles the kernels
        lines = [line for line in stderr.splitlines() if line != NOTICE]
        assert len(lines) == 1 and "Error" not in stderr, (run, stderr)
        # the lower-numbered of two pending signals is handled first (SIGINT = 2 before SIGTERM = 15)
        assert process.returncode in (codes[first], codes[second]), (run, process.returncode, stderr)
        word = "terminated" if process.returncode == 143 else "interrupted"
        assert lines[0].startswith(f"linclass train: {word}; nothing was saved"), stderr
    assert not (tmp_path / "m.npz").exists()


def _training_never_starts(monkeypatch, calls):
    def fit(self, *args, **kwargs):
        calls.append("fit")
        raise AssertionError("training started although a signal arrived while loading")

    monkeypatch.setattr(LinearClassifier, "fit", fit)


def test_a_signal_while_data_loads_is_honoured_at_once(monkeypatch):
    real = experiment.load_source

    def slow_load(spec):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # a slow disk: the signal must not wait for this
        return real(spec)

    calls = []
    monkeypatch.setattr(experiment, "load_source", slow_load)
    _training_never_starts(monkeypatch, calls)
    start = time.monotonic()
    with deferred_interrupts(), pytest.raises(Interrupted) as info:
        experiment.train_model(TrainConfig(epochs=1))
    assert info.value.signum == signal.SIGTERM and calls == []
    assert time.monotonic() - start < 5


def test_a_signal_during_the_final_evaluation_is_honoured(monkeypatch):
    scored = []
    real = LinearClassifier.score

    def slow_score(self, X, y):
        scored.append(len(y))
        if len(scored) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # raises here, before the first split is scored
        return real(self, X, y)

    monkeypatch.setattr(LinearClassifier, "score", slow_score)
    with deferred_interrupts(), pytest.raises(Interrupted) as info:
        experiment.train_model(TrainConfig(epochs=1))
    assert info.value.signum == signal.SIGINT and len(scored) == 1


def test_checkpoint_saved_is_said_only_when_this_run_wrote_one(tmp_path, monkeypatch, capsys):
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(b"an older run's checkpoint")
    before = ckpt.stat()

    def interrupted_load(spec):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(10)

    monkeypatch.setattr(experiment, "load_source", interrupted_load)
    code = main(["train", "--epochs", "1", "--checkpoint", str(ckpt), "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    assert code == 130 and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    assert err == f"linclass train: interrupted before a new checkpoint was written; {ckpt} is unchanged\n"
    assert ckpt.read_bytes() == b"an older run's checkpoint" and ckpt.stat().st_ino == before.st_ino


def test_no_checkpoint_option_says_nothing_was_saved(tmp_path, monkeypatch, capsys):
    def interrupted_load(spec):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)

    monkeypatch.setattr(experiment, "load_source", interrupted_load)
    assert main(["train", "--epochs", "1", "--out", str(tmp_path / "m.npz")]) == 143
    assert capsys.readouterr().err.startswith("linclass train: terminated; nothing was saved")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
