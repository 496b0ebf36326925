"""Gradient-free searches: they improve the loss, count evaluations exactly and are seeded."""

import math

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.optim import OPTIMIZERS, genetic, random_local_search, random_search, sgd
from linclass.train import fit

SEARCHES = {
    "random_search": lambda: random_search(sigma=0.5, n_candidates=10),
    "random_local_search": lambda: random_local_search(sigma=0.1, n_candidates=10),
    "genetic_uniform": lambda: genetic(sigma=0.1, population_size=10, crossover="uniform"),
    "genetic_blend": lambda: genetic(sigma=0.1, population_size=10, crossover="blend", mutation_rate=0.5),
}


def blobs(seed=0, n_per_class=30, n_features=4, n_classes=3, dtype=np.float64):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.normal(scale=2.0, size=(n_classes, n_features))[y] + rng.normal(size=(y.size, n_features))
    return X.astype(dtype), y


def counting_loss(objective, X, y):
    calls = []

    def loss_fn(params):
        calls.append(1)
        return objective.value(params, X, y)

    return loss_fn, calls


def run_search(search, n_steps, seed, params, loss_fn):
    rng = np.random.default_rng(seed)
    state = search.init(params, rng)
    for _ in range(n_steps):
        state = search.step(state, loss_fn, rng)
    return state


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_search_finds_a_lower_loss_than_the_start(name):
    X, y = blobs()
    objective = Objective(loss="softmax")
    rng = np.random.default_rng(1)
    start = (0.01 * rng.standard_normal((4, 3)), np.zeros(3))
    loss_fn, _ = counting_loss(objective, X, y)
    state = run_search(SEARCHES[name](), 10, 0, start, loss_fn)
    assert state.best_loss < objective.value(start, X, y) - 0.1
    assert state.best_loss == pytest.approx(objective.value(state.best_params, X, y), rel=1e-12)


def test_each_step_spends_a_fixed_number_of_evaluations():
    X, y = blobs()
    objective = Objective(loss="softmax")
    params = (np.zeros((4, 3)), np.zeros(3))
    for search, per_step in [
        (random_search(n_candidates=7), [7, 7, 7]),
        (random_local_search(n_candidates=5), [5, 5, 5]),
        (genetic(population_size=12, n_elite=3), [12, 9, 9]),
    ]:
        loss_fn, calls = counting_loss(objective, X, y)
        rng = np.random.default_rng(0)
        state = search.init(params, rng)
        counts = []
        for _ in range(3):
            before = len(calls)
            state = search.step(state, loss_fn, rng)
            counts.append(len(calls) - before)
        assert counts == per_step


@pytest.mark.parametrize("name", sorted(SEARCHES))
def test_same_seed_same_bits_different_seed_different_weights(name):
    X, y = blobs()
    loss_fn, _ = counting_loss(Objective(loss="softmax"), X, y)
    params = (np.zeros((4, 3)), np.zeros(3))
    first = run_search(SEARCHES[name](), 3, 5, params, loss_fn)
    again = run_search(SEARCHES[name](), 3, 5, params, loss_fn)
    other = run_search(SEARCHES[name](), 3, 6, params, loss_fn)
    assert first.best_loss == again.best_loss
    np.testing.assert_array_equal(first.best_params[0], again.best_params[0])
    assert not np.array_equal(first.best_params[0], other.best_params[0])


def test_random_local_search_only_moves_on_improvement():
    X, y = blobs()
    loss_fn, _ = counting_loss(Objective(loss="softmax"), X, y)
    search = random_local_search(sigma=0.05, n_candidates=4)
    rng = np.random.default_rng(0)
    state = search.init((np.zeros((4, 3)), np.zeros(3)), rng)
    losses = []
    for _ in range(15):
        previous = state
        state = search.step(state, loss_fn, rng)
        if state.best_loss == previous.best_loss:
            assert state.best_params[0] is previous.best_params[0]
        losses.append(state.best_loss)
    assert losses == sorted(losses, reverse=True)
    assert losses[-1] < losses[0]


def test_genetic_keeps_the_start_elites_and_population_size():
    X, y = blobs()
    loss_fn, _ = counting_loss(Objective(loss="softmax"), X, y)
    start = (np.full((4, 3), 0.25), np.zeros(3))
    search = genetic(sigma=0.1, population_size=8, n_elite=2)
    rng = np.random.default_rng(0)
    state = search.init(start, rng)
    np.testing.assert_array_equal(state.population[0][0], start[0])
    assert state.population[0].shape == (8, 4, 3) and math.isinf(state.best_loss)
    best_losses = []
    for _ in range(6):
        state = search.step(state, loss_fn, rng)
        best_losses.append(state.best_loss)
        assert state.population[1].shape == (8, 3)
        assert state.fitness.min() == state.best_loss
    assert best_losses == sorted(best_losses, reverse=True)


def test_nan_losses_are_never_chosen():
    params = (np.zeros((2, 2)), np.zeros(2))

    def loss_fn(candidate):
        return math.nan if candidate[0][0, 0] > 0 else float(np.sum(candidate[0] ** 2))

    for search in (random_search(sigma=1.0), random_local_search(sigma=1.0), genetic(sigma=1.0)):
        state = run_search(search, 3, 0, params, loss_fn)
        assert math.isfinite(state.best_loss)
        assert state.best_params[0][0, 0] <= 0


def test_invalid_settings_name_the_argument():
    with pytest.raises(ValueError, match=r"sigma must be a finite number > 0, got 0"):
        random_search(sigma=0)
    with pytest.raises(ValueError, match=r"n_candidates must be an integer >= 1, got 0"):
        random_local_search(n_candidates=0)
    with pytest.raises(ValueError, match=r"n_elite must be < population_size=4, got 4"):
        genetic(population_size=4, n_elite=4)
    expected = r"crossover='one_point' is not supported; expected one of \['uniform', 'blend'\]"
    with pytest.raises(ValueError, match=expected):
        genetic(crossover="one_point")
    with pytest.raises(ValueError, match=r"mutation_rate must be in \[0, 1\], got 2"):
        genetic(mutation_rate=2)


def test_equal_budget_comparison_on_digits():
    """The lecture's ranking at 200 loss evaluations each: gradient descent >> genetic > random > chance."""
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X -= X.mean(axis=0)
    X_train, X_test, y_train, y_test = model_selection.train_test_split(
        X, y, test_size=0.25, random_state=0, stratify=y
    )
    objective = Objective(loss="softmax", penalty="l2", alpha=1e-4)
    params = (np.zeros((64, 10), np.float32), np.zeros(10, np.float32))
    budget = 200
    runs = {
        "gd": dict(optimizer=OPTIMIZERS["gd"].build(learning_rate=0.5), epochs=budget),
        "sgd": dict(optimizer=sgd(0.1), batch_size=64, epochs=budget, max_iter=budget),
        "random_local_search": dict(optimizer="random_local_search", epochs=budget // 10),
        "genetic": dict(optimizer="genetic", epochs=1 + (budget - 20) // 18),
        "random_search": dict(optimizer="random_search", epochs=budget // 10),
    }
    accuracy = {}
    for name, settings in runs.items():
        result = fit(objective, params, X_train, y_train, random_state=0, **settings)
        assert result.history["n_evaluations"][-1] == budget
        accuracy[name] = objective.accuracy(result.params, X_test, y_test)
        print(f"{name:20s} test accuracy {accuracy[name]:.3f}, train loss {result.history['loss'][-1]:.4f}")
    assert accuracy["gd"] > 0.9
    assert accuracy["gd"] > accuracy["genetic"] > accuracy["random_search"] > 0.1
    assert accuracy["sgd"] > accuracy["genetic"]
