"""Hyperparameter search over the learning rate and the regularization strength.

The CS231n recipe: train one model per setting on the training part, measure it on the held-out
validation part, keep the best. Settings come from a grid (every pair of the given values) or
from random search, which draws ``n_trials`` pairs log-uniformly from ranges (or uniformly from
lists of values): random search tries more distinct values of the hyperparameter that matters.

The data are loaded and split once (``experiment.prepare_data``) and every trial trains with the
configuration's seed on one thread (the fused kernels split a batch into one part per thread,
so the thread count changes the rounding), so a trial's result depends only on its two values:
the results are the same whether the trials run one after another or side by side in
``n_jobs`` worker processes, which is how a search uses several cores.

    >>> from linclass.app.experiment import TrainConfig
    >>> result = tune(TrainConfig(data="digits", optimizer="sgd", epochs=5), learning_rates=[1e-2, 1e-1],
    ...               alphas=[1e-4, 1e-3])
    >>> round(result.results[0]["val_accuracy"], 2), result.config.learning_rate
    (0.94, 0.1)
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import NamedTuple

import numpy as np

from linclass._validation import check_int, check_positive, check_random_state
from linclass.app.config import DEFAULT_ALPHAS, DEFAULT_LEARNING_RATES, SEARCHES, SettingError
from linclass.app.experiment import Splits, TrainConfig, TrainRun, prepare_data, train_model
from linclass.kernels.threads import limit_threads
from linclass.train import DivergenceError


class LogRange(NamedTuple):
    """A range ``[low, high]`` sampled log-uniformly: ``10 ** uniform(log10(low), log10(high))``."""

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return 10.0 ** rng.uniform(math.log10(self.low), math.log10(self.high), size=n)


Values = Sequence[float] | LogRange


class TuneResult(NamedTuple):
    """The outcome of a search.

    Attributes:
        results: one dict per trial (``trial``, ``learning_rate``, ``alpha``, ``train_accuracy``,
            ``val_accuracy``, ``seconds``, ``diverged``), best validation accuracy first;
            diverged trials have NaN accuracies and come last.
        best: the best setting's run: its model and its accuracy on every split (test included
            when the data have a test split).
        config: the best setting's full configuration.
    """

    results: list[dict]
    best: TrainRun
    config: TrainConfig


def _check_values(values: Values, name: str) -> Values:
    if isinstance(values, LogRange):
        low = check_positive(values.low, f"{name}.low")
        high = check_positive(values.high, f"{name}.high")
        if low > high:
            raise ValueError(f"{name} range must have low <= high, got {low:g}:{high:g}")
        return LogRange(low, high)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty list of numbers or a LogRange, got {values!r}")
    return [check_positive(v, f"{name}[{i}]", allow_zero=name == "alphas") for i, v in enumerate(values)]


def search_space(
    learning_rates: Values = DEFAULT_LEARNING_RATES,
    alphas: Values = DEFAULT_ALPHAS,
    *,
    search: str = "grid",
    n_trials: int = 10,
    random_state: int | np.random.Generator | None = None,
) -> list[tuple[float, float]]:
    """The ``(learning_rate, alpha)`` pairs a search tries, in trial order.

    Args:
        learning_rates, alphas: lists of values, or ``LogRange(low, high)`` for random search.
        search: ``"grid"``: every pair of the two lists (learning rate major);
            ``"random"``: ``n_trials`` pairs, each value drawn log-uniformly from a range or
            uniformly from a list (learning rates first, then alphas).
        n_trials: number of random pairs (ignored by the grid).
        random_state: seed or Generator for random search.

    Example:
        >>> search_space([1e-3, 1e-2], [0.0, 1e-4])
        [(0.001, 0.0), (0.001, 0.0001), (0.01, 0.0), (0.01, 0.0001)]
        >>> pairs = search_space(LogRange(1e-4, 1e-1), LogRange(1e-5, 1e-2), search="random",
        ...                      n_trials=3, random_state=0)
        >>> len(pairs), all(1e-4 <= lr <= 1e-1 for lr, _ in pairs)
        (3, True)
    """
    if search not in SEARCHES:
        raise ValueError(f"search={search!r} is not supported; expected one of {list(SEARCHES)}")
    learning_rates = _check_values(learning_rates, "learning_rates")
    alphas = _check_values(alphas, "alphas")
    if search == "grid":
        for name, values in (("learning_rates", learning_rates), ("alphas", alphas)):
            if isinstance(values, LogRange):
                raise ValueError(
                    f"{name} is a range ({values.low:g}:{values.high:g}) but search='grid' needs lists "
                    "of values; use search='random' to sample from ranges"
                )
        return [(float(lr), float(a)) for lr in learning_rates for a in alphas]
    n_trials = check_int(n_trials, "n_trials")
    rng = check_random_state(random_state)
    drawn = []
    for values in (learning_rates, alphas):
        if isinstance(values, LogRange):
            drawn.append(values.sample(rng, n_trials))
        else:
            drawn.append(np.asarray(values, dtype=np.float64)[rng.integers(len(values), size=n_trials)])
    return [(float(lr), float(a)) for lr, a in zip(*drawn, strict=True)]


def tune(
    config: TrainConfig,
    *,
    learning_rates: Values = DEFAULT_LEARNING_RATES,
    alphas: Values = DEFAULT_ALPHAS,
    search: str = "grid",
    n_trials: int = 10,
    n_jobs: int = 1,
    splits: Splits | None = None,
    callback: Callable[[dict], None] | None = None,
) -> TuneResult:
    """Train one model per ``(learning_rate, alpha)`` pair and rank them by validation accuracy.

    Args:
        config: every other setting of the runs (data, loss, optimizer, epochs, random_state, ...);
            ``config.random_state`` also seeds random search.
        learning_rates, alphas, search, n_trials: the pairs to try (see :func:`search_space`).
        n_jobs: worker processes (``-1``: one per CPU), each running one single-threaded trial
            at a time; the results do not depend on it.
        splits: already prepared data (otherwise ``prepare_data(config)``, once).
        callback: called with each trial's dict as it finishes (in completion order).

    Returns:
        a :class:`TuneResult`.

    Raises:
        ValueError: no validation data, or every trial diverged.
    """
    pairs = search_space(
        learning_rates, alphas, search=search, n_trials=n_trials, random_state=config.random_state
    )
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else check_int(n_jobs, "n_jobs")
    splits = prepare_data(config) if splits is None else splits
    if len(splits.y_val) == 0:
        raise SettingError(
            "validation_fraction", config.validation_fraction,
            "tuning needs validation rows, but this share of the data gives none; raise it",
        )  # fmt: skip
    trial_splits = _without_test_data(splits)
    configs = [dataclasses.replace(config, learning_rate=lr, alpha=a) for lr, a in pairs]
    results: list[dict | None] = [None] * len(configs)
    best_run: TrainRun | None = None
    if n_jobs == 1 or len(configs) == 1:
        best_record = None
        for trial, trial_config in enumerate(configs):
            record, run = _run_trial(trial_config, trial_splits)
            results[trial] = record = _with_trial(record, trial)
            if run is not None and (best_record is None or _rank(record) < _rank(best_record)):
                best_run, best_record = run, record
            if callback is not None:
                callback(record)
    else:
        workers = min(n_jobs, len(configs))
        # "spawn": a forked child of a process whose OpenMP or Numba threads are running can hang.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(trial_splits,)
        ) as pool:
            futures = {pool.submit(_run_trial_in_worker, c): trial for trial, c in enumerate(configs)}
            for future in as_completed(futures):
                trial = futures[future]
                results[trial] = _with_trial(future.result(), trial)
                if callback is not None:
                    callback(results[trial])
    ranked = sorted(results, key=_rank)
    if ranked[0]["diverged"]:
        raise ValueError(
            f"every one of the {len(ranked)} trials diverged (the loss became NaN or infinite); "
            "try smaller learning rates"
        )
    best_config = configs[ranked[0]["trial"] - 1]
    if best_run is None:
        # Trials ran in workers, which return numbers only: train the winner again (same seed,
        # same data, so the same model).
        with limit_threads(1):
            best_run = train_model(best_config, splits=trial_splits)
    accuracy = dict(best_run.accuracy)
    if len(splits.y_test):
        accuracy["test"] = best_run.model.score(splits.X_test, splits.y_test)
    return TuneResult(ranked, TrainRun(best_run.model, splits, accuracy), best_config)


def _rank(record: dict) -> tuple[float, int]:
    value = record["val_accuracy"]
    return (-value if math.isfinite(value) else math.inf, record["trial"])


def _with_trial(record: dict, trial: int) -> dict:
    return {"trial": trial + 1, **record}


def _run_trial(config: TrainConfig, splits: Splits) -> tuple[dict, TrainRun | None]:
    start = time.perf_counter()
    try:
        with limit_threads(1):
            run = train_model(config, splits=splits)
    except DivergenceError:
        run = None
    seconds = time.perf_counter() - start
    record = {
        "learning_rate": config.learning_rate,
        "alpha": config.alpha,
        "train_accuracy": math.nan if run is None else run.accuracy["train"],
        "val_accuracy": math.nan if run is None else run.accuracy["val"],
        "seconds": seconds,
        "diverged": run is None,
    }
    return record, run


def _without_test_data(splits: Splits) -> Splits:
    """The training and validation parts only: what a trial needs, and what workers receive."""
    dataset = dataclasses.replace(
        splits.dataset,
        X_train=splits.dataset.X_train[:0],
        y_train=splits.dataset.y_train[:0],
        X_test=splits.dataset.X_test[:0],
        y_test=splits.dataset.y_test[:0],
    )
    return splits._replace(dataset=dataset, X_test=splits.X_test[:0], y_test=splits.y_test[:0])


_worker_splits: Splits | None = None


def _init_worker(splits: Splits) -> None:
    # Each worker process receives the data once, not with every trial.
    global _worker_splits
    _worker_splits = splits


def _run_trial_in_worker(config: TrainConfig) -> dict:
    return _run_trial(config, _worker_splits)[0]
