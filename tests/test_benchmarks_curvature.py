"""The curvature comparison (benchmarks/curvature.py): its derivatives, its optima, its pass counts."""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository's benchmarks package

from benchmarks import curvature  # noqa: E402


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 6)) * np.array([1.0, 3.0, 0.1, 1.0, 2.0, 0.5]) + 0.3
    y = (X[:, 0] + X[:, 1] - X[:, 4] + rng.normal(size=240) > 0).astype(int) + (X[:, 2] > 0.05)
    return X, y, 1.0 / (2.0 * len(y))


def test_value_gradient_and_hessian_products_match_finite_differences_and_torch(small):
    torch = pytest.importorskip("torch")
    X, y, alpha = small
    problem = curvature.Softmax(X, y, alpha)
    rng = np.random.default_rng(1)
    T, V = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    value, G, P = problem.value_grad(T)
    t = torch.tensor(T, requires_grad=True)
    Xt = torch.tensor(problem.X)
    reference = torch.nn.functional.cross_entropy(Xt @ t, torch.tensor(y)) + alpha * (t[:-1] ** 2).sum()
    (grad,) = torch.autograd.grad(reference, t, create_graph=True)
    (hv,) = torch.autograd.grad((grad * torch.tensor(V)).sum(), t)
    assert value == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(G, grad.detach().numpy(), rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(problem.hessian_times(V, P), hv.numpy(), rtol=1e-9, atol=1e-12)
    h = 1e-6
    difference = (problem.value_grad(T + h * V)[1] - problem.value_grad(T - h * V)[1]) / (2 * h)
    np.testing.assert_allclose(problem.hessian_times(V, P), difference, rtol=1e-6, atol=1e-9)
    assert problem.passes == 5.0  # three value-gradient passes and two products (the sample is all rows)


@pytest.fixture(scope="module")
def optimum(small):
    X, y, alpha = small
    problem = curvature.Softmax(X, y, alpha)
    shape = (X.shape[1] + 1, int(y.max()) + 1)

    def fun(t):
        value, G, _ = problem.value_grad(t.reshape(shape))
        return value, G.ravel()

    return scipy.optimize.minimize(fun, np.zeros(np.prod(shape)), jac=True, method="L-BFGS-B",
                                   options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-12}).fun


@pytest.mark.parametrize("name", list(curvature.METHODS))
def test_every_method_reaches_scipys_optimum_and_counts_its_passes(small, optimum, name):
    X, y, alpha = small
    (row,) = curvature.compare(X, y, [name], max_iter=300, optimum=optimum)
    assert row["lowest"] == pytest.approx(optimum, rel=1e-9)
    assert 1 <= row["passes"] <= row["total_passes"]
    assert row["flop_passes"] >= row["passes"]
    assert "| " + name + " |" in curvature.table([row])


def test_block_preconditioner_refits_count_a_sample_pass_and_its_gram_cost(small):
    X, y, alpha = small
    problem = curvature.Softmax(X, y, alpha, sample_rows=60)
    factors = problem.block(np.zeros((7, 3)))
    assert problem.passes == pytest.approx(60 / 240)
    assert problem.flop_passes == pytest.approx(60 / 240 * 7 / 2)
    # at zero scores every block is X̃ᵀX̃ (2/9) / n + 2 alpha (bias: 1e-10), as the shared one
    shared = problem.block(None)
    G = np.random.default_rng(2).normal(size=(7, 3))
    np.testing.assert_allclose(curvature.solve_blocks(factors, G), curvature.solve_blocks(shared, G), rtol=1e-10)
    H = problem.sample.T @ problem.sample * (2.0 / 9.0) / 60 + np.diag([2 * alpha] * 6 + [1e-10])
    np.testing.assert_allclose(H @ curvature.solve_blocks(shared, G), G, rtol=1e-6, atol=1e-9)
