"""The compiled minibatch loop against the Python reference loop: same weights, same history.

Every run here is made twice, ``loop="python"`` and ``loop="compiled"`` (which raises unless the
compiled loop really runs it). The weights agree bit for bit: the compiled steps compute the
gradient with the fused kernel the reference calls and update in the reference's operations
and rounding. Per-epoch losses agree to float rounding (the reference sums the penalty in
float32 BLAS, the kernel in float64).
"""

import os
import signal

import numpy as np
import pytest

from linclass.kernels import NumpyKernels, epoch
from linclass.objective import Objective
from linclass.optim import OPTIMIZERS, SCHEDULES, adam, sgd
from linclass.preprocess import Affine
from linclass.train import DivergenceError, fit
from linclass.train import compiled as compiled_module
from linclass.train.interrupts import Interrupted, deferred_interrupts
from problems import linear_problem

LOSSES = ["softmax", "svm", "squared_hinge", "multi_margin", "crammer_singer", "ovr_squared_hinge", "squared_error"]
PENALTIES = ["none", "l2", "l1", "elasticnet"]
OPTIMIZERS_COVERED = {
    "sgd": lambda: sgd(0.05),
    "momentum": lambda: sgd(0.05, momentum=0.9),
    "nesterov": lambda: sgd(0.05, momentum=0.8, nesterov=True),
    "adam": lambda: adam(0.01),
}
SCHEDULE_OPTIONS = {"constant": {}, "step": {"step_size": 1, "gamma": 0.5}, "exponential": {"decay_rate": 0.7},
                    "inverse_time": {"decay_rate": 0.5}, "cosine": {"decay_steps": 3}}


def _both(objective, X, y, params, **kwargs):
    kwargs = {"epochs": 3, "batch_size": 16, "random_state": 3, **kwargs}
    reference = fit(objective, params, X, y, loop="python", **kwargs)
    fast = fit(objective, params, X, y, loop="compiled", **kwargs)
    return reference, fast


def _assert_same(reference, fast):
    for a, b in zip(reference.params, fast.params, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert sorted(reference.history) == sorted(fast.history)
    for key, values in reference.history.items():
        if key == "time":
            continue
        if key in ("train_accuracy", "n_evaluations"):
            assert values == fast.history[key], key
        else:
            np.testing.assert_allclose(fast.history[key], values, rtol=1e-6, atol=1e-9, err_msg=key)
    assert reference.state.n_steps == fast.state.n_steps


def _assert_same_bits(expected, run):
    """The same weights bit for bit and the same loss history."""
    for a, b in zip(expected.params, run.params, strict=True):
        np.testing.assert_array_equal(a, b)
    assert run.history["loss"] == expected.history["loss"]


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS_COVERED))
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("penalty", PENALTIES)
def test_every_optimizer_loss_and_penalty_gives_the_reference_weights(optimizer, loss, penalty):
    X, y, W, b, _ = linear_problem(loss, np.float32, np.float32, n=70)
    objective = Objective(loss, penalty, alpha=0.02, l1_ratio=0.3)
    reference, fast = _both(objective, X, y, (W, b), optimizer=OPTIMIZERS_COVERED[optimizer]())
    _assert_same(reference, fast)
    assert not np.array_equal(reference.params[0], W)  # it trained


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_every_schedule_gives_the_reference_weights(schedule, name):
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=64)
    built = OPTIMIZERS[name].build(learning_rate=0.05, schedule=schedule, schedule_options=SCHEDULE_OPTIONS[schedule],
                                   steps_per_epoch=4, momentum=0.5)  # fmt: skip
    _assert_same(*_both(Objective("softmax"), X, y, (W, b), optimizer=built, epochs=4))


def test_a_callable_schedule_of_the_step_count_gives_the_reference_weights():
    X, y, W, b, _ = linear_problem("svm", np.float32, np.float32)
    _assert_same(*_both(Objective("svm"), X, y, (W, b), optimizer=sgd(lambda count: 0.1 / (1 + count))))


@pytest.mark.parametrize("x_dtype", [np.uint8, np.float64, np.int16])
@pytest.mark.parametrize("w_dtype", [np.float32, np.float64])
def test_input_dtypes_class_weights_and_folded_preprocessing(x_dtype, w_dtype):
    X, y, W, b, class_weight = linear_problem("softmax", x_dtype, w_dtype, weighted=True)
    rng = np.random.default_rng(1)
    transform = Affine(rng.uniform(0, 100, X.shape[1]), rng.uniform(1e-3, 1e-2, X.shape[1]), "center-scale")
    objective = Objective("squared_hinge", "elasticnet", alpha=0.01, class_weight=class_weight, transform=transform)
    reference, fast = _both(objective, X, y, (W, b), optimizer=sgd(0.02, momentum=0.9))
    _assert_same(reference, fast)
    assert fast.params[0].dtype == w_dtype


def test_training_rows_validation_early_stopping_and_a_last_short_batch():
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=90)
    rows = np.arange(3, 80)[::-1]  # 77 rows: batches of 16 end with one of 13
    kwargs = dict(optimizer=adam(0.05), rows=rows, X_val=X[80:], y_val=y[80:], early_stopping=True,
                  n_iter_no_change=2, epochs=8)  # fmt: skip
    reference, fast = _both(Objective("softmax", "l2", alpha=1e-3), X, y, (W, b), **kwargs)
    _assert_same(reference, fast)
    assert reference.best_epoch == fast.best_epoch


def test_the_calls_boundaries_change_nothing(monkeypatch):
    X, y, W, b, _ = linear_problem("multi_margin", np.float32, np.float32, n=100)
    kwargs = dict(optimizer=sgd(0.05, momentum=0.9), epochs=2, batch_size=8, random_state=0, loop="compiled")
    whole = fit(Objective("multi_margin"), (W, b), X, y, **kwargs)
    calls = []
    original = epoch.run_steps
    monkeypatch.setattr(epoch, "run_steps", lambda *a: calls.append(a[-4]) or original(*a))
    monkeypatch.setattr(compiled_module, "CALL_SECONDS", 0.0)  # one step per call
    stepwise = fit(Objective("multi_margin"), (W, b), X, y, **kwargs)
    assert calls == [1] * 26
    _assert_same_bits(whole, stepwise)


def test_same_seed_same_bits_and_a_resumed_interruption_is_the_uninterrupted_run(monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.uint8, np.float32, n=100)
    objective = Objective("softmax", "l2", alpha=1e-3)
    kwargs = dict(batch_size=16, random_state=5, epochs=3, loop="compiled")
    first = fit(objective, (W, b), X, y, optimizer=adam(lambda count: 1e-3), **kwargs)
    again = fit(objective, (W, b), X, y, optimizer=adam(lambda count: 1e-3), **kwargs)

    def rate(count):  # read by the compiled loop when it prepares a call's steps
        if count == 10:
            raise KeyboardInterrupt
        return 1e-3

    monkeypatch.setattr(compiled_module, "CALL_SECONDS", 0.0)  # one step per call
    saved = []
    with pytest.raises(KeyboardInterrupt):
        fit(objective, (W, b), X, y, optimizer=adam(rate), checkpoint=saved.append, **kwargs)
    assert [(state.epoch, state.step) for state in saved] == [(1, 3)]  # 7 steps per epoch
    resumed = fit(objective, None, X, y, optimizer=adam(lambda count: 1e-3), resume=saved[0], **kwargs)
    for run in (again, resumed):
        _assert_same_bits(first, run)


def test_a_signal_stops_at_a_step_boundary_and_the_resumed_run_has_the_same_bits(monkeypatch):
    X, y, W, b, _ = linear_problem("svm", np.float32, np.float32, n=120)
    objective = Objective("svm", "l1", alpha=1e-3)
    kwargs = dict(batch_size=8, random_state=2, epochs=2, loop="compiled")
    whole = fit(objective, (W, b), X, y, optimizer=sgd(lambda count: 0.02, momentum=0.5), **kwargs)

    def rate(count):  # read by the compiled loop when it prepares a call's steps
        if count == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return 0.02

    monkeypatch.setattr(compiled_module, "CALL_SECONDS", 0.0)
    saved = []
    with deferred_interrupts(), pytest.raises(Interrupted):
        fit(objective, (W, b), X, y, optimizer=sgd(rate, momentum=0.5), checkpoint=saved.append, **kwargs)
    assert [(state.epoch, state.step) for state in saved] == [(0, 6)]  # the step under way completed
    resumed = fit(objective, None, X, y, optimizer=sgd(lambda count: 0.02, momentum=0.5), resume=saved[0],
                  **kwargs)
    _assert_same_bits(whole, resumed)


@pytest.mark.parametrize(("loss", "rate", "what"), [("squared_error", 1.0, "epoch 6, step 5: loss is inf"),
                                                  ("svm", 3e38, "epoch 1, step 1: the weights are not finite")])
def test_divergence_is_reported_as_by_the_reference(loss, rate, what):
    X, y, W, b, _ = linear_problem(loss, np.float32, np.float32)
    errors = []
    for loop in ("python", "compiled"):
        with pytest.raises(DivergenceError) as info, np.errstate(all="ignore"):
            fit(Objective(loss, None), (W, b), X, y, optimizer=sgd(rate), epochs=50, batch_size=8, random_state=0,
                loop=loop)  # fmt: skip
        errors.append((str(info.value), info.value.params[0].tolist()))
    assert errors[0] == errors[1]
    assert errors[0][0].startswith(f"training diverged at {what}")


def test_an_invalid_label_raises_the_reference_error():
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32)
    y = y.copy()
    y[40] = 9
    messages = []
    for loop in ("python", "compiled"):
        with pytest.raises(ValueError) as info:
            fit(Objective("softmax"), (W, b), X, y, optimizer=sgd(0.1), batch_size=8, random_state=0, loop=loop)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_auto_uses_the_compiled_loop_unless_asked_not_to(monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32)
    calls = []
    original = epoch.run_steps
    monkeypatch.setattr(epoch, "run_steps", lambda *a: calls.append(1) or original(*a))
    fit(Objective("softmax"), (W, b), X, y, optimizer=sgd(0.1), epochs=1)
    assert calls == [1]
    fit(Objective("softmax"), (W, b), X, y, optimizer=sgd(0.1), epochs=1, loop="python")
    monkeypatch.setenv("LINCLASS_PYTHON_LOOP", "1")
    fit(Objective("softmax"), (W, b), X, y, optimizer=sgd(0.1), epochs=1)
    assert calls == [1]
    fit(Objective("softmax"), (W, b), X, y, optimizer=sgd(0.1), epochs=1, loop="compiled")
    assert calls == [1, 1]


@pytest.mark.parametrize(
    ("objective", "optimizer", "kwargs", "reason"),
    [
        (Objective("softmax", kernels=NumpyKernels()), sgd(0.1), {}, "the objective's kernels are NumpyKernels"),
        (Objective("softmax"), "gd", {}, "it runs no minibatch steps"),
        (Objective("softmax"), sgd(0.1), {"batch_size": None}, "it runs no minibatch steps"),
        (Objective("softmax"), "random_search", {}, "it runs no minibatch steps"),
        (Objective("softmax"), sgd(0.1), {"X": np.asfortranarray}, "the fused kernels do not take these inputs"),
        (Objective("softmax"), sgd(0.1), {"y": lambda y: y.astype(np.float64)},
         "the fused kernels do not take these inputs"),
    ],
)
def test_loop_compiled_names_what_it_does_not_cover(objective, optimizer, kwargs, reason):
    X, y, W, b, _ = linear_problem("softmax", np.float64, np.float64)
    X = kwargs.pop("X", lambda X: X)(X)
    y = kwargs.pop("y", lambda y: y)(y)
    with pytest.raises(ValueError, match=f"^loop='compiled' cannot run this training: {reason}"):
        fit(objective, (W, b), X, y, optimizer=optimizer, loop="compiled", **kwargs)


def test_a_bad_loop_value_is_refused():
    X, y, W, b, _ = linear_problem("softmax", np.float64, np.float64)
    with pytest.raises(ValueError, match=r"^loop must be one of \['auto', 'python', 'compiled'\], got 'numba'$"):
        fit(Objective("softmax"), (W, b), X, y, loop="numba")


@pytest.mark.parametrize("loop", ["python", "compiled"])
def test_a_signal_in_an_epochs_last_step_stops_after_the_epoch_is_recorded(loop):
    X, y, W, b, _ = linear_problem("svm", np.float32, np.float32, n=120)  # 15 steps of 8 per epoch

    def rate(count):  # the compiled loop reads the whole first epoch's rates before its first step
        if count == 14:
            os.kill(os.getpid(), signal.SIGTERM)
        return 0.02

    saved = []
    with deferred_interrupts(), pytest.raises(Interrupted):
        fit(Objective("svm"), (W, b), X, y, optimizer=sgd(rate), checkpoint=saved.append, batch_size=8, epochs=3,
            random_state=0, loop=loop)  # fmt: skip
    assert [(state.epoch, state.step, len(state.history["loss"])) for state in saved] == [(1, 0, 1)]
