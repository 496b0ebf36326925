"""Batches cut into parts: the compiled loop's helper threads against the Python reference loop.

``PARTS_MIN_WORK`` is lowered so that the small problems here are cut into 2-4 parts (on a
machine of any size: the kernels' thread count is set). The compiled steps must give the
reference's weights bit for bit whoever computes each part: with helpers, and with no helper
ever starting (every part on the calling thread).
"""

import threading

import numpy as np
import pytest

from linclass.kernels import epoch, fused, limit_threads, parts
from linclass.objective import Objective
from linclass.optim import adam, sgd
from linclass.preprocess import Affine
from linclass.train import compiled as compiled_module
from linclass.train import fit
from problems import linear_problem


class _NeverStarted:
    """A helper the pool never got to run (a loaded machine): ``cancel`` succeeds."""

    def cancel(self):
        return True


def _fit(objective, X, y, params, loop, **kwargs):
    kwargs = {"epochs": 2, "batch_size": 32, "random_state": 1, "optimizer": sgd(0.05, momentum=0.9), **kwargs}
    return fit(objective, params, X, y, loop=loop, **kwargs)


def _equal(a, b):
    for left, right in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(left, right)
    assert a.history["loss"] == pytest.approx(b.history["loss"], rel=1e-6)
    assert a.history.get("train_accuracy") == b.history.get("train_accuracy")


@pytest.fixture
def cut_small_batches(monkeypatch):
    """32-row batches of 19 features and 4 classes (2,432 multiply-adds) are cut into parts."""
    monkeypatch.setattr(fused, "PARTS_MIN_WORK", 500)


@pytest.mark.parametrize("n_threads", [2, 3, 4])
@pytest.mark.parametrize(
    ("loss", "penalty", "optimizer", "x_dtype"),
    [
        ("softmax", "l2", sgd(0.05, momentum=0.9), np.uint8),
        ("svm", "l1", sgd(0.05, momentum=0.8, nesterov=True), np.float32),
        ("multi_margin", "elasticnet", adam(0.01), np.float64),
        ("squared_error", "none", sgd(0.02), np.float32),
    ],
)
def test_parts_give_the_reference_weights(cut_small_batches, n_threads, loss, penalty, optimizer, x_dtype):
    X, y, W, b, _ = linear_problem(loss, x_dtype, np.float32, n=200)
    transform = Affine(np.full(19, 0.5), np.linspace(0.5, 2.0, 19)) if x_dtype == np.uint8 else None
    objective = Objective(loss, penalty, alpha=0.01, transform=transform)
    with limit_threads(n_threads):
        assert fused.n_parts_for(32, 19, 4) == n_threads
        reference = _fit(objective, X, y, (W, b), "python", optimizer=optimizer)
        fast = _fit(objective, X, y, (W, b), "compiled", optimizer=optimizer)
        again = _fit(objective, X, y, (W, b), "compiled", optimizer=optimizer)
    _equal(reference, fast)
    _equal(fast, again)


def test_the_cut_changes_the_rounding_and_only_the_cut_does(cut_small_batches, monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=200)
    objective = Objective("softmax", "l2", alpha=0.01)
    with limit_threads(2):
        helped = _fit(objective, X, y, (W, b), "compiled")
        monkeypatch.setattr(compiled_module, "submit", lambda *args: _NeverStarted())
        alone = _fit(objective, X, y, (W, b), "compiled")
    with limit_threads(1):
        uncut = _fit(objective, X, y, (W, b), "compiled")
    _equal(helped, alone)  # the calling thread computed every part itself: same bits
    assert not np.array_equal(helped.params[0], uncut.params[0])  # 2 parts add in another order
    np.testing.assert_allclose(helped.params[0], uncut.params[0], rtol=1e-5, atol=1e-6)


def test_auto_runs_batches_cut_into_parts_in_the_compiled_loop(cut_small_batches, monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=64)
    calls = []
    original = epoch.run_steps
    monkeypatch.setattr(epoch, "run_steps", lambda *a: calls.append(1) or original(*a))
    with limit_threads(2):
        _fit(Objective("softmax"), X, y, (W, b), "auto", batch_size=32)
    assert len(calls) >= 2  # at least a call per epoch (the first ones are short: both ways are measured)


def test_the_python_loop_gives_the_same_bits_on_threads_and_on_one_thread(monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.uint8, np.float32, n=400)
    monkeypatch.setattr(fused, "PARTS_MIN_WORK", 1000)
    with limit_threads(2):
        serial = fused.linear_loss(X, y, W, b, loss=Objective("softmax").loss)
        monkeypatch.setattr(fused, "THREAD_MIN_WORK", 1)
        threaded = fused.linear_loss(X, y, W, b, loss=Objective("softmax").loss)
    assert serial.loss_sum == threaded.loss_sum
    for a, b_ in zip(serial.grad_sums, threaded.grad_sums, strict=True):
        np.testing.assert_array_equal(a, b_)


def test_helpers_compute_claimed_parts_and_leave_when_told():
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=103)
    order = np.arange(103)[::-1].copy()
    labels, targets, weight, *_ = fused.loss_inputs(y[order], W, Objective("softmax").loss, None, None)
    shared = parts.new_shared(4, 19, np.dtype(np.float32), 3)
    shared[1][:], shared[2][:] = W.T, b
    helper = threading.Thread(target=parts.help_steps, args=(shared, X, order, labels, targets, weight, 0))
    helper.start()
    try:
        for start, stop in [(0, 103), (10, 50), (97, 103)]:
            count = parts.share_rows(shared, X, order, labels, targets, weight, 0, start, stop, 3)
            step = parts.part_step(stop - start, 3)
            assert count == -(-(stop - start) // step)
            for part in range(count):
                dWt, db = np.zeros((4, 19), np.float32), np.zeros(4, np.float32)
                first = start + part * step
                total, correct, status = fused.loss_rows(
                    X, order, labels, targets, shared[1], shared[2], weight, 0, True, first,
                    min(stop, first + step), dWt, db,
                )
                np.testing.assert_array_equal(shared[3][part], dWt)
                np.testing.assert_array_equal(shared[4][part], db)
                assert (shared[5][part], *shared[6][part]) == (total, correct, status)
    finally:
        parts.stop_helpers(shared[0])
        helper.join(timeout=10)
    assert not helper.is_alive()
    assert shared[0][parts.GENERATION] == -1


def test_part_buffers_are_limited():
    with pytest.raises(ValueError, match=r"^max_parts must be in 1\.\.1024, got 0$"):
        parts.new_shared(4, 19, np.dtype(np.float32), 0)


def test_helpers_start_when_they_were_measured_faster_and_the_other_way_is_retried():
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=64)
    steps = compiled_module.CompiledSteps.build(Objective("softmax"), sgd(0.1), X, y, (W, b), 32)
    assert steps.use_helpers() is False  # measure both ways first
    steps.seconds_per_step[False] = 2e-4
    assert steps.use_helpers() is True
    steps.seconds_per_step[True] = 1e-4
    choices = [steps.use_helpers() for _ in range(2 * compiled_module.RETRY_EVERY)]
    assert choices.count(False) == 2 and choices[compiled_module.RETRY_EVERY - 3] is False
    steps.seconds_per_step.update({False: 1e-4, True: 2e-4})
    assert steps.use_helpers() is False


def test_the_first_calls_of_a_cut_run_are_short_and_measure_both_ways(cut_small_batches, monkeypatch):
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=200)  # 7 steps of 32 per epoch
    submitted, calls = [], []
    original_submit, original_run = compiled_module.submit, epoch.run_steps
    monkeypatch.setattr(compiled_module, "submit", lambda *a: submitted.append(1) or original_submit(*a))
    monkeypatch.setattr(epoch, "run_steps", lambda *a: calls.append((a[-4], len(submitted))) or original_run(*a))
    with limit_threads(2):
        _fit(Objective("softmax"), X, y, (W, b), "compiled", epochs=1)
    assert calls[:2] == [(4, 0), (3, 1)]  # a few steps alone, the rest of the epoch with a helper
    assert sum(n_steps for n_steps, _ in calls) == 7


def test_the_helpers_loop_is_compiled_on_the_calling_thread_before_any_helper_starts(
    cut_small_batches, monkeypatch
):
    """A helper thread that compiled the loop itself would hold the GIL for the whole compilation
    while the steps run; the first helped call compiles (or loads) it first, once per run."""
    X, y, W, b, _ = linear_problem("softmax", np.float32, np.float32, n=200)
    compiled_when_submitted, compilations = [], []
    original_submit, original_compile = compiled_module.submit, compiled_module.CompiledSteps._compile_helpers

    def submit(function, *args):
        compiled_when_submitted.append(len(function.signatures) > 0)
        return original_submit(function, *args)

    def compile_helpers(self, *args):
        compilations.append(threading.current_thread() is threading.main_thread())
        return original_compile(self, *args)

    monkeypatch.setattr(compiled_module, "submit", submit)
    monkeypatch.setattr(compiled_module.CompiledSteps, "_compile_helpers", compile_helpers)
    with limit_threads(2):
        _fit(Objective("softmax"), X, y, (W, b), "compiled", epochs=3)
    assert compilations == [True]
    assert compiled_when_submitted and all(compiled_when_submitted)


@pytest.mark.parametrize(("n_slices", "n_classes"), [(1, 4), (2, 4), (2, 3), (3, 10), (4, 4), (3, 7)])
def test_the_slices_of_classes_cover_every_class_once_in_order(n_slices, n_classes):
    bounds = [epoch.slice_classes(s, n_slices, n_classes) for s in range(n_slices)]
    assert bounds[0][0] == 0 and bounds[-1][1] == n_classes
    assert all(left[1] == right[0] for left, right in zip(bounds[:-1], bounds[1:], strict=True))
    sizes = [c1 - c0 for c0, c1 in bounds]
    assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("n_classes", [3, 5])
@pytest.mark.parametrize("n_threads", [2, 4])
def test_classes_that_do_not_divide_into_the_slices_still_give_the_reference_weights(
    cut_small_batches, n_threads, n_classes
):
    """A step cut into parts is finished in min(parts, classes) slices of classes: 3 classes on 4
    threads is 3 slices of one, 5 on 2 threads slices of 2 and 3."""
    X, y, W, b, _ = linear_problem("softmax", np.uint8, np.float32, n=200, n_classes=n_classes)
    transform = Affine(np.full(19, 0.5), np.linspace(0.5, 2.0, 19))
    objective = Objective("softmax", "elasticnet", alpha=0.01, transform=transform)
    with limit_threads(n_threads):
        reference = _fit(objective, X, y, (W, b), "python", optimizer=adam(0.01))
        fast = _fit(objective, X, y, (W, b), "compiled", optimizer=adam(0.01))
    _equal(reference, fast)


def _slices_problem():
    """A step's gradient parts, as :func:`parts.share_rows` leaves them, and its ``stacked`` buffers."""
    X, y, W, b, _ = linear_problem("softmax", np.uint8, np.float32, n=64, n_classes=5)
    order = np.arange(64)
    labels, targets, weight, *_ = fused.loss_inputs(y, W, Objective("softmax").loss, None, None)
    scale = np.linspace(0.5, 2.0, 19).astype(np.float32)
    shift = np.full(19, 0.5, np.float32)
    shared = parts.new_shared(5, 19, np.dtype(np.float32), 2)
    shared[1][:], shared[2][:] = W.T * scale, b
    for part, (first, last) in enumerate([(0, 32), (32, 64)]):
        fused.loss_rows(X, order, labels, targets, shared[1], shared[2], weight, 0, True, first, last,
                        shared[3][part], shared[4][part])  # fmt: skip
    trace = np.random.default_rng(3).normal(size=(5, 19)).astype(np.float32)
    stacked = compiled_module.new_stacked(np.ascontiguousarray(W.T), b, (trace, b * 0.5, trace[:0, :0], b[:0]))
    stacked[6][:] = shared[4][0] + shared[4][1]  # db, summed as the step sums it
    stacked[9][:] = [1 / 64, -0.05, 1.0, 1.0]
    settings = (scale, shift * scale, shift, epoch.MOMENTUM, np.array([0.9], np.float32), epoch.L2,
                np.float32(0.01), np.float32(0), np.float32(2))  # fmt: skip
    return X, order, labels, targets, weight, shared, stacked, settings


def test_the_sliced_finishing_gives_the_whole_arrays_operations_with_a_helper():
    X, order, labels, targets, weight, shared, stacked, settings = _slices_problem()
    scale, shift_scaled, shift, kind, hyper, penalty, alpha, l1_weight, l2_weight = settings
    W2, b2, tW2, tb2 = (array.copy() for array in stacked[:4])
    # the whole-array finishing on copies: gradient, update, fold of the next step's raw weights
    grad, db = shared[3][0].copy(), stacked[6].copy()
    inverse_n, factor = np.float32(1 / 64), np.float32(-0.05)
    epoch._finish_gradient(W2[0], grad, shared[3][1], db, scale, shift, inverse_n, penalty, alpha, l1_weight,
                           l2_weight)  # fmt: skip
    one, empty = np.float32(1), tW2[0][:0]
    epoch._update(kind, W2[0], grad, tW2[0], empty, W2[1], tW2[1], empty, factor, hyper, one, one)
    epoch._update(kind, b2[0], db, tb2[0], b2[0][:0], b2[1], tb2[1], b2[0][:0], factor, hyper, one, one)
    Wr, b_raw = np.empty_like(shared[1]), np.empty_like(shared[2])
    epoch._fold(W2[1], b2[1], scale, shift_scaled, Wr, b_raw)
    helper = threading.Thread(target=epoch.help_steps, args=(shared, stacked, X, order, labels, targets, weight,
                                                             0, *settings))  # fmt: skip
    helper.start()
    try:
        epoch._share_slices(shared[0], 2, 0, 1, stacked, shared, *settings)
    finally:
        parts.stop_helpers(shared[0])
        helper.join(timeout=10)
    assert not helper.is_alive()
    for name, mine, theirs in [("W", stacked[0][1], W2[1]), ("trace", stacked[2][1], tW2[1]),
                               ("b", stacked[1][1], b2[1]), ("b trace", stacked[3][1], tb2[1]),
                               ("raw W", shared[1], Wr), ("raw b", shared[2], b_raw)]:  # fmt: skip
        np.testing.assert_array_equal(mine, theirs, err_msg=name)
    assert list(stacked[8][:: epoch.SLICE_STRIDE][:2]) == [1, 1]  # both slices finite
    penalty_bits = stacked[7][:: epoch.SLICE_STRIDE][:2]
    values = [epoch._from_bits(bits) for bits in penalty_bits]
    c0, c1 = epoch.slice_classes(0, 2, 5)
    assert values[0] == pytest.approx(float(np.sum(stacked[0][0][c0:c1].astype(np.float64) ** 2)), rel=1e-12)
    assert sum(values) == pytest.approx(float(np.sum(stacked[0][0].astype(np.float64) ** 2)), rel=1e-12)
