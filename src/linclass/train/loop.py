"""How a run advances, one step at a time (used by ``linclass.train.fit``).

``_Loop.run`` hands the run to the :class:`Driver` of the optimizer's shape (``DRIVERS``):
gradient steps on minibatches or the full batch, gradient-free search steps, or L-BFGS
iterations; every driver ends each epoch with the same per-epoch work (history, validation,
early stopping, callbacks, checkpoints, the progress bar). ``self.state`` is a ``TrainState``
rebuilt whenever control leaves a step loop, so an interruption always leaves the last
completed step to checkpoint.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass._arrays import equal
from linclass._devices import all_finite, is_tensor, on_device_of
from linclass.kernels.cluster_data import is_dask_collection
from linclass.optim import LBFGS, GradientTransformation, Search, apply_updates, check_smooth, solver
from linclass.progress import ProgressBar
from linclass.train import interrupts
from linclass.train._blocks import minibatch_steps, run_block_epoch
from linclass.train.compiled import CompiledSteps, python_loop_requested
from linclass.train.events import DivergenceError, EpochEnd, StopTraining
from linclass.train.state import TrainState


class _Loop:
    """One run of ``fit``; ``self.state`` is replaced, never mutated, whenever control leaves a step loop."""

    def __init__(
        self, objective, X, y, X_val, y_val, built, rng, state, *, epochs, max_iter, batch, early_stopping,
        patience, tol, callbacks, checkpoint, checkpoint_every, rows, loop="auto",
    ) -> None:
        self.objective, self.X, self.y, self.X_val, self.y_val = objective, X, y, X_val, y_val
        self.optimizer, self.rate = built.optimizer, built.learning_rate
        self.driver = driver_for(built.optimizer)
        self.rng = rng
        self.state = state
        self.epochs, self.max_iter, self.batch = epochs, max_iter, batch
        self.early_stopping, self.patience, self.tol = early_stopping, patience, tol
        self.callbacks, self.checkpoint, self.checkpoint_every = callbacks, checkpoint, checkpoint_every
        self.rows, self.loop = rows, loop
        self.n_samples = y.shape[0]
        self.steps_per_epoch = minibatch_steps(X, self.n_samples, batch)
        self.clock = time.perf_counter() - state.elapsed

    @functools.cached_property
    def compiled(self) -> CompiledSteps | None:
        """The compiled minibatch steps of this run (:mod:`linclass.train.compiled`), or None.

        Raises:
            ValueError: ``loop="compiled"`` and the compiled loop does not cover the run.
        """
        if self.loop == "python" or (self.loop == "auto" and python_loop_requested()):
            return None
        if self.batch is None or not isinstance(self.optimizer, GradientTransformation):
            built = "it runs no minibatch steps (a full-batch or gradient-free optimizer)"
        else:
            built = CompiledSteps.build(self.objective, self.optimizer, self.X, self.y, self.state.params,
                                        self.batch)
        if isinstance(built, str):
            if self.loop == "compiled":
                raise ValueError(f"loop='compiled' cannot run this training: {built}")
            return None
        return built

    @functools.cached_property
    def X_train(self) -> np.ndarray:
        """The training rows of ``X`` as one array (full-batch optimizers only)."""
        return self.X if self.rows is None else self.X[on_device_of(self.X, self.rows)]

    def elapsed(self) -> float:
        return time.perf_counter() - self.clock

    def budget_spent(self) -> bool:
        return self.max_iter is not None and self.state.n_steps >= self.max_iter

    def run(self, bar: ProgressBar) -> TrainState:
        self.bar = bar
        try:
            self.driver.run(self)
        except KeyboardInterrupt:
            if self.checkpoint is not None:
                self.checkpoint(self.state)
            raise
        return self.state

    def run_epochs(self, advance: Callable[[], bool]) -> None:
        """Epochs of ``advance()`` (True when ``max_iter`` cut the epoch short) and the per-epoch work."""
        while self.state.epoch < self.epochs:
            if self.state.step == 0 and self.budget_spent():
                return
            cut = advance()
            if self.end_epoch() or cut:
                return
            interrupts.check()

    def run_gradient_steps(self) -> None:
        if self.batch is not None and is_dask_collection(self.X):
            self.run_epochs(lambda: run_block_epoch(self))  # minibatches of dask data: block passes
        else:
            self.run_epochs(self.gradient_steps)

    def run_search(self) -> None:
        self.run_epochs(self.search_epoch)

    def search_epoch(self) -> bool:
        if self.state.step == 0:
            self.search_step()
        return False

    def diverged(self, step: int, what: str, params: tuple) -> DivergenceError:
        epoch = self.state.epoch + 1
        hint = self.driver.hint(self.rate, self.state.n_steps)
        message = f"training diverged at epoch {epoch}, step {step}: {what} — {hint}"
        return DivergenceError(message, params=params, epoch=epoch, step=step)

    def count_correct(self, params: tuple) -> int:
        if self.objective.is_regression:
            return 0
        if is_dask_collection(self.X):  # counted on the workers, not by bringing the scores here
            W, b = params
            return self.objective.kernels.linear_loss(
                self.X, self.y, W, b, loss=self.objective.loss, class_weight=self.objective.class_weight,
                transform=self.objective.transform, with_grad=False,
            ).n_correct
        return int((self.objective.scores(params, self.X_train).argmax(axis=1) == self.y).sum())

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
            if is_tensor(self.X):  # indices on the data's device, moved once per epoch
                order, y_order = on_device_of(self.X, order), on_device_of(self.y, permutation)
            else:  # one reused buffer for the gathered minibatch instead of a new array every step
                buffer = np.empty((self.batch, *self.X.shape[1:]), dtype=self.X.dtype)
                y_order = permutation
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
        last = self.steps_per_epoch
        if steps_left is not None:
            last = min(last, state.step + steps_left)
        compiled = self.compiled if permutation is not None else None
        if compiled is not None:
            labels, targets = compiled.epoch_targets(self.y[y_order], params[0])
        step = state.step
        try:
            while step < self.steps_per_epoch:
                if step >= last:
                    self.state = snapshot()
                    return True
                if compiled is not None:
                    chunk = compiled.run(params, opt_state, order, labels, targets, step, last - step)
                    if chunk.taken:
                        for value in chunk.values.tolist():  # the reference's order of additions
                            loss_sum += value
                        # plain stores only: no signal handler runs between them
                        params, opt_state, done = chunk.params, chunk.opt_state, step + chunk.taken
                        n_correct, n_seen, step = n_correct + chunk.n_correct, n_seen + chunk.n_seen, done
                        self.bar.advance(chunk.taken)
                        if step < self.steps_per_epoch:  # after the last step, once the epoch is recorded
                            interrupts.check()
                        continue
                # The reference step (and the one the compiled loop leaves to it: see kernels.epoch).
                if permutation is None:
                    X_batch, y_batch = self.X_train, self.y
                else:
                    start, stop = step * self.batch, (step + 1) * self.batch
                    idx = order[start:stop]
                    if is_tensor(self.X):
                        X_batch = self.X[idx]
                    else:
                        X_batch = np.take(self.X, idx, axis=0, out=buffer[: idx.shape[0]])
                    y_batch = self.y[y_order[start:stop]]
                result = self.objective.batch(params, X_batch, y_batch)
                if not math.isfinite(result.value):
                    self.state = snapshot()
                    raise self.diverged(step + 1, f"loss is {result.value}", params)
                updates, new_opt_state = self.optimizer.update(result.grads, opt_state, params)
                new_params = apply_updates(params, updates)
                if not all_finite(new_params):
                    self.state = snapshot()
                    raise self.diverged(step + 1, "the weights are not finite", params)
                # plain stores only: no signal handler runs between them
                params, opt_state, done = new_params, new_opt_state, step + 1
                loss_sum, n_correct, n_seen = (
                    loss_sum + result.value, n_correct + result.n_correct, n_seen + y_batch.shape[0]
                )
                step = done
                self.bar.advance()
                if step < self.steps_per_epoch:
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
        if not all_finite(params):
            raise self.diverged(1, "the weights are not finite", state.params)
        self.state = dataclasses.replace(
            state, params=params, opt_state=opt_state, step=1, n_steps=state.n_steps + 1,
            n_evaluations=state.n_evaluations + n_evaluations, rng_state=self.rng.bit_generator.state,
            epoch_loss_sum=loss, epoch_batches=1, epoch_correct=self.count_correct(params),
            epoch_seen=self.n_samples, elapsed=self.elapsed(),
        )

    def run_lbfgs(self) -> None:
        """One L-BFGS iteration per epoch; the whole iteration state travels in ``opt_state``."""
        if self.state.step > 0 and self.end_epoch():
            return
        state = self.state
        dtype = state.params[0].dtype
        solver_state, problem = solver.prepare(self.optimizer, state.opt_state, self.objective, self.X_train,
                                               self.y, dtype)
        run = solver_state.lbfgs
        if not run.started:
            run = self.optimizer.start(run, problem.fun)
            if not math.isfinite(run.value):
                raise self.diverged(1, f"loss is {run.value}", state.params)
            self.state = dataclasses.replace(
                state, opt_state=solver_state._replace(lbfgs=run), n_evaluations=state.n_evaluations + 1,
            )
        while not run.done and self.state.epoch < self.epochs and not self.budget_spent():
            state = self.state
            opt_state = solver.iterate(self.optimizer, state.opt_state, problem)
            run = opt_state.lbfgs
            params = problem.params(run.x)
            if not math.isfinite(run.value):
                raise self.diverged(1, f"loss is {run.value}", state.params)
            if not all_finite(params):
                raise self.diverged(1, "the weights are not finite", state.params)
            same = problem.last_params is not None and all(
                equal(a, b) for a, b in zip(params, problem.last_params, strict=True)
            )
            self.state = dataclasses.replace(
                state, params=params, opt_state=opt_state, step=1,
                n_steps=state.n_steps + 1,
                n_evaluations=state.n_evaluations + run.n_evaluations - state.opt_state.lbfgs.n_evaluations,
                epoch_loss_sum=run.value, epoch_batches=1,
                epoch_correct=problem.last_correct if same else self.count_correct(params),
                epoch_seen=self.n_samples, elapsed=self.elapsed(),
            )
            if self.end_epoch():
                return
            interrupts.check()

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


def _rate_hint(rate: Any, n_steps: int) -> str:
    now = rate(n_steps) if callable(rate) else rate
    return "lower the learning rate" + ("" if now is None else f" (now {now!r})")


class Driver(NamedTuple):
    """How the loop drives optimizers of one shape.

    Attributes:
        init: ``init(optimizer, params, rng) -> state`` of a new run.
        run: ``run(loop)``: the whole run, epoch by epoch.
        hint: ``hint(learning_rate, n_steps)``: what to change after a divergence.
        check: ``check(objective)`` raising ValueError when the optimizer cannot minimize it.
    """

    init: Callable[[Any, tuple, np.random.Generator], Any]
    run: Callable[[_Loop], None]
    hint: Callable[[Any, int], str]
    check: Callable[[Any], None]


def _no_check(objective: Any) -> None:
    return None


DRIVERS: tuple[tuple[type, Driver], ...] = (
    (GradientTransformation, Driver(lambda opt, params, rng: opt.init(params), _Loop.run_gradient_steps,
                                    _rate_hint, _no_check)),
    (Search, Driver(lambda opt, params, rng: opt.init(params, rng), _Loop.run_search,
                    lambda rate, n: "lower the search scale sigma (learning_rate)", _no_check)),
    (LBFGS, Driver(lambda opt, params, rng: solver.init_state(opt, params), _Loop.run_lbfgs,
                   lambda rate, n: "check the data for very large or non-finite values", check_smooth)),
)


def driver_for(optimizer: Any) -> Driver:
    """The :class:`Driver` of ``optimizer``'s shape."""
    for kind, driver in DRIVERS:
        if isinstance(optimizer, kind):
            return driver
    raise TypeError(f"no training driver for optimizer {optimizer!r}")
