"""Gradient transformations against PyTorch's optimizers, and L-BFGS against scikit-learn."""

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.optim import (
    OPTIMIZERS,
    adam,
    apply_updates,
    chain,
    check_smooth,
    gd,
    lbfgs,
    scale,
    scale_by_adam,
    scale_by_schedule,
    sgd,
    trace,
)
from linclass.train import fit

CURVATURE = np.array([[1.0, 10.0, 0.1], [3.0, 0.5, 2.0]])
TARGET = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])


def quadratic_grads(params):
    """Gradient of ``0.5 * sum(H * (W - T)**2) + 0.5 * sum(b**2)`` for an ill-conditioned H."""
    W, b = params
    return (CURVATURE * (W - TARGET), b.copy())


def start_params(dtype=np.float64):
    return (np.zeros((2, 3), dtype), np.ones(3, dtype))


def run(tx, n_steps, params=None):
    params = start_params() if params is None else params
    state = tx.init(params)
    for _ in range(n_steps):
        updates, state = tx.update(quadratic_grads(params), state, params)
        params = apply_updates(params, updates)
    return params


def run_torch(make_optimizer, n_steps):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(p, requires_grad=True) for p in start_params()]
    optimizer = make_optimizer(tensors)
    for _ in range(n_steps):
        optimizer.zero_grad()
        W, b = tensors
        loss = 0.5 * (torch.tensor(CURVATURE) * (W - torch.tensor(TARGET)) ** 2).sum() + 0.5 * (b**2).sum()
        loss.backward()
        optimizer.step()
    return tuple(t.detach().numpy() for t in tensors)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgd_matches_torch_sgd(momentum, nesterov):
    torch = pytest.importorskip("torch")
    ours = run(sgd(0.05, momentum=momentum, nesterov=nesterov), 30)
    reference = run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum, nesterov=nesterov), 30)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_adam_matches_torch_adam():
    torch = pytest.importorskip("torch")
    ours = run(adam(0.1, b1=0.8, b2=0.99, eps=1e-6), 40)
    reference = run_torch(lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.8, 0.99), eps=1e-6), 40)
    for a, b in zip(ours, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_sgd_is_a_chain_of_trace_and_scale():
    composed = run(chain(trace(0.9, nesterov=True), scale(-0.05)), 25)
    for a, b in zip(composed, run(sgd(0.05, momentum=0.9, nesterov=True), 25), strict=True):
        np.testing.assert_array_equal(a, b)


def test_gd_step_is_the_plain_gradient_step():
    params = start_params()
    updates, _ = gd(0.1).update(quadratic_grads(params), gd(0.1).init(params), params)
    expected = tuple(p - 0.1 * g for p, g in zip(params, quadratic_grads(params), strict=True))
    for a, b in zip(apply_updates(params, updates), expected, strict=True):
        np.testing.assert_array_equal(a, b)


def test_callable_learning_rate_is_read_at_each_update_count():
    decaying = run(sgd(lambda count: 0.1 / (1 + count)), 3)
    params = start_params()
    for count in range(3):
        grads = quadratic_grads(params)
        params = tuple(p - 0.1 / (1 + count) * g for p, g in zip(params, grads, strict=True))
    for a, b in zip(decaying, params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-15)


def test_scale_by_schedule_counts_updates():
    tx = scale_by_schedule(lambda count: float(count))
    grads = (np.ones(2),)
    state = tx.init(grads)
    seen = []
    for _ in range(3):
        updates, state = tx.update(grads, state)
        seen.append(updates[0][0])
    assert seen == [0.0, 1.0, 2.0]
    assert state.count == 3


@pytest.mark.parametrize("make", [lambda: sgd(0.1, momentum=0.9), lambda: adam(0.1), lambda: scale_by_adam()])
def test_float32_stays_float32(make):
    params = start_params(np.float32)
    tx = make()
    state = tx.init(params)
    for _ in range(3):
        grads = tuple(g.astype(np.float32) for g in quadratic_grads(params))
        updates, state = tx.update(grads, state, params)
        params = apply_updates(params, updates)
    assert [p.dtype for p in params] == [np.float32, np.float32]
    assert [u.dtype for u in updates] == [np.float32, np.float32]


@pytest.mark.parametrize("make", [lambda: sgd(0.1, momentum=0.9), lambda: adam(0.1)])
def test_update_leaves_params_grads_and_state_untouched(make):
    tx = make()
    params = start_params()
    state = tx.init(params)
    _, state = tx.update(quadratic_grads(params), state, params)
    snapshot = [leaf.copy() for leaf in _array_leaves(state)]
    grads = quadratic_grads(params)
    grads_copy = tuple(g.copy() for g in grads)
    updates, _ = tx.update(grads, state, params)
    apply_updates(params, updates)
    for before, after in zip(snapshot, _array_leaves(state), strict=True):
        np.testing.assert_array_equal(before, after)
    for g, copy in zip(grads, grads_copy, strict=True):
        np.testing.assert_array_equal(g, copy)
    np.testing.assert_array_equal(params[1], np.ones(3))


def _array_leaves(tree):
    if isinstance(tree, tuple):
        return [leaf for item in tree for leaf in _array_leaves(item)]
    return [tree] if isinstance(tree, np.ndarray) else []


def test_registry_lists_every_optimizer():
    assert OPTIMIZERS.names() == [
        "adam", "gd", "genetic", "lbfgs", "random_local_search", "random_search", "sgd",
    ]
    with pytest.raises(ValueError, match=r"optimizer='rmsprop' is not supported; expected one of \['adam'"):
        OPTIMIZERS.resolve("rmsprop")


def test_invalid_hyperparameters_name_the_argument():
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.0"):
        sgd(0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0, got 0"):
        sgd(0)
    with pytest.raises(ValueError, match=r"nesterov=True needs momentum > 0, got momentum=0.0"):
        sgd(0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"b2 must be in \[0, 1\), got 1.5"):
        adam(b2=1.5)
    with pytest.raises(TypeError, match=r"chain\(\) argument 1 must be a GradientTransformation"):
        chain(scale(1.0), "sgd")
    with pytest.raises(TypeError, match=r"schedule must be a callable count -> float, got 0.1"):
        scale_by_schedule(0.1)


# --------------------------------------------------------------------------- L-BFGS


def test_lbfgs_minimizes_a_quadratic_in_the_params_dtype():
    def value_and_grad(params):
        grads = quadratic_grads(params)
        value = 0.5 * float(np.sum(CURVATURE * (params[0] - TARGET) ** 2) + np.sum(params[1] ** 2))
        return value, tuple(g.astype(p.dtype) for g, p in zip(grads, params, strict=True))

    result = lbfgs(max_iter=200, tol=1e-10).minimize(value_and_grad, start_params(np.float32))
    assert result.converged
    assert [p.dtype for p in result.params] == [np.float32, np.float32]
    np.testing.assert_allclose(result.params[0], TARGET, atol=1e-5)
    np.testing.assert_allclose(result.params[1], 0.0, atol=1e-5)
    assert result.n_evaluations >= result.n_iter > 0


def test_lbfgs_callback_returning_false_stops_after_that_iteration():
    seen = []
    result = lbfgs(max_iter=100).minimize(
        lambda p: (0.5 * float(np.sum(p[0] ** 2)), (p[0],)), (np.arange(5.0),),
        callback=lambda params, value: seen.append(value) or len(seen) < 1,
    )
    assert len(seen) == 1
    assert result.n_iter == 1


def test_lbfgs_refuses_a_hinge_loss_or_an_l1_penalty():
    with pytest.raises(ValueError) as err:
        check_smooth(Objective(loss="svm"))
    assert str(err.value) == (
        "optimizer='lbfgs' needs a smooth objective; loss='svm' is not differentiable everywhere — use 'sgd'"
    )
    with pytest.raises(ValueError, match=r"penalty='l1' is not differentiable at 0 — use 'sgd'"):
        check_smooth(Objective(loss="softmax", penalty="l1", alpha=0.1))
    check_smooth(Objective(loss="softmax", penalty="l1", alpha=0.0))
    X, y = np.eye(3), np.arange(3)
    with pytest.raises(ValueError, match=r"loss='crammer_singer' is not differentiable everywhere"):
        fit(Objective(loss="crammer_singer"), (np.zeros((3, 3)), np.zeros(3)), X, y, optimizer="lbfgs")


def test_lbfgs_softmax_matches_sklearn_logistic_regression():
    linear_model = pytest.importorskip("sklearn.linear_model")
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_iris(return_X_y=True)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    alpha = 0.01
    n_samples, n_features = X.shape
    # ours: mean CE + alpha * ||W||^2; sklearn: sum CE + ||W||^2 / (2 C); equal up to the factor N.
    C = 1.0 / (2.0 * alpha * n_samples)
    reference = linear_model.LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=10_000).fit(X, y)
    objective = Objective(loss="softmax", penalty="l2", alpha=alpha)
    params = (np.zeros((n_features, 3)), np.zeros(3))
    result = fit(objective, params, X, y, optimizer=lbfgs(max_iter=1000, tol=1e-12), epochs=1000)
    W, b = result.params
    np.testing.assert_allclose(W, reference.coef_.T, rtol=1e-4, atol=1e-7)
    intercept = reference.intercept_ - reference.intercept_.mean()
    np.testing.assert_allclose(b - b.mean(), intercept, rtol=1e-4, atol=1e-7)
    # The softmax is unchanged by a common shift of the biases; both solvers keep their sum at 0.
    assert abs(b.sum()) < 1e-8
