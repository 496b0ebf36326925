"""Training on a Dask cluster: the same model as one machine, the same bits on any number of workers."""

import dataclasses
import os
import signal
import sys

import cloudpickle
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pytest

from linclass import LinearClassifier, kernels
from linclass.kernels.cluster import DaskKernels
from linclass.train import StopTraining
from linclass.train.interrupts import Interrupted, deferred_interrupts

cloudpickle.register_pickle_by_value(sys.modules[__name__])

# ragged row chunks with a one-row chunk
CHUNKS = (60, 1, 83, 40, 56)


def blobs(n=240, n_features=5, n_classes=3, seed=0, spread=2.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=spread, size=(n_classes, n_features))
    y = rng.integers(0, n_classes, size=n)
    X = centers[y] + rng.normal(size=(n, n_features))
    return X, y


def on_cluster(X, y, chunks=CHUNKS):
    return da.from_array(X, chunks=(chunks, X.shape[1])), da.from_array(y, chunks=(chunks,))


def one_worker(client):
    return DaskKernels(client, workers=sorted(client.scheduler_info()["workers"])[:1])


def assert_close_to(actual, expected, rtol=1e-10):
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


LBFGS_CASES = [("softmax", "l2"), ("softmax", None), ("squared_hinge", "l2"), ("squared_hinge", None)]
GD_CASES = [
    ("svm", "l2"), ("svm", "l1"), ("multi_margin", "elasticnet"), ("crammer_singer", "l2"),
    ("softmax", "l1"), ("squared_hinge", "elasticnet"),
]


@pytest.mark.parametrize("loss, penalty", LBFGS_CASES)
def test_lbfgs_on_the_cluster_equals_numpy_within_1e_10(dask_client, loss, penalty):
    X, y = blobs(spread=0.5)  # overlapping classes: a unique minimum even without a penalty
    options = dict(loss=loss, penalty=penalty, alpha=1e-2, optimizer="lbfgs", tol=1e-12)
    # validation data, so that neither fit holds rows out for Platt scaling
    here = LinearClassifier(**options, backend="numpy").fit(X, y, validation_data=(X, y))
    there = LinearClassifier(**options).fit(*on_cluster(X, y), validation_data=(X, y))
    assert there.n_iter_ == here.n_iter_
    assert_close_to(there.coef_, here.coef_)
    assert_close_to(there.intercept_, here.intercept_)


@pytest.mark.parametrize("loss, penalty", GD_CASES)
def test_gradient_descent_on_the_cluster_equals_numpy_within_1e_10(dask_client, loss, penalty):
    X, y = blobs(seed=1)
    options = dict(loss=loss, penalty=penalty, alpha=1e-3, optimizer="gd", learning_rate=0.1, epochs=8)
    here = LinearClassifier(**options, backend="numpy").fit(X, y, validation_data=(X, y))
    there = LinearClassifier(**options).fit(*on_cluster(X, y), validation_data=(X, y))
    assert_close_to(there.coef_, here.coef_)
    assert_close_to(there.intercept_, here.intercept_)
    np.testing.assert_allclose(there.history_["loss"], here.history_["loss"], rtol=1e-10)


def test_auto_is_lbfgs_for_a_smooth_objective_and_block_passes_for_the_others(dask_client):
    X, y = blobs(spread=0.5)
    here = LinearClassifier(backend="numpy").fit(X, y, validation_data=(X, y))
    there = LinearClassifier().fit(*on_cluster(X, y), validation_data=(X, y))
    assert here.optimizer_ == there.optimizer_ == "lbfgs"
    assert_close_to(there.coef_, here.coef_)
    # no 10,000-step floor on a cluster: block-pass SGD runs ``epochs`` epochs
    svm = LinearClassifier(loss="svm", epochs=2, random_state=0).fit(*on_cluster(X, y), validation_data=(X, y))
    assert (svm.optimizer_, svm.n_iter_, len(svm.history_["loss"])) == ("sgd", 2, 2)


def test_fitted_weights_are_the_same_bits_on_one_worker_and_on_two(dask_client):
    X, y = blobs(n=600, seed=2)
    Xd, yd = on_cluster(X, y, chunks=(150, 1, 149, 300))
    options = dict(optimizer="lbfgs", alpha=1e-3, random_state=0)
    both = LinearClassifier(**options, backend=DaskKernels(dask_client)).fit(Xd, yd)
    single = LinearClassifier(**options, backend=one_worker(dask_client)).fit(Xd, yd)
    np.testing.assert_array_equal(both.coef_, single.coef_)
    np.testing.assert_array_equal(both.intercept_, single.intercept_)


def test_ten_classes_are_learned_as_scikit_learn_learns_them(dask_client):
    # dask-ml's LogisticRegression is binary only; here 10 classes come out as scikit-learn's multinomial model
    from sklearn.linear_model import LogisticRegression

    X, y = blobs(n=2000, n_features=8, n_classes=10, seed=3)
    alpha = 1e-3
    ours = LinearClassifier(optimizer="lbfgs", alpha=alpha, tol=1e-6, preprocess="none")
    ours.fit(*on_cluster(X, y, chunks=(500, 500, 999, 1)))
    theirs = LogisticRegression(C=1 / (2 * alpha * len(y)), tol=1e-10, max_iter=1000).fit(X, y)
    assert (ours.predict(X) == theirs.predict(X)).mean() >= 0.999
    coef = ours.coef_ - ours.coef_.mean(axis=0)  # softmax weights are defined up to a shift per feature
    np.testing.assert_allclose(coef, theirs.coef_ - theirs.coef_.mean(axis=0), atol=2e-4)


def test_block_passes_are_the_one_machine_loop_over_blocks(dask_client):
    X, y = blobs(n=300, seed=4)
    chunks = (100, 1, 99, 100)
    options = dict(optimizer="sgd", learning_rate=0.05, batch_size=32, epochs=3, random_state=7, alpha=1e-3)
    Xd, yd = on_cluster(X, y, chunks=chunks)
    both = LinearClassifier(**options).fit(Xd, yd)
    single = LinearClassifier(**options, backend=one_worker(dask_client)).fit(Xd, yd)
    np.testing.assert_array_equal(both.coef_, single.coef_)
    # the specification, written out: blocks in a seeded order, rows permuted within a block
    reference = block_sgd_reference(X, y, chunks, options, both.objective_)
    np.testing.assert_array_equal(both.params_[0], reference[0])
    np.testing.assert_array_equal(both.params_[1], reference[1])
    assert both.score(X, y) > 0.9


def block_sgd_reference(X, y, chunks, options, objective):
    from linclass.optim import apply_updates, sgd
    from linclass.optim.schedules import cosine

    bounds = np.cumsum((0,) + chunks)
    rng = np.random.default_rng(options["random_state"])
    steps_per_epoch = sum(-(-n // options["batch_size"]) for n in chunks)
    schedule = cosine(options["learning_rate"], decay_steps=options["epochs"])
    optimizer = sgd(lambda count: schedule(count / steps_per_epoch), momentum=0.9)
    params = (np.zeros((X.shape[1], 3), np.float64), np.zeros(3, np.float64))
    state = optimizer.init(params)
    local = dataclasses.replace(objective, kernels=kernels.default_kernels())
    for _ in range(options["epochs"]):
        for k in rng.permutation(len(chunks)):
            X_block, y_block = X[bounds[k] : bounds[k + 1]], y[bounds[k] : bounds[k + 1]]
            order = rng.permutation(len(y_block))
            for start in range(0, len(order), options["batch_size"]):
                idx = order[start : start + options["batch_size"]]
                result = local.batch(params, X_block[idx], y_block[idx])
                updates, state = optimizer.update(result.grads, state, params)
                params = apply_updates(params, updates)
    return params


def test_dask_data_frames_train_like_dask_arrays(dask_client):
    import pandas as pd

    X, y = blobs(seed=5)
    options = dict(optimizer="lbfgs", alpha=1e-2)
    frame = dd.from_pandas(pd.DataFrame(X, columns=list("abcde")), npartitions=3)
    labels = dd.from_pandas(pd.Series(y), npartitions=3)
    from_frame = LinearClassifier(**options).fit(frame, labels)
    from_array = LinearClassifier(**options, backend="numpy").fit(X, y)
    assert_close_to(from_frame.coef_, from_array.coef_)


def test_zarr_arrays_train_in_their_stored_chunks(dask_client, tmp_path):
    zarr = pytest.importorskip("zarr")
    X, y = blobs(seed=6)
    stored = zarr.create_array(str(tmp_path / "x.zarr"), shape=X.shape, chunks=(70, 5), dtype="f8")
    stored[:] = X
    options = dict(optimizer="lbfgs", alpha=1e-2)
    there = LinearClassifier(**options).fit(da.from_zarr(str(tmp_path / "x.zarr")), y)
    here = LinearClassifier(**options, backend="numpy").fit(X, y)
    assert_close_to(there.coef_, here.coef_)


def test_predictions_on_dask_input_are_lazy_dask_arrays(dask_client):
    X, y = blobs(seed=7)
    labels = np.array(["ant", "bee", "cat"])[y]
    for loss in ("softmax", "svm"):
        model = LinearClassifier(loss=loss, optimizer="gd", epochs=5, learning_rate=0.1).fit(X, labels)
        Xd, _ = on_cluster(X, y)
        for method in ("predict", "decision_function", "predict_proba"):
            lazy = getattr(model, method)(Xd)
            assert isinstance(lazy, da.Array)
            assert lazy.chunks[0] == CHUNKS
            np.testing.assert_allclose(lazy.compute(), getattr(model, method)(X), rtol=1e-6) if method != "predict" \
                else np.testing.assert_array_equal(lazy.compute(), model.predict(X))


def test_backend_dask_sends_arrays_in_memory_to_the_cluster(dask_client):
    X, y = blobs(seed=8)
    options = dict(optimizer="lbfgs", alpha=1e-2)
    there = LinearClassifier(**options, backend="dask").fit(X, y)
    here = LinearClassifier(**options, backend="numpy").fit(X, y)
    assert_close_to(there.coef_, here.coef_)
    assert type(there.objective_.kernels).__name__ != "DaskKernels"  # the fitted model is a plain one


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "lbfgs"])
def test_a_checkpointed_cluster_run_resumes_to_the_same_bits(dask_client, optimizer):
    X, y = blobs(seed=10)
    Xd, yd = on_cluster(X, y)
    options = dict(optimizer=optimizer, learning_rate=0.05, batch_size=50, epochs=4, random_state=3)
    full = LinearClassifier(**options).fit(Xd, yd)
    saved = []

    def stop_after_two(event):
        if event.epoch == 2:
            raise StopTraining

    LinearClassifier(**options).fit(Xd, yd, callbacks=[stop_after_two], checkpoint=saved.append, checkpoint_every=1)
    resumed = LinearClassifier(**options).fit(Xd, yd, resume=saved[-1])
    assert saved[-1].epoch == 2
    np.testing.assert_array_equal(resumed.coef_, full.coef_)


class SignalAfterBlocks(DaskKernels):
    """Sends this process SIGTERM once ``after`` blocks have run (a signal during the last block)."""

    def __init__(self, client, after):
        super().__init__(client)
        self.after, self.calls = after, 0

    def run_on_block(self, function, block, payload):
        result = super().run_on_block(function, block, payload)
        self.calls += 1
        if self.calls == self.after:
            os.kill(os.getpid(), signal.SIGTERM)
        return result


def test_a_signal_in_an_epochs_last_block_stops_after_the_epoch_is_recorded(dask_client):
    X, y = blobs(seed=11)
    options = dict(optimizer="sgd", learning_rate=0.05, batch_size=50, epochs=3, random_state=3)
    saved = []
    backend = SignalAfterBlocks(dask_client, after=len(CHUNKS))
    with deferred_interrupts(), pytest.raises(Interrupted):
        LinearClassifier(**options, backend=backend).fit(*on_cluster(X, y), checkpoint=saved.append)
    # a checkpoint inside the epoch after its last block (step == blocks) could not be resumed
    assert [(state.epoch, state.step, len(state.history["loss"])) for state in saved] == [(1, 0, 1)]
    resumed = LinearClassifier(**options).fit(*on_cluster(X, y), resume=saved[-1])
    full = LinearClassifier(**options).fit(*on_cluster(X, y))
    np.testing.assert_array_equal(resumed.coef_, full.coef_)


def test_early_stopping_on_the_cluster_needs_validation_data(dask_client):
    X, y = blobs()
    with pytest.raises(ValueError, match=r"^early_stopping=True with dask input needs validation_data="):
        LinearClassifier(early_stopping=True).fit(*on_cluster(X, y))
