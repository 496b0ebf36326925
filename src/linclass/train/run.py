"""``fit``: one training run — arguments checked, the optimizer resolved, the loop started or resumed.

The loop itself is :mod:`linclass.train.loop`. Each optimizer shape advances the run in its
own unit of work, and everything else (history, validation, early stopping, callbacks,
checkpoints, the progress bar) happens once per epoch:

=========================  ================================================  ===============
optimizer                  one step                                          steps per epoch
=========================  ================================================  ===============
``sgd``, ``adam``          a gradient update on ``batch_size`` samples       ``ceil(N / B)``
``gd``                     a gradient update on all samples                  1
searches                   ``search.step``: a fixed number of candidates     1
``lbfgs``                  one quasi-Newton iteration (scipy)                1
=========================  ================================================  ===============
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from linclass._devices import is_tensor, on_device_of, to_host
from linclass._validation import check_int, check_positive, check_random_state
from linclass.kernels.cluster_data import is_dask_collection
from linclass.progress import ProgressBar
from linclass.train import interrupts
from linclass.train.checks import check_callables, check_data, check_params, resolve_optimizer
from linclass.train.compiled import LOOPS
from linclass.train.events import TrainResult
from linclass.train.loop import _Loop, driver_for
from linclass.train.state import TrainState, generator_from_state, restore_tree, tree_leaves


def fit(
    objective: Any,
    params: tuple[np.ndarray, np.ndarray] | None,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Any = "sgd",
    epochs: int = 10,
    max_iter: int | None = None,
    batch_size: int | None = 200,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    early_stopping: bool = False,
    n_iter_no_change: int = 5,
    tol: float = 1e-4,
    callbacks: Any = (),
    verbose: bool = False,
    random_state: int | np.random.Generator | None = None,
    checkpoint: Any = None,
    checkpoint_every: int | None = None,
    resume: TrainState | None = None,
    rows: np.ndarray | None = None,
    loop: str = "auto",
) -> TrainResult:
    """Minimize ``objective`` over ``params = (W, b)`` on ``X (N, D)``, ``y (N,)``.

    Minibatch optimizers visit the samples in a fresh seeded permutation each epoch, without
    replacement; ``gd``, ``lbfgs`` and the searches use the whole training set at every step.
    ``X`` is indexed (``X[idx]``), never converted as a whole: uint8 images stay uint8.

    Args:
        objective: a :class:`linclass.objective.Objective`.
        params: initial ``(W (D, C), b (C,))``, never modified; ignored when ``resume`` is given.
        X, y: training inputs ``(N, D)`` and targets ``(N,)``.
        optimizer: an optimizer built with its hyperparameters, the optax way
            (``sgd(0.1, momentum=0.9)``, ``genetic(population_size=10)``, ``lbfgs(tol=1e-8)``), a
            :class:`linclass.optim.BuiltOptimizer` (``OPTIMIZERS["sgd"].build(learning_rate=0.1,
            schedule="cosine", ...)``), or a name in ``linclass.optim.OPTIMIZERS`` (its defaults).
        epochs: total epochs, resumed ones included (L-BFGS: iterations).
        max_iter: stop after this many steps in total; an epoch cut short is recorded as one.
        batch_size: samples per minibatch step (None: the full batch); ``gd``, ``lbfgs`` and
            the searches always use the full batch.
        X_val, y_val: validation data, evaluated after every epoch.
        early_stopping: stop after ``n_iter_no_change`` epochs without the validation score (accuracy;
            minus the loss for regression) improving by more than ``tol``, and return the best
            epoch's weights. Needs ``X_val``.
        tol: early-stopping improvement threshold.
        callbacks: callables ``callback(EpochEnd)`` run after each epoch; returning False or
            raising :class:`StopTraining` ends training after that epoch.
        verbose: show a tqdm bar (only when stderr is a terminal and tqdm is installed).
        random_state: seed or Generator for permutations and searches; same seed, same bits.
        checkpoint: ``checkpoint(state)`` called every ``checkpoint_every`` epochs and, before
            re-raising, on KeyboardInterrupt with the state of the last completed step.
        resume: a :class:`TrainState` to continue exactly (its Generator state replaces
            ``random_state``).
        rows: indices of the training samples within ``X`` and ``y`` (None: all). Minibatches
            gather ``X[rows[idx]]``, so training on part of a data set (the rest held out) never
            copies ``X``; full-batch optimizers gather their rows once.
        loop: how minibatch steps run: ``"auto"`` (the compiled loop of
            :mod:`linclass.train.compiled` where it covers the run and ``LINCLASS_PYTHON_LOOP``
            is not set, else the Python loop), ``"python"`` (the readable reference loop) or
            ``"compiled"`` (ValueError unless the compiled loop covers the run). Both loops give
            the same weights and history to float rounding.

    Returns:
        :class:`TrainResult` ``(params, history, n_iter, best_epoch, state)``. ``history`` holds
        per-epoch lists: ``loss`` (mean objective over the epoch's batches; the best loss for
        searches), ``train_accuracy`` (running over the epoch's batches; of the best weights
        for searches; classification only), ``val_loss``/``val_accuracy`` with validation data,
        ``n_evaluations`` (cumulative loss evaluations, one per gradient step, candidate or
        L-BFGS function call) and ``time`` (cumulative seconds).

    Raises:
        DivergenceError: the loss or the weights became NaN or infinite; ``err.params`` holds
            the last finite weights.

    Example:
        >>> from linclass.objective import Objective
        >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
        >>> y = np.array([0, 1, 0, 1])
        >>> params = (np.zeros((2, 2)), np.zeros(2))
        >>> from linclass.optim import gd
        >>> result = fit(Objective("softmax"), params, X, y, optimizer=gd(1.0), epochs=20)
        >>> result.history["train_accuracy"][-1]
        1.0
    """
    if loop not in LOOPS:
        raise ValueError(f"loop must be one of {list(LOOPS)}, got {loop!r}")
    epochs = check_int(epochs, "epochs")
    max_iter = None if max_iter is None else check_int(max_iter, "max_iter")
    n_iter_no_change = check_int(n_iter_no_change, "n_iter_no_change")
    tol = check_positive(tol, "tol", allow_zero=True)
    checkpoint_every = None if checkpoint_every is None else check_int(checkpoint_every, "checkpoint_every")
    callbacks = check_callables(callbacks, checkpoint)
    X, y = check_data(X, y, None)
    if rows is not None:
        rows = np.asarray(rows)
        if rows.ndim != 1 or rows.dtype.kind not in "iu" or rows.size == 0:
            raise ValueError(f"rows must be a non-empty 1-D array of row indices, got shape {rows.shape}")
        if rows.min() < 0 or rows.max() >= X.shape[0]:
            raise ValueError(f"rows holds indices outside 0..{X.shape[0] - 1}")
        if is_dask_collection(X):
            raise ValueError("rows cannot index a dask X; select the rows with dask before fitting")
        rows = rows.astype(np.intp, copy=False)
        y = y[on_device_of(y, rows)]
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val, y_val = check_data(X_val, y_val, X.shape[1], name="X_val")
    if early_stopping and X_val is None:
        raise ValueError("early_stopping=True needs validation data: pass X_val and y_val")
    n_samples = y.shape[0]
    batch = None if batch_size is None else min(check_int(batch_size, "batch_size"), n_samples)
    built = resolve_optimizer(optimizer)
    driver = driver_for(built.optimizer)
    driver.check(objective)
    if built.data != "minibatch":
        batch = None

    # Every optimizer updates the weights where the data lives: tensors on the device of a
    # tensor X, NumPy arrays for NumPy data.
    on_host = not is_tensor(X)

    def place(params: tuple) -> tuple:
        return tuple(to_host(p) if on_host else on_device_of(X, p) for p in params)

    def init_opt_state(start: tuple, rng: np.random.Generator) -> Any:
        return driver.init(built.optimizer, start, rng)

    keys = ["loss"] + ([] if objective.is_regression else ["train_accuracy"])
    if X_val is not None:
        keys += ["val_loss"] + ([] if objective.is_regression else ["val_accuracy"])
    keys += ["n_evaluations", "time"]
    if resume is None:
        start = place(check_params(params, X.shape[1]))
        rng = check_random_state(random_state)
        state = TrainState(
            params=start, opt_state=init_opt_state(start, rng), rng_state=rng.bit_generator.state,
            n_samples=n_samples, batch_size=batch, optimizer=built.name, history={key: [] for key in keys},
        )
    else:
        state = _check_resume(resume, n_samples, batch, built.name, keys, X.shape[1])
        state = dataclasses.replace(state, params=place(state.params))
        template = init_opt_state(state.params, np.random.default_rng(0))
        state = dataclasses.replace(state, opt_state=restore_tree(template, tree_leaves(state.opt_state)))
        rng = generator_from_state(state.rng_state)

    runner = _Loop(
        objective, X, y, X_val, y_val, built, rng, state, epochs=epochs, max_iter=max_iter, batch=batch,
        early_stopping=early_stopping, patience=n_iter_no_change, tol=tol, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, rows=rows, loop=loop,
    )
    if loop == "compiled":
        runner.compiled  # noqa: B018  (raises ValueError before any work when it does not apply)
    with ProgressBar(
        total=epochs, initial=state.epoch, verbose=verbose, steps_per_epoch=runner.steps_per_epoch,
        initial_step=state.step,
    ) as bar, interrupts.deferring():
        state = runner.run(bar)
    if early_stopping and state.best_params is not None:
        return TrainResult(state.best_params, state.history, state.epoch, state.best_epoch, state)
    return TrainResult(state.params, state.history, state.epoch, state.epoch, state)


def _check_resume(
    resume: Any, n_samples: int, batch: int | None, name: str | None, keys: list[str], n_features: int
) -> TrainState:
    if not isinstance(resume, TrainState):
        raise TypeError(f"resume must be a TrainState, got {type(resume).__name__}")
    if resume.n_samples != n_samples:
        raise ValueError(f"resume was saved for {resume.n_samples} training samples, got X with {n_samples}")
    if resume.optimizer != name:
        raise ValueError(f"resume was saved with optimizer={resume.optimizer!r}, got optimizer={name!r}")
    if resume.step > 0 and resume.batch_size != batch:
        raise ValueError(f"resume stopped inside an epoch of batch_size={resume.batch_size}, got {batch}")
    if sorted(resume.history) != sorted(keys):
        raise ValueError(f"resume recorded {sorted(resume.history)} but this run records {sorted(keys)}; "
                         "give validation data to both runs or to neither")
    return dataclasses.replace(resume, params=check_params(resume.params, n_features), batch_size=batch)
