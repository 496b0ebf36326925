"""The one training loop: every optimizer, minibatches, history, early stopping, checkpoints.

Each optimizer kind advances the run in its own unit of work, and everything else (history,
validation, early stopping, callbacks, checkpoints, the progress bar) happens once per epoch:

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
import functools
import math
import time
from typing import Any

import numpy as np

from linclass._validation import check_int, check_positive, check_random_state
from linclass.optim import LBFGS, Search, apply_updates, check_smooth
from linclass.progress import ProgressBar
from linclass.train import interrupts
from linclass.train._setup import (
    build_optimizer,
    check_callables,
    check_data,
    check_params,
    current_learning_rate,
)
from linclass.train.events import DivergenceError, EpochEnd, StopTraining, TrainResult
from linclass.train.state import TrainState, generator_from_state, restore_tree, tree_leaves


def fit(
    objective: Any,
    params: tuple[np.ndarray, np.ndarray] | None,
    X: np.ndarray,
    y: np.ndarray,
    *,
    optimizer: Any = "sgd",
    learning_rate: float | None = None,
    schedule: Any = "constant",
    schedule_options: dict | None = None,
    momentum: float = 0.0,
    nesterov: bool = False,
    epochs: int = 10,
    max_iter: int | None = None,
    batch_size: int | None = 200,
    X_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    early_stopping: bool = False,
    patience: int = 5,
    tol: float = 1e-4,
    callbacks: Any = (),
    verbose: bool = False,
    random_state: int | np.random.Generator | None = None,
    checkpoint: Any = None,
    checkpoint_every: int | None = None,
    resume: TrainState | None = None,
    rows: np.ndarray | None = None,
    **optimizer_options: Any,
) -> TrainResult:
    """Minimize ``objective`` over ``params = (W, b)`` on ``X (N, D)``, ``y (N,)``.

    Minibatch optimizers visit the samples in a fresh seeded permutation each epoch, without
    replacement; ``gd``, ``lbfgs`` and the searches use the whole training set at every step.
    ``X`` is indexed (``X[idx]``), never converted as a whole: uint8 images stay uint8.

    Args:
        objective: a :class:`linclass.objective.Objective`.
        params: initial ``(W (D, C), b (C,))``, never modified; ignored when ``resume`` is given.
        X, y: training inputs ``(N, D)`` and targets ``(N,)``.
        optimizer: a name in ``linclass.optim.OPTIMIZERS`` or an optimizer object
            (GradientTransformation, Search, LBFGS) built with its own hyperparameters.
        learning_rate: step size of ``gd``/``sgd``/``adam`` (None: the factory's default), or the
            search scale ``sigma`` of the searches; unused by ``lbfgs``.
        schedule: a name in ``linclass.optim.SCHEDULES`` whose options (``schedule_options``,
            e.g. ``{"decay_steps": 50}`` for ``"cosine"``) count epochs, or a callable of the
            optimizer step count returning the learning rate.
        momentum, nesterov: for ``sgd`` and ``gd``; the other optimizers do not use them.
        epochs: total epochs, resumed ones included (L-BFGS: iterations).
        max_iter: stop after this many steps in total; an epoch cut short is recorded as one.
        batch_size: samples per minibatch step (None: the full batch); ``gd``, ``lbfgs`` and
            the searches always use the full batch.
        X_val, y_val: validation data, evaluated after every epoch.
        early_stopping: stop after ``patience`` epochs without the validation score (accuracy;
            minus the loss for regression) improving by more than ``tol``, and return the best
            epoch's weights. Needs ``X_val``.
        tol: early-stopping improvement threshold; ``lbfgs``'s gradient tolerance.
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
        **optimizer_options: further factory arguments (``b1``, ``population_size``, ...).

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
        >>> result = fit(Objective("softmax"), params, X, y, optimizer="gd", learning_rate=1.0, epochs=20)
        >>> result.history["train_accuracy"][-1]
        1.0
    """
    epochs = check_int(epochs, "epochs")
    max_iter = None if max_iter is None else check_int(max_iter, "max_iter")
    patience = check_int(patience, "patience")
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
        rows = rows.astype(np.intp, copy=False)
        y = y[rows]
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val, y_val = check_data(X_val, y_val, X.shape[1], name="X_val")
    if early_stopping and X_val is None:
        raise ValueError("early_stopping=True needs validation data: pass X_val and y_val")
    n_samples = y.shape[0]
    batch = None if batch_size is None else min(check_int(batch_size, "batch_size"), n_samples)
    if isinstance(optimizer, str) and optimizer in ("gd", "lbfgs"):
        batch = None
    built = build_optimizer(
        optimizer, learning_rate=learning_rate, schedule=schedule, schedule_options=schedule_options,
        momentum=momentum, nesterov=nesterov, epochs=epochs, tol=tol,
        steps_per_epoch=1 if batch is None else math.ceil(n_samples / batch), options=optimizer_options,
    )
    if isinstance(built.optimizer, LBFGS):
        check_smooth(objective)
    if isinstance(built.optimizer, (Search, LBFGS)):
        batch = None

    def init_opt_state(start: tuple, rng: np.random.Generator) -> Any:
        if isinstance(built.optimizer, Search):
            return built.optimizer.init(start, rng)
        return () if isinstance(built.optimizer, LBFGS) else built.optimizer.init(start)

    keys = ["loss"] + ([] if objective.is_regression else ["train_accuracy"])
    if X_val is not None:
        keys += ["val_loss"] + ([] if objective.is_regression else ["val_accuracy"])
    keys += ["n_evaluations", "time"]
    if resume is None:
        start = check_params(params, X.shape[1])
        rng = check_random_state(random_state)
        state = TrainState(
            params=start, opt_state=init_opt_state(start, rng), rng_state=rng.bit_generator.state,
            n_samples=n_samples, batch_size=batch, optimizer=built.name, history={key: [] for key in keys},
        )
    else:
        state = _check_resume(resume, n_samples, batch, built.name, keys, X.shape[1])
        template = init_opt_state(state.params, np.random.default_rng(0))
        state = dataclasses.replace(state, opt_state=restore_tree(template, tree_leaves(state.opt_state)))
        rng = generator_from_state(state.rng_state)

    loop = _Loop(
        objective, X, y, X_val, y_val, built, rng, state, epochs=epochs, max_iter=max_iter, batch=batch,
        early_stopping=early_stopping, patience=patience, tol=tol, callbacks=callbacks,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, rows=rows,
    )
    with ProgressBar(
        total=epochs, initial=state.epoch, verbose=verbose, steps_per_epoch=loop.steps_per_epoch,
        initial_step=state.step,
    ) as bar:
        state = loop.run(bar)
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


def _all_finite(params: tuple) -> bool:
    return all(np.isfinite(p).all() for p in params)


class _Loop:
    """One run of ``fit``; ``self.state`` is replaced, never mutated, whenever control leaves a step loop."""

    def __init__(
        self, objective, X, y, X_val, y_val, built, rng, state, *, epochs, max_iter, batch, early_stopping,
        patience, tol, callbacks, checkpoint, checkpoint_every, rows,
    ) -> None:
        self.objective, self.X, self.y, self.X_val, self.y_val = objective, X, y, X_val, y_val
        self.optimizer, self.rate = built.optimizer, built.learning_rate
        self.rng = rng
        self.state = state
        self.epochs, self.max_iter, self.batch = epochs, max_iter, batch
        self.early_stopping, self.patience, self.tol = early_stopping, patience, tol
        self.callbacks, self.checkpoint, self.checkpoint_every = callbacks, checkpoint, checkpoint_every
        self.rows = rows
        self.n_samples = y.shape[0]
        self.steps_per_epoch = 1 if self.batch is None else math.ceil(self.n_samples / self.batch)
        self.clock = time.perf_counter() - state.elapsed

    @functools.cached_property
    def X_train(self) -> np.ndarray:
        """The training rows of ``X`` as one array (full-batch optimizers only)."""
        return self.X if self.rows is None else self.X[self.rows]

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock

    def budget_spent(self) -> bool:
        return self.max_iter is not None and self.state.n_steps >= self.max_iter

    def run(self, bar: ProgressBar) -> TrainState:
        self.bar = bar
        try:
            if isinstance(self.optimizer, LBFGS):
                self.run_lbfgs()
            else:
                self.run_epochs()
        except KeyboardInterrupt:
            if self.checkpoint is not None:
                self.checkpoint(self.state)
            raise
        return self.state

    def run_epochs(self) -> None:
        while self.state.epoch < self.epochs:
            if self.state.step == 0 and self.budget_spent():
                return
            cut = False
            if isinstance(self.optimizer, Search):
                if self.state.step == 0:
                    self.search_step()
            else:
                cut = self.gradient_steps()
            if self.end_epoch() or cut:
                return
            interrupts.check()

    def diverged(self, step: int, what: str, params: tuple) -> DivergenceError:
        epoch = self.state.epoch + 1
        if isinstance(self.optimizer, Search):
            hint = "lower the search scale sigma (learning_rate)"
        elif isinstance(self.optimizer, LBFGS):
            hint = "check the data for very large or non-finite values"
        else:
            rate = current_learning_rate(self.rate, self.state.n_steps)
            hint = "lower the learning rate" + ("" if rate is None else f" (now {rate!r})")
        message = f"training diverged at epoch {epoch}, step {step}: {what} — {hint}"
        return DivergenceError(message, params=params, epoch=epoch, step=step)

    def count_correct(self, params: tuple) -> int:
        if self.objective.is_regression:
            return 0
        return int(np.count_nonzero(self.objective.scores(params, self.X_train).argmax(axis=1) == self.y))

    def gradient_steps(self) -> bool:
        """Run the current epoch's remaining minibatch steps; True when ``max_iter`` cut it short."""
        state = self.state
        permutation = state.permutation
        if self.batch is not None and permutation is None:
            permutation = self.rng.permutation(self.n_samples)
        # Nothing else draws from the generator within an epoch: read its state once.
        rng_state = self.rng.bit_generator.state
        if permutation is not None:
            order = permutation if self.rows is None else self.rows[permutation]
            # one reused buffer for the gathered minibatch instead of a new array every step
            buffer = np.empty((self.batch, *self.X.shape[1:]), dtype=self.X.dtype)
        params, opt_state, done = state.params, state.opt_state, state.step
        loss_sum, n_correct, n_seen = state.epoch_loss_sum, state.epoch_correct, state.epoch_seen

        def snapshot() -> TrainState:
            """The state after the last completed step (built when the loop hands control back)."""
            taken = done - state.step
            if taken == 0:
                return state
            return dataclasses.replace(
                state, params=params, opt_state=opt_state, step=done, n_steps=state.n_steps + taken,
                n_evaluations=state.n_evaluations + taken, permutation=permutation, rng_state=rng_state,
                epoch_loss_sum=loss_sum, epoch_batches=state.epoch_batches + taken, epoch_correct=n_correct,
                epoch_seen=n_seen, elapsed=self.elapsed(),
            )

        # Per-step bookkeeping stays in locals; self.state is rebuilt from them whenever control
        # leaves this loop (end of the epoch, max_iter, divergence, KeyboardInterrupt).
        steps_left = None if self.max_iter is None else self.max_iter - state.n_steps
        try:
            for step in range(state.step, self.steps_per_epoch):
                if steps_left is not None and done - state.step >= steps_left:
                    self.state = snapshot()
                    return True
                if permutation is None:
                    X_batch, y_batch = self.X_train, self.y
                else:
                    start, stop = step * self.batch, (step + 1) * self.batch
                    idx = order[start:stop]
                    X_batch = np.take(self.X, idx, axis=0, out=buffer[: idx.shape[0]])
                    y_batch = self.y[permutation[start:stop]]
                result = self.objective.batch(params, X_batch, y_batch)
                if not math.isfinite(result.value):
                    self.state = snapshot()
                    raise self.diverged(step + 1, f"loss is {result.value}", params)
                updates, new_opt_state = self.optimizer.update(result.grads, opt_state, params)
                new_params = apply_updates(params, updates)
                if not _all_finite(new_params):
                    self.state = snapshot()
                    raise self.diverged(step + 1, "the weights are not finite", params)
                # plain stores only: no signal handler runs between them
                params, opt_state, done = new_params, new_opt_state, step + 1
                loss_sum, n_correct, n_seen = (
                    loss_sum + result.value, n_correct + result.n_correct, n_seen + y_batch.shape[0]
                )
                self.bar.advance()
                interrupts.check()
        except KeyboardInterrupt:
            self.state = snapshot()
            raise
        self.state = snapshot()
        return False

    def search_step(self) -> None:
        state = self.state
        n_evaluations = 0

        def loss_fn(candidate: tuple) -> float:
            nonlocal n_evaluations
            n_evaluations += 1
            return self.objective.value(candidate, self.X_train, self.y)

        opt_state = self.optimizer.step(state.opt_state, loss_fn, self.rng)
        params, loss = opt_state.best_params, opt_state.best_loss
        if not math.isfinite(loss):
            raise self.diverged(1, f"loss is {loss}", state.params)
        if not _all_finite(params):
            raise self.diverged(1, "the weights are not finite", state.params)
        self.state = dataclasses.replace(
            state, params=params, opt_state=opt_state, step=1, n_steps=state.n_steps + 1,
            n_evaluations=state.n_evaluations + n_evaluations, rng_state=self.rng.bit_generator.state,
            epoch_loss_sum=loss, epoch_batches=1, epoch_correct=self.count_correct(params),
            epoch_seen=self.n_samples, elapsed=self.elapsed(),
        )

    def run_lbfgs(self) -> None:
        if self.state.step > 0 and self.end_epoch():
            return
        remaining = self.epochs - self.state.epoch
        if self.max_iter is not None:
            remaining = min(remaining, self.max_iter - self.state.n_steps)
        if remaining <= 0:
            return
        minimizer = dataclasses.replace(self.optimizer, max_iter=min(self.optimizer.max_iter, remaining))
        last = {"params": None, "n_correct": 0, "n_evaluations": self.state.n_evaluations}

        def value_and_grad(params: tuple) -> tuple[float, tuple]:
            result = self.objective.batch(params, self.X_train, self.y)
            last.update(params=params, n_correct=result.n_correct, n_evaluations=last["n_evaluations"] + 1)
            return result.value, result.grads

        def after_iteration(params: tuple, value: float) -> bool:
            state = self.state
            if not math.isfinite(value):
                raise self.diverged(1, f"loss is {value}", state.params)
            if not _all_finite(params):
                raise self.diverged(1, "the weights are not finite", state.params)
            same = last["params"] is not None and all(
                np.array_equal(a, b) for a, b in zip(params, last["params"], strict=True)
            )
            self.state = dataclasses.replace(
                state, params=params, step=1, n_steps=state.n_steps + 1, n_evaluations=last["n_evaluations"],
                epoch_loss_sum=value, epoch_batches=1,
                epoch_correct=last["n_correct"] if same else self.count_correct(params),
                epoch_seen=self.n_samples, elapsed=self.elapsed(),
            )
            return not self.end_epoch() and self.state.epoch < self.epochs

        minimizer.minimize(value_and_grad, self.state.params, after_iteration)

    def end_epoch(self) -> bool:
        """Record the epoch, update early stopping, run callbacks and checkpoints; True to stop."""
        state = self.state
        metrics = {"loss": state.epoch_loss_sum / state.epoch_batches}
        if not self.objective.is_regression:
            metrics["train_accuracy"] = state.epoch_correct / state.epoch_seen
        if self.X_val is not None:
            metrics["val_loss"] = self.objective.value(state.params, self.X_val, self.y_val)
            if not self.objective.is_regression:
                metrics["val_accuracy"] = self.objective.accuracy(state.params, self.X_val, self.y_val)
        metrics["n_evaluations"] = state.n_evaluations
        metrics["time"] = self.elapsed()
        epoch = state.epoch + 1
        best = {}
        if self.early_stopping:
            score = -metrics["val_loss"] if self.objective.is_regression else metrics["val_accuracy"]
            if score > state.best_score + self.tol:
                best = dict(best_params=state.params, best_score=score, best_epoch=epoch, bad_epochs=0)
            else:
                best = {"bad_epochs": state.bad_epochs + 1}
        state = dataclasses.replace(
            state, epoch=epoch, step=0, permutation=None, epoch_loss_sum=0.0, epoch_batches=0,
            epoch_correct=0, epoch_seen=0, elapsed=metrics["time"],
            history={key: [*values, metrics[key]] for key, values in state.history.items()}, **best,
        )
        self.state = state
        self.bar.update(metrics)
        stop = False
        event = EpochEnd(epoch, metrics, state.history, state.params, state)
        for callback in self.callbacks:
            try:
                stop = callback(event) is False or stop
            except StopTraining:
                stop = True
        if self.checkpoint_every is not None and epoch % self.checkpoint_every == 0 and self.checkpoint:
            self.checkpoint(state)
        return stop or (self.early_stopping and state.bad_epochs >= self.patience)
