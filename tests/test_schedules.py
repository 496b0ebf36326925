"""Learning-rate schedules: documented values, validation, and how ``fit`` counts them in epochs."""

import math

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.optim import OPTIMIZERS, adam, sgd
from linclass.optim.schedules import SCHEDULES, constant, cosine, exponential, inverse_time, step
from linclass.train import fit


def test_registry_names():
    assert SCHEDULES.names() == ["constant", "cosine", "exponential", "inverse_time", "step"]


def test_constant():
    schedule = constant(0.3)
    assert [schedule(t) for t in (0, 1, 1000)] == [0.3, 0.3, 0.3]


def test_step_drops_by_gamma_every_step_size():
    schedule = step(0.1, step_size=10, gamma=0.5)
    assert [schedule(t) for t in (0, 9, 10, 19, 20, 35)] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]


def test_exponential():
    schedule = exponential(2.0, decay_rate=0.5, transition_steps=4)
    assert schedule(0) == 2.0
    assert schedule(4) == 1.0
    assert schedule(8) == 0.5
    assert schedule(2) == pytest.approx(2.0 * 0.5**0.5, rel=1e-15)


def test_inverse_time():
    schedule = inverse_time(1.0, decay_rate=0.5, transition_steps=2)
    assert [schedule(t) for t in (0, 2, 4, 6)] == [1.0, 1.0 / 1.5, 0.5, 0.4]


def test_cosine_decays_to_alpha_times_value_and_stays():
    schedule = cosine(1.0, decay_steps=10, alpha=0.1)
    assert schedule(0) == 1.0
    assert schedule(5) == pytest.approx(0.55, rel=1e-15)
    assert schedule(10) == pytest.approx(0.1, rel=1e-15)
    assert schedule(25) == pytest.approx(0.1, rel=1e-15)
    assert cosine(2.0, decay_steps=4)(1) == pytest.approx(1.0 + math.cos(math.pi / 4), rel=1e-15)


def test_invalid_arguments_name_the_argument():
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0, got -1"):
        constant(-1)
    with pytest.raises(ValueError, match=r"gamma must be in \(0, 1\], got 1.5"):
        step(0.1, gamma=1.5)
    with pytest.raises(ValueError, match=r"step_size must be a finite number > 0, got 0"):
        step(0.1, step_size=0)
    with pytest.raises(ValueError, match=r"decay_rate must be in \(0, 1\], got 0"):
        exponential(0.1, decay_rate=0)
    with pytest.raises(ValueError, match=r"decay_steps must be a finite number > 0, got 0"):
        cosine(0.1, decay_steps=0)
    with pytest.raises(ValueError, match=r"count must be >= 0, got -1"):
        step(0.1)(-1)
    with pytest.raises(ValueError, match=r"schedule='linear' is not supported; expected one of \['constant'"):
        SCHEDULES.resolve("linear")


def _problem():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.normal(size=(3, 4))[y] + rng.normal(size=(60, 4))
    return Objective(loss="softmax"), (np.zeros((4, 3)), np.zeros(3)), X, y


def test_fit_counts_named_schedule_options_in_epochs():
    objective, params, X, y = _problem()
    steps_per_epoch = 3  # 60 samples in batches of 20
    named = OPTIMIZERS["sgd"].build(learning_rate=0.5, schedule="step", schedule_options={"step_size": 1, "gamma": 0.5},
                                    steps_per_epoch=steps_per_epoch)
    named = fit(objective, params, X, y, optimizer=named, batch_size=20, epochs=4, random_state=0)
    by_count = fit(objective, params, X, y, batch_size=20, epochs=4, random_state=0,
                   optimizer=sgd(lambda count: 0.5 * 0.5 ** (count // steps_per_epoch)))
    for a, b in zip(named.params, by_count.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_cosine_options_count_epochs():
    objective, params, X, y = _problem()
    default = OPTIMIZERS["adam"].build(learning_rate=0.5, schedule="cosine", schedule_options={"decay_steps": 4},
                                       steps_per_epoch=3)
    default = fit(objective, params, X, y, optimizer=default, batch_size=20, epochs=5, random_state=0)
    explicit = fit(objective, params, X, y, batch_size=20, epochs=5, random_state=0,
                   optimizer=adam(lambda count: cosine(0.5, decay_steps=12)(count)))
    for a, b in zip(default.params, explicit.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_fit_refuses_a_schedule_for_an_optimizer_without_learning_rate():
    objective, params, X, y = _problem()
    with pytest.raises(ValueError, match=r"schedule='cosine' needs an optimizer with a learning rate; "
                                         r"optimizer='genetic' has none"):
        OPTIMIZERS["genetic"].build(schedule="cosine")
