"""Signals during training are deferred to the next step boundary."""

import os
import signal

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.train import fit
from linclass.train.interrupts import Interrupted, check, deferred_interrupts


def test_signal_waits_for_check_and_a_second_one_interrupts_at_once():
    with deferred_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        check_passed_before = True  # reached: the handler only recorded the signal
        with pytest.raises(Interrupted) as info:
            check()
        assert info.value.signum == signal.SIGTERM and check_passed_before
        check()  # nothing pending any more
        os.kill(os.getpid(), signal.SIGINT)
        with pytest.raises(Interrupted) as info:
            os.kill(os.getpid(), signal.SIGINT)
        assert info.value.signum == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


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
