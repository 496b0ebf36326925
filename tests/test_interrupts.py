"""Signals during training are deferred to the next step boundary."""

import os
import signal

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.train import fit
from linclass.train.interrupts import Interrupted, check, deferred_interrupts, deferring


def test_outside_training_a_signal_interrupts_at_once():
    with deferred_interrupts():
        with pytest.raises(Interrupted) as info:
            os.kill(os.getpid(), signal.SIGTERM)
        assert info.value.signum == signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_inside_training_signals_wait_for_check_however_many_arrive():
    with deferred_interrupts(), deferring():
        for _ in range(5):
            os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        reached = True  # the handler only recorded the signals
        with pytest.raises(Interrupted) as info:
            check()
        assert info.value.signum == signal.SIGINT and reached
        check()  # nothing pending any more
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_signal_after_the_last_check_raises_when_training_ends():
    with deferred_interrupts(), pytest.raises(Interrupted) as info:
        with deferring():
            os.kill(os.getpid(), signal.SIGTERM)
    assert info.value.signum == signal.SIGTERM


def test_training_stops_after_a_whole_step_and_checkpoints_it():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 3)), rng.integers(0, 2, 100)
    saved = []

    class SignalAfterThirdStep(Objective):
        calls = 0

        def batch(self, params, X, y):
            type(self).calls += 1
            if type(self).calls == 3:
                os.kill(os.getpid(), signal.SIGINT)
            return super().batch(params, X, y)

    with deferred_interrupts(), pytest.raises(Interrupted):
        fit(SignalAfterThirdStep(), (np.zeros((3, 2)), np.zeros(2)), X, y, batch_size=10, epochs=5,
            checkpoint=saved.append)  # fmt: skip
    assert len(saved) == 1 and saved[0].epoch == 0 and saved[0].step == 3
