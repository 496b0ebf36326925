"""Numerics and faults across layers: defined results at the edges, nothing lost on a crash."""

import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import linclass
from linclass.app.experiment import load_checkpoint
from linclass.io import ModelFileError
from linclass.objective import Objective


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 12))
    y = rng.integers(0, 5, 64)
    return X, y


@pytest.mark.parametrize("loss, expected", [("softmax", np.log(5)), ("svm", 4.0), ("multi_margin", 4.0 / 5)])
def test_zero_weights_give_the_lectures_initial_loss(data, loss, expected):
    X, y = data
    objective = Objective(loss=loss, penalty="l2", alpha=1.0)
    params = (np.zeros((12, 5)), np.zeros(5))
    assert objective.value(params, X, y) == pytest.approx(expected, rel=1e-12)
    value, (dW, db) = objective.value_and_grad(params, X, y)
    assert value == pytest.approx(expected, rel=1e-12)
    assert dW.shape == (12, 5) and db.shape == (5,)


@pytest.mark.parametrize("loss", ["softmax", "svm", "squared_hinge", "crammer_singer", "multi_margin"])
@pytest.mark.parametrize("penalty", ["l2", "l1", "elasticnet", None])
def test_float32_and_float64_objectives_agree(data, loss, penalty):
    X, y = data
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(12, 5)) * 0.3, rng.normal(size=5) * 0.1
    objective = Objective(loss=loss, penalty=penalty, alpha=0.01)
    v64, (dW64, db64) = objective.value_and_grad((W, b), X, y)
    v32, (dW32, db32) = objective.value_and_grad((W.astype(np.float32), b.astype(np.float32)), X.astype(np.float32), y)
    assert dW32.dtype == np.float32 and db32.dtype == np.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(dW32, dW64, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(db32, db64, rtol=1e-4, atol=1e-5)


def test_extreme_scores_give_finite_training_steps():
    X = np.array([[1e4, -1e4], [-1e4, 1e4]], dtype=np.float64)
    y = np.array([0, 1])
    objective = Objective(loss="softmax", penalty=None)
    value, (dW, db) = objective.value_and_grad((np.array([[1.0, -1.0], [-1.0, 1.0]]), np.zeros(2)), X, y)
    assert value == 0.0
    assert np.isfinite(dW).all() and np.isfinite(db).all()


def test_a_flipped_byte_anywhere_is_refused_or_harmless(tmp_path):
    """Every byte of a model file is covered: a flip is detected, or it touched only zip
    bookkeeping (timestamps, attributes) and the model loads unchanged — never a silent change."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "m.npz"
    model = linclass.LinearClassifier(random_state=0, epochs=2).fit(X, y)
    model.save(path)
    original = path.read_bytes()
    expected = model.decision_function(X)
    refused = 0
    for position in range(0, len(original), 7):
        corrupt = bytearray(original)
        corrupt[position] ^= 0x10
        path.write_bytes(bytes(corrupt))
        try:
            loaded = linclass.load(path)
        except ModelFileError as exc:
            assert str(path) in str(exc)
            refused += 1
            continue
        np.testing.assert_array_equal(loaded.decision_function(X), expected)
    assert refused > 0.8 * len(range(0, len(original), 7))


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_a_loadable_checkpoint(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    args = [sys.executable, "-m", "linclass", "train", "--epochs", "400", "--batch-size", "16", "--quiet",
            "--checkpoint", str(ckpt), "--checkpoint-every", "1", "--out", str(tmp_path / "m.npz")]
    rng = random.Random(0)
    epochs_seen = []
    for _ in range(8):
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not ckpt.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        config, state = load_checkpoint(ckpt)
        assert config.epochs == 400
        epochs_seen.append(state.epoch)
        ckpt.unlink()
    assert all(epoch >= 1 for epoch in epochs_seen)
    assert len(set(epochs_seen)) > 1
