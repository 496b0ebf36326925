"""Gradient-free searches: the lecture's random search, random local search and a genetic algorithm.

Training is a search for the weights with the lowest loss. These methods only evaluate the
loss, never its gradient, and share a small protocol (:class:`Search`)::

    state = search.init(params, rng)                 # params = (W, b) fixes shapes and dtypes
    state = search.step(state, loss_fn, rng)         # loss_fn(params) -> float
    state.best_params, state.best_loss

Each ``step`` evaluates a fixed number of candidates, exactly one ``loss_fn`` call each, so
methods can be compared at an equal budget of loss evaluations:

============================  ===============================================================
``random_search``             ``n_candidates`` (fresh ``W ~ N(0, sigma^2)`` each)
``random_local_search``       ``n_candidates`` (the first step spends one on the start point)
``genetic``                   ``population_size`` in the first step, ``population_size -
                              n_elite`` after (the elites keep their evaluated loss)
============================  ===============================================================

``sigma`` defaults to the lecture's ``1e-4`` (its random search draws
``W = np.random.randn(10, 3073) * 0.0001`` for raw CIFAR-10 pixels). The argmax of the scores
does not depend on the scale of ``W`` when ``b = 0``, so near the origin the search is over
directions; raise ``sigma`` to explore larger weights. Every random draw comes from the
Generator passed to ``init``/``step``: the same seed gives the same bits.

Tensor weights keep the search on their device: candidates, the population and its breeding
are tensors there, and only the losses (numbers) come back. The random draws are NumPy's, made
on the host and copied to the device, so a search on tensors visits the same candidates as one
on arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from linclass._arrays import concat, copy, numpy_dtype, where
from linclass._devices import is_tensor, on_device_of
from linclass._validation import check_fraction, check_int, check_positive

Params = tuple[np.ndarray, ...]
LossFn = Callable[[Params], float]

CROSSOVERS = ("uniform", "blend")


class Search(NamedTuple):
    """A gradient-free optimizer.

    Attributes:
        init: ``init(params, rng) -> state``; ``state.best_params`` starts at ``params`` with
            ``state.best_loss = inf``.
        step: ``step(state, loss_fn, rng) -> state``; evaluates a fixed number of candidates.
    """

    init: Callable[[Params, np.random.Generator], Any]
    step: Callable[[Any, LossFn, np.random.Generator], Any]


class SearchState(NamedTuple):
    best_params: Params
    best_loss: float


class GeneticState(NamedTuple):
    """``population`` holds one array per parameter with a leading axis of ``population_size``."""

    population: Params
    fitness: np.ndarray
    best_params: Params
    best_loss: float
    generation: int


def _gaussian(params: Params, sigma: float, rng: np.random.Generator, size: int | None = None) -> Params:
    """``sigma * N(0, 1)`` noise shaped like ``params`` (with a leading ``size`` axis when given)."""
    lead = () if size is None else (size,)
    noise = []
    for p in params:
        dtype = numpy_dtype(p.dtype)
        draw = dtype.type(sigma) * rng.standard_normal(lead + tuple(p.shape), dtype=dtype)
        noise.append(on_device_of(p, draw))
    return tuple(noise)


def _arrays(params: Params) -> Params:
    """``params`` as arrays; tensors stay tensors."""
    return tuple(p if is_tensor(p) else np.asarray(p) for p in params)


def _init_state(params: Params, rng: np.random.Generator) -> SearchState:
    return SearchState(best_params=_arrays(params), best_loss=math.inf)


def random_search(sigma: float = 1e-4, n_candidates: int = 10) -> Search:
    """Strategy #1 of the lecture: sample ``W ~ N(0, sigma^2)`` (and ``b``), keep the best by loss.

    The starting point only fixes shapes and dtypes; it is not a candidate.

    Args:
        sigma: standard deviation of every sampled weight.
        n_candidates: loss evaluations per step.

    Example:
        >>> search = random_search(sigma=1.0, n_candidates=50)
        >>> rng = np.random.default_rng(0)
        >>> loss_fn = lambda p: float(np.sum((p[0] - 1) ** 2))
        >>> state = search.step(search.init((np.zeros(2),), rng), loss_fn, rng)
        >>> state.best_loss < 0.5
        True
    """
    sigma = check_positive(sigma, "sigma")
    n_candidates = check_int(n_candidates, "n_candidates")

    def step(state: SearchState, loss_fn: LossFn, rng: np.random.Generator) -> SearchState:
        best_params, best_loss = state
        for _ in range(n_candidates):
            candidate = _gaussian(best_params, sigma, rng)
            loss = float(loss_fn(candidate))
            if loss < best_loss:
                best_params, best_loss = candidate, loss
        return SearchState(best_params, best_loss)

    return Search(_init_state, step)


def random_local_search(sigma: float = 1e-4, n_candidates: int = 10) -> Search:
    """Strategy #2: perturb the best weights, ``W_try = W + sigma * N(0, 1)``, keep improvements.

    Args:
        sigma: step size (standard deviation of each perturbation).
        n_candidates: loss evaluations per step; the first step spends one on the start point.

    Example:
        >>> search = random_local_search(sigma=0.1, n_candidates=100)
        >>> rng = np.random.default_rng(0)
        >>> loss_fn = lambda p: float(np.sum((p[0] - 1) ** 2))
        >>> state = search.step(search.init((np.zeros(2),), rng), loss_fn, rng)
        >>> state.best_loss < 2.0
        True
    """
    sigma = check_positive(sigma, "sigma")
    n_candidates = check_int(n_candidates, "n_candidates")

    def step(state: SearchState, loss_fn: LossFn, rng: np.random.Generator) -> SearchState:
        best_params, best_loss = state
        remaining = n_candidates
        if math.isinf(best_loss):
            best_loss = float(loss_fn(best_params))
            remaining -= 1
        for _ in range(remaining):
            noise = _gaussian(best_params, sigma, rng)
            candidate = tuple(p + n for p, n in zip(best_params, noise, strict=True))
            loss = float(loss_fn(candidate))
            if loss < best_loss:
                best_params, best_loss = candidate, loss
        return SearchState(best_params, best_loss)

    return Search(_init_state, step)


def genetic(
    sigma: float = 1e-4,
    population_size: int = 20,
    n_elite: int = 2,
    tournament_size: int = 3,
    crossover: str = "uniform",
    mutation_rate: float = 1.0,
) -> Search:
    """A genetic algorithm (population-based search) over the flattened weights.

    The first generation is the start point and ``population_size - 1`` Gaussian perturbations
    of it. Each later step keeps the ``n_elite`` best members unchanged (elitism) and breeds
    ``population_size - n_elite`` children: two parents chosen by tournament selection (the
    lowest loss of ``tournament_size`` members drawn with replacement), crossed over gene by
    gene (``"uniform"``: each weight from either parent; ``"blend"``: ``a + u (b - a)``,
    ``u ~ U(0, 1)``) and mutated (each weight, with probability ``mutation_rate``, gets
    ``sigma * N(0, 1)`` added).

    Args:
        sigma: mutation (and initial spread) standard deviation.
        population_size: members per generation (>= 2).
        n_elite: best members copied into the next generation, ``0 <= n_elite < population_size``.
        tournament_size: members per selection tournament (>= 1; 1 is uniform random selection).
        crossover: ``"uniform"`` or ``"blend"``.
        mutation_rate: probability that a weight is mutated, in ``[0, 1]``.

    Example:
        >>> search = genetic(sigma=0.5, population_size=10)
        >>> rng = np.random.default_rng(0)
        >>> state = search.init((np.zeros(2),), rng)
        >>> for _ in range(10):
        ...     state = search.step(state, lambda p: float(np.sum((p[0] - 1) ** 2)), rng)
        >>> state.best_loss < 0.1
        True
    """
    sigma = check_positive(sigma, "sigma")
    population_size = check_int(population_size, "population_size", minimum=2)
    n_elite = check_int(n_elite, "n_elite", minimum=0)
    if n_elite >= population_size:
        raise ValueError(f"n_elite must be < population_size={population_size}, got {n_elite}")
    tournament_size = check_int(tournament_size, "tournament_size")
    if crossover not in CROSSOVERS:
        raise ValueError(f"crossover={crossover!r} is not supported; expected one of {list(CROSSOVERS)}")
    mutation_rate = check_fraction(mutation_rate, "mutation_rate")
    n_children = population_size - n_elite

    def init(params: Params, rng: np.random.Generator) -> GeneticState:
        params = _arrays(params)
        noise = _gaussian(params, sigma, rng, size=population_size)
        for n in noise:
            n[0] = 0  # member 0 is the start point itself
        population = tuple(p[None] + n for p, n in zip(params, noise, strict=True))
        fitness = np.full(population_size, np.inf)
        return GeneticState(population, fitness, params, math.inf, 0)

    def select(fitness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        entrants = rng.integers(population_size, size=(n_children, tournament_size))
        return entrants[np.arange(n_children), np.argmin(fitness[entrants], axis=1)]

    def breed(population: Params, fitness: np.ndarray, rng: np.random.Generator) -> Params:
        first, second = select(fitness, rng), select(fitness, rng)
        children = []
        for members in population:
            a, b = members[on_device_of(members, first)], members[on_device_of(members, second)]
            shape, dtype = tuple(a.shape), numpy_dtype(a.dtype)
            if crossover == "uniform":
                child = where(on_device_of(a, rng.random(shape) < 0.5), a, b)
            else:
                child = a + on_device_of(a, rng.random(shape, dtype=dtype)) * (b - a)
            mutation = dtype.type(sigma) * rng.standard_normal(shape, dtype=dtype)
            if mutation_rate < 1.0:
                mutation *= rng.random(shape) < mutation_rate
            children.append(child + on_device_of(a, mutation))
        return tuple(children)

    def evaluate(population: Params, loss_fn: LossFn) -> np.ndarray:
        size = population[0].shape[0]
        return np.array([float(loss_fn(tuple(m[i] for m in population))) for i in range(size)])

    def step(state: GeneticState, loss_fn: LossFn, rng: np.random.Generator) -> GeneticState:
        if state.generation == 0:
            population, fitness = state.population, evaluate(state.population, loss_fn)
        else:
            elites = np.argsort(state.fitness, kind="stable")[:n_elite]
            children = breed(state.population, state.fitness, rng)
            population = tuple(
                concat([m[on_device_of(m, elites)], c])
                for m, c in zip(state.population, children, strict=True)
            )
            fitness = np.concatenate([state.fitness[elites], evaluate(children, loss_fn)])
        # NaN losses rank last, so a diverging member is never selected as the best.
        ranked = np.where(np.isnan(fitness), np.inf, fitness)
        best = int(np.argmin(ranked))
        best_params, best_loss = state.best_params, state.best_loss
        if ranked[best] < best_loss:
            best_params, best_loss = tuple(copy(m[best]) for m in population), float(ranked[best])
        return GeneticState(population, ranked, best_params, best_loss, state.generation + 1)

    return Search(init, step)
