"""The training loop: every optimizer, history, seeding, early stopping, divergence, resume."""

import io as stdio
import math

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.optim import OPTIMIZERS, BuiltOptimizer, genetic, lbfgs, random_search, sgd
from linclass.train import DivergenceError, StopTraining, TrainState, fit
from problems import InterruptAfter


def built(name, **hyperparameters):
    """The optimizer ``name`` built from shared hyperparameters, as the estimators build it."""
    return OPTIMIZERS[name].build(**hyperparameters)


SETTINGS = {
    "gd": dict(optimizer=built("gd", learning_rate=0.5), epochs=20),
    "sgd": dict(optimizer=built("sgd", learning_rate=0.1, momentum=0.9), epochs=5, batch_size=16),
    "adam": dict(optimizer=built("adam", learning_rate=0.05), epochs=5, batch_size=16),
    "lbfgs": dict(optimizer="lbfgs", epochs=20),
    "random_search": dict(optimizer=built("random_search", learning_rate=0.5), epochs=10),
    "random_local_search": dict(optimizer=built("random_local_search", learning_rate=0.1), epochs=10),
    "genetic": dict(optimizer=built("genetic", learning_rate=0.1), epochs=10),
}


def blobs(seed=0, n_per_class=30, n_features=4, n_classes=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.normal(scale=2.0, size=(n_classes, n_features))[y] + rng.normal(size=(y.size, n_features))
    return X.astype(dtype), y


def zeros(n_features=4, n_classes=3, dtype=np.float64):
    return (np.zeros((n_features, n_classes), dtype), np.zeros(n_classes, dtype))


def assert_params_equal(a, b):
    assert len(a) == len(b)
    for x, z in zip(a, b, strict=True):
        assert x.dtype == z.dtype
        np.testing.assert_array_equal(x, z)


def without_time(history):
    return {key: values for key, values in history.items() if key != "time"}


def test_settings_cover_the_registry():
    assert sorted(SETTINGS) == OPTIMIZERS.names()


@pytest.mark.parametrize("optimizer", sorted(SETTINGS))
def test_every_optimizer_decreases_a_convex_objective(optimizer):
    X, y = blobs()
    objective = Objective(loss="softmax", penalty="l2", alpha=1e-3)
    start = zeros()
    result = fit(objective, start, X, y, random_state=0, **SETTINGS[optimizer])
    assert objective.value(result.params, X, y) < 0.8 * objective.value(start, X, y)
    assert result.n_iter == len(result.history["loss"]) > 0
    assert result.history["train_accuracy"][-1] > 0.6


def test_history_records_every_epoch_and_counts_evaluations():
    X, y = blobs()
    X_val, y_val = blobs(seed=1)
    result = fit(Objective(), zeros(), X, y, optimizer=sgd(0.1), batch_size=40, epochs=3,
                 X_val=X_val, y_val=y_val, random_state=0)
    history = result.history
    assert sorted(history) == ["loss", "n_evaluations", "time", "train_accuracy", "val_accuracy", "val_loss"]
    assert all(len(values) == 3 for values in history.values())
    assert history["n_evaluations"] == [3, 6, 9]  # 90 samples in batches of 40, 40, 10
    assert history["time"] == sorted(history["time"])
    assert all(0.0 <= a <= 1.0 and a * 90 == round(a * 90) for a in history["train_accuracy"])
    assert history["val_accuracy"][-1] == Objective().accuracy(result.params, X_val, y_val)


def test_searches_count_candidates_per_epoch():
    X, y = blobs()
    result = fit(Objective(), zeros(), X, y, optimizer=genetic(population_size=10, n_elite=1), epochs=3)
    assert result.history["n_evaluations"] == [10, 19, 28]
    result = fit(Objective(), zeros(), X, y, optimizer=random_search(n_candidates=4), epochs=3)
    assert result.history["n_evaluations"] == [4, 8, 12]


def test_regression_history_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 3.0
    result = fit(Objective(loss="squared_error", penalty=None), zeros(3, 1), X, y, optimizer=lbfgs(tol=1e-10),
                 epochs=50, X_val=X, y_val=y)
    assert sorted(result.history) == ["loss", "n_evaluations", "time", "val_loss"]
    np.testing.assert_allclose(result.params[0][:, 0], [1.0, -2.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(result.params[1], [3.0], atol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "genetic", "random_local_search"])
def test_same_seed_gives_the_same_bits_and_another_seed_different_weights(optimizer):
    X, y = blobs()
    settings = dict(X_val=X[:20], y_val=y[:20], **SETTINGS[optimizer])
    first = fit(Objective(), zeros(), X, y, random_state=7, **settings)
    again = fit(Objective(), zeros(), X, y, random_state=7, **settings)
    other = fit(Objective(), zeros(), X, y, random_state=8, **settings)
    assert_params_equal(first.params, again.params)
    assert without_time(first.history) == without_time(again.history)
    assert not np.array_equal(first.params[0], other.params[0])


def test_uint8_inputs_train_like_their_float32_values():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(60, 8), dtype=np.uint8)
    y = rng.integers(0, 3, size=60)
    settings = dict(optimizer=sgd(1e-4), batch_size=16, epochs=2, random_state=0)
    as_uint8 = fit(Objective(), zeros(8, 3, np.float32), X, y, **settings)
    as_float = fit(Objective(), zeros(8, 3, np.float32), X.astype(np.float32), y, **settings)
    assert_params_equal(as_uint8.params, as_float.params)


# --------------------------------------------------------------------------- early stopping, callbacks


def overfitting_problem():
    """Training rewards a small clean feature that the validation set reverses, so validation peaks early."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    sign = 2 * y - 1
    X = np.column_stack([sign + rng.normal(scale=0.8, size=200), 0.1 * sign])
    y_val = rng.integers(0, 2, 200)
    sign_val = 2 * y_val - 1
    X_val = np.column_stack([sign_val + rng.normal(scale=0.5, size=200), -sign_val])
    start = (np.array([[1.0, -1.0], [0.0, 0.0]]), np.zeros(2))  # starts wrong, so accuracy first rises
    return X, y, X_val, y_val, start


def test_early_stopping_restores_the_best_epochs_weights():
    X, y, X_val, y_val, start = overfitting_problem()
    recorded = {}
    result = fit(Objective(loss="softmax", penalty=None), start, X, y, optimizer=sgd(0.05),
                 batch_size=20, epochs=40, X_val=X_val, y_val=y_val, early_stopping=True, n_iter_no_change=3, tol=0.0,
                 random_state=0, callbacks=[lambda event: recorded.update({event.epoch: event.params})])
    val_accuracy = result.history["val_accuracy"]
    assert result.best_epoch == 1 + int(np.argmax(val_accuracy))
    assert 1 < result.best_epoch < result.n_iter == result.best_epoch + 3 < 40
    assert_params_equal(result.params, recorded[result.best_epoch])
    assert_params_equal(result.state.params, recorded[result.n_iter])
    assert not np.array_equal(result.params[0], result.state.params[0])


def test_early_stopping_needs_validation_data():
    X, y = blobs()
    with pytest.raises(ValueError, match=r"early_stopping=True needs validation data: pass X_val and y_val"):
        fit(Objective(), zeros(), X, y, early_stopping=True)


def test_callbacks_see_each_epoch_and_can_stop_training():
    X, y = blobs()
    seen = []

    def record(event):
        seen.append((event.epoch, event.metrics["loss"], len(event.history["loss"]), event.state.epoch))

    result = fit(Objective(), zeros(), X, y, epochs=10, callbacks=[record, lambda event: event.epoch < 3])
    assert result.n_iter == 3
    assert [entry[0] for entry in seen] == [1, 2, 3]
    assert [entry[1] for entry in seen] == result.history["loss"]
    assert all(epoch == length == state_epoch for epoch, _, length, state_epoch in seen)

    def stop_at_two(event):
        if event.epoch == 2:
            raise StopTraining

    assert fit(Objective(), zeros(), X, y, epochs=10, callbacks=stop_at_two).n_iter == 2


def test_max_iter_ends_inside_an_epoch_and_records_it():
    X, y = blobs()
    result = fit(Objective(), zeros(), X, y, batch_size=20, epochs=10, max_iter=7, random_state=0)
    assert result.n_iter == 2  # 5 steps, then 2 of the next epoch
    assert result.history["n_evaluations"] == [5, 7]
    assert result.state.n_steps == 7


# --------------------------------------------------------------------------- divergence


def test_divergence_names_epoch_and_step_and_keeps_finite_weights():
    X, y = blobs(dtype=np.float32)
    objective = Objective(loss="softmax", penalty="l2", alpha=1e-2)
    with pytest.raises(DivergenceError) as err:
        fit(objective, zeros(dtype=np.float32), X, y, optimizer=built("sgd", learning_rate=1e6), batch_size=10,
            epochs=5, random_state=0)
    message = str(err.value)
    assert message == (
        f"training diverged at epoch {err.value.epoch}, step {err.value.step}: loss is inf "
        "— lower the learning rate (now 1000000.0)"
    )
    assert isinstance(err.value, ValueError)
    assert all(np.isfinite(p).all() for p in err.value.params)
    assert np.abs(err.value.params[0]).max() > 1e10


# --------------------------------------------------------------------------- resume


def through_file(state, tmp_path):
    path = tmp_path / "state.npz"
    state.save(path)
    return TrainState.load(path)


RESUMABLE = {
    "sgd": dict(optimizer=built("sgd", learning_rate=0.05, momentum=0.9, nesterov=True), batch_size=16),
    "adam": dict(optimizer=built("adam", learning_rate=0.05), batch_size=16),
    "genetic": dict(optimizer=genetic(sigma=0.1, population_size=8)),
    "random_search": dict(optimizer=built("random_search", learning_rate=0.5)),
    "gd": dict(optimizer=built("gd", learning_rate=0.5, schedule="cosine", schedule_options={"decay_steps": 5})),
}


@pytest.mark.parametrize("name", sorted(RESUMABLE))
def test_resuming_from_a_saved_state_is_bit_identical(name, tmp_path):
    X, y = blobs(dtype=np.float32)
    X_val, y_val = blobs(seed=3, dtype=np.float32)
    settings = dict(X_val=X_val, y_val=y_val, early_stopping=True, n_iter_no_change=50, random_state=11,
                    **RESUMABLE[name])
    straight = fit(Objective(), zeros(dtype=np.float32), X, y, epochs=6, **settings)
    first = fit(Objective(), zeros(dtype=np.float32), X, y, epochs=2, **settings)
    restored = through_file(first.state, tmp_path)
    resumed = fit(Objective(), None, X, y, epochs=6, resume=restored, **settings)
    assert_params_equal(straight.params, resumed.params)
    assert_params_equal(straight.state.params, resumed.state.params)
    assert without_time(straight.history) == without_time(resumed.history)
    assert resumed.n_iter == 6 and resumed.best_epoch == straight.best_epoch


def test_interrupt_inside_an_epoch_checkpoints_and_resumes_bit_identically(tmp_path):
    X, y = blobs()
    settings = dict(optimizer=sgd(0.05, momentum=0.9), batch_size=16, random_state=3)
    straight = fit(Objective(), zeros(), X, y, epochs=4, **settings)
    saved = []
    with pytest.raises(KeyboardInterrupt):
        interrupted = InterruptAfter(Objective(), limit=9)
        fit(interrupted, zeros(), X, y, epochs=4, checkpoint=saved.append, **settings)
    assert len(saved) == 1
    assert (saved[0].epoch, saved[0].step, saved[0].n_steps) == (1, 3, 9)  # 6 steps per epoch
    assert saved[0].permutation.shape == (90,)
    resumed = fit(Objective(), None, X, y, epochs=4, resume=through_file(saved[0], tmp_path), **settings)
    assert_params_equal(straight.params, resumed.params)
    assert without_time(straight.history) == without_time(resumed.history)


def test_checkpoint_every_k_epochs():
    X, y = blobs()
    saved = []
    fit(Objective(), zeros(), X, y, epochs=7, checkpoint=saved.append, checkpoint_every=3)
    assert [state.epoch for state in saved] == [3, 6]
    assert [len(state.history["loss"]) for state in saved] == [3, 6]


def test_bundle_round_trip_is_lossless():
    X, y = blobs()
    state = fit(Objective(), zeros(), X, y, optimizer="genetic", epochs=2, random_state=0).state
    arrays, metadata = state.to_bundle()
    assert all(isinstance(value, np.ndarray) for value in arrays.values())
    restored = TrainState.from_bundle(arrays, metadata)
    again_arrays, again_metadata = restored.to_bundle()
    assert again_metadata == metadata
    assert sorted(again_arrays) == sorted(arrays)
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], again_arrays[key])
    assert metadata["opt_state"][-2:] == [{"float": state.opt_state.best_loss}, {"int": 2}]


def test_resume_refuses_a_different_optimizer_or_data():
    X, y = blobs()
    state = fit(Objective(), zeros(), X, y, optimizer="adam", epochs=1).state
    with pytest.raises(ValueError, match=r"resume was saved with optimizer='adam', got optimizer='sgd'"):
        fit(Objective(), None, X, y, optimizer="sgd", epochs=2, resume=state)
    with pytest.raises(ValueError, match=r"resume was saved for 90 training samples, got X with 60"):
        fit(Objective(), None, X[:60], y[:60], optimizer="adam", epochs=2, resume=state)
    with pytest.raises(ValueError, match=r"training state: field format missing; expected one of \['linclass.TrainState'\]"):
        TrainState.from_bundle({}, {})


# --------------------------------------------------------------------------- arguments and progress


def test_invalid_arguments_name_the_argument():
    X, y = blobs()
    objective = Objective()
    with pytest.raises(ValueError, match=r"params must be W \(4, C\) and b \(C,\) for X with 4 features, "
                                         r"got W \(3, 3\) and b \(3,\)"):
        fit(objective, zeros(3, 3), X, y)
    with pytest.raises(ValueError, match=r"optimizer='newton' is not supported; expected one of"):
        fit(objective, zeros(), X, y, optimizer="newton")
    with pytest.raises(TypeError, match=r"optimizer must be a name in linclass.optim.OPTIMIZERS, a BuiltOptimizer"):
        fit(objective, zeros(), X, y, optimizer=0.1)
    with pytest.raises(ValueError, match=r"schedule='cosine' needs an optimizer with a learning rate; "
                                         r"optimizer='genetic' has none"):
        built("genetic", schedule="cosine")
    with pytest.raises(ValueError, match=r"epochs must be an integer >= 1, got 0"):
        fit(objective, zeros(), X, y, epochs=0)
    with pytest.raises(ValueError, match=r"y has 89 entries but X has 90 rows"):
        fit(objective, zeros(), X, y[:-1])


def test_an_optimizer_object_trains_like_its_name():
    X, y = blobs()
    by_name = fit(Objective(), zeros(), X, y, optimizer=built("sgd", learning_rate=0.1, momentum=0.5),
                  random_state=1)
    by_object = fit(Objective(), zeros(), X, y, optimizer=sgd(0.1, momentum=0.5), random_state=1)
    assert_params_equal(by_name.params, by_object.params)
    assert by_name.state.optimizer == "sgd" and by_object.state.optimizer is None


def test_every_registered_optimizer_has_one_shape():
    for name, spec in OPTIMIZERS.items():
        assert spec.name == name and spec.data in ("minibatch", "full_batch", "population")
        result = spec.build(learning_rate=0.1, momentum=0.5, tol=1e-3, max_iter=7)
        assert isinstance(result, BuiltOptimizer) and result.name == name and result.data == spec.data
    assert [name for name, spec in OPTIMIZERS.items() if spec.scheduled] == ["adam", "gd", "sgd"]
    assert OPTIMIZERS["lbfgs"].build(tol=1e-3, max_iter=7, momentum=0.5).optimizer == lbfgs(max_iter=7, tol=1e-3)
    assert OPTIMIZERS["genetic"].build(learning_rate=0.3).optimizer is not None


class FakeTerminal(stdio.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    X, y = blobs()
    fit(Objective(), zeros(), X, y, epochs=2, verbose=True)
    assert capsys.readouterr().err == ""
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    fit(Objective(), zeros(), X, y, epochs=2, verbose=True)
    drawn = terminal.getvalue()
    assert "epoch 1/2   0%|" in drawn
    quiet = FakeTerminal()
    monkeypatch.setattr("sys.stderr", quiet)
    fit(Objective(), zeros(), X, y, epochs=2, verbose=False)
    assert quiet.getvalue() == ""


def test_lbfgs_records_one_epoch_per_iteration():
    X, y = blobs()
    seen = []
    result = fit(Objective(penalty="l2", alpha=1e-2), zeros(), X, y, optimizer="lbfgs", epochs=5,
                 callbacks=lambda event: seen.append(event.epoch))
    assert seen == [1, 2, 3, 4, 5] and result.n_iter == 5
    evaluations = result.history["n_evaluations"]
    assert evaluations == sorted(evaluations) and evaluations[0] >= 1
    final_value = Objective(penalty="l2", alpha=1e-2).value(result.params, X, y)
    assert math.isclose(result.history["loss"][-1], final_value, rel_tol=1e-12)
