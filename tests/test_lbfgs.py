"""linclass's own L-BFGS: the two-loop recursion, SciPy's optimum, checkpointed resume, coordinates."""

import numpy as np
import pytest

from linclass.objective import Objective
from linclass.optim import LBFGSState, lbfgs, precondition, solve, solver
from linclass.optim.precondition import fit_preconditioner, moments, spectrum
from linclass.preprocess import Affine
from linclass.train import TrainState, fit
from problems import InterruptAfter


def blobs(seed=0, n_per_class=40, n_features=6, n_classes=3):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.normal(scale=0.7, size=(n_classes, n_features))[y] + rng.normal(size=(y.size, n_features))
    return X * rng.uniform(0.1, 10.0, n_features) + rng.normal(size=n_features) * 5, y


def zeros(n_features=6, n_classes=3, dtype=np.float64):
    return (np.zeros((n_features, n_classes), dtype), np.zeros(n_classes, dtype))


def test_two_loop_direction_equals_the_explicit_bfgs_inverse_hessian():
    rng = np.random.default_rng(1)
    n, m = 7, 4
    optimizer = lbfgs(memory=m)
    state = optimizer.init(np.zeros(n))
    pairs = []
    for k in range(6):  # more pairs than the memory: the ring buffer drops the oldest
        s, y = rng.normal(size=n), rng.normal(size=n)
        y = y + 3 * s  # keeps s·y > 0
        newest = 0 if k == 0 else (state.newest + 1) % m
        S, Y = state.s.copy(), state.y.copy()
        S[newest], Y[newest] = s, y
        state = state._replace(s=S, y=Y, newest=newest, n_pairs=min(k + 1, m))
        pairs.append((s, y))
    grad = rng.normal(size=n)
    state = state._replace(grad=grad)
    kept = pairs[-m:]
    s_new, y_new = kept[-1]
    H = np.eye(n) * (s_new @ y_new) / (y_new @ y_new)
    for s, y in kept:  # H <- (I - rho s yᵀ) H (I - rho y sᵀ) + rho s sᵀ, oldest first
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    np.testing.assert_allclose(optimizer.direction(state), -H @ grad, rtol=1e-10, atol=1e-12)


def scipy_optimum(objective, X, y, C):
    """SciPy's L-BFGS-B run to its tightest tolerances on the flattened ``(W, b)``: the reference optimum."""
    from scipy.optimize import minimize

    D = X.shape[1]

    def flat(x):
        value, (dW, db) = objective.value_and_grad((x[: D * C].reshape(D, C), x[D * C:]), X, y)
        return value, np.concatenate([dW.ravel(), db])

    return minimize(flat, np.zeros(D * C + C), jac=True, method="L-BFGS-B",
                    options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20_000, "maxcor": 10})


@pytest.mark.parametrize("precondition", ["none", "whiten", "cholesky", "diagonal"])
def test_reaches_the_optimum_of_scipys_lbfgs_b(precondition):
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-3)
    D, C = X.shape[1], 3
    reference = scipy_optimum(objective, X, y, C)
    ours = solve(objective, X, y, tol=1e-10, max_iter=5000, precondition=precondition)
    assert ours.converged and ours.n_passes == ours.n_evaluations >= ours.n_iter
    assert abs(ours.value - reference.fun) <= 1e-10 * abs(reference.fun)
    W, b = ours.params
    np.testing.assert_allclose(W, reference.x[: D * C].reshape(D, C), rtol=1e-4, atol=1e-7)
    # a common shift of the biases leaves the softmax unchanged; compare them centred
    np.testing.assert_allclose(b - b.mean(), reference.x[D * C:] - reference.x[D * C:].mean(), rtol=1e-4)


def test_warm_start_from_the_optimum_stops_at_once_and_counts_its_work():
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-3)
    cold = solve(objective, X, y, tol=1e-8)
    warm = solve(objective, X, y, params=cold.params, tol=1e-6)
    assert cold.converged and warm.converged and cold.n_iter > 10
    assert warm.n_iter == 0 and warm.n_evaluations == 1
    assert warm.message == "converged: the largest gradient component is at most tol"
    nearby = solve(objective, X, y, params=tuple(p * 1.01 for p in cold.params), tol=1e-8)
    assert nearby.converged and nearby.n_evaluations < cold.n_evaluations
    assert abs(nearby.value - cold.value) <= 1e-10 * cold.value
    capped = solve(objective, X, y, tol=1e-12, max_iter=3)
    assert not capped.converged and capped.n_iter == 3 and capped.message == "stopped after 3 iterations"


def test_preconditioned_coordinates_round_trip_and_give_the_chain_rule_gradient():
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-2)
    D, C = X.shape[1], 3
    for mode in ("whiten", "cholesky", "diagonal", "none"):
        P = fit_preconditioner(mode, X, None, 1.0 / C, objective.alpha, C)
        x = np.random.default_rng(2).normal(size=D * C + C)
        W, b = P.to_params(x, np.float64)
        np.testing.assert_allclose(P.to_coordinates(W, b, triangular=mode == "cholesky"), x, rtol=1e-9, atol=1e-9)
        _, (dW, db) = objective.value_and_grad((W, b), X, y)
        grad = P.gradient(dW, db)
        for i in (0, D * C // 2, D * C + 1):  # central differences of f(params(x))
            e = np.zeros_like(x)
            e[i] = 1e-6
            numeric = (objective.value(P.to_params(x + e, np.float64), X, y)
                       - objective.value(P.to_params(x - e, np.float64), X, y)) / 2e-6
            assert abs(numeric - grad[i]) <= 1e-6 * max(1.0, abs(grad[i]))


def test_the_cholesky_basis_makes_the_starting_hessian_the_identity_and_follows_the_whitened_run():
    """``Bᵀ (h Σ + 2 alpha I) B = I`` with ``B`` upper triangular; its coordinates differ from the
    whitened ones by an orthogonal factor, so L-BFGS (no refit for this loss) takes the same steps."""
    X, y = blobs()
    h, alpha = 1.0, 1e-2
    P = fit_preconditioner("cholesky", X, None, h, alpha, 3)
    mean, covariance = moments(X, None)
    B = P.basis
    assert np.array_equal(B, np.triu(B)) and np.array_equal(P.scale, np.ones((6, 3)))
    np.testing.assert_allclose(B.T @ (h * covariance + 2 * alpha * np.eye(6)) @ B, np.eye(6), atol=1e-12)
    np.testing.assert_array_equal(P.center, mean)
    objective = Objective("ovr_squared_hinge", penalty="l2", alpha=alpha)
    values = {mode: [] for mode in ("whiten", "cholesky", "diagonal")}
    for mode, seen in values.items():
        solve(objective, X, y, tol=0.0, max_iter=8, precondition=mode,
              callback=lambda n_iter, value, params, seen=seen: seen.append(value))
    np.testing.assert_allclose(values["cholesky"], values["whiten"], rtol=1e-9)
    assert not np.allclose(values["diagonal"], values["whiten"], rtol=1e-9)


def test_auto_whitens_then_factors_then_takes_the_diagonal(monkeypatch):
    monkeypatch.setattr(precondition, "MAX_WHITEN_FEATURES", 4)
    monkeypatch.setattr(precondition, "MAX_CHOLESKY_FEATURES", 8)
    assert [precondition.resolve("auto", d) for d in (4, 5, 8, 9)] == ["whiten", "cholesky", "cholesky", "diagonal"]
    assert precondition.resolve("diagonal", 4) == "diagonal"


def test_the_diagonal_spectrum_is_the_variances_without_the_full_covariance(monkeypatch):
    X, _ = blobs(n_features=7)
    transform = Affine(X.mean(axis=0), 1.0 / X.std(axis=0), "standardize")
    for t in (None, transform):
        mean, covariance = moments(X, t)
        mean_d, variances = moments(X, t, diagonal_only=True)
        np.testing.assert_array_equal(mean_d, mean)
        assert variances.shape == (7,)
        np.testing.assert_allclose(variances, np.diag(covariance), rtol=1e-12)
        expected = X.var(axis=0) if t is None else np.ones(7)
        np.testing.assert_allclose(variances, expected, rtol=1e-10)
        # small D: the full product's diagonal, bit for bit
        assert np.array_equal(spectrum("diagonal", X, t).eigenvalues, np.diag(covariance))
        with monkeypatch.context() as patch:  # D above the whitening's limit: only the variances
            patch.setattr(precondition, "MAX_WHITEN_FEATURES", 6)
            found = spectrum("diagonal", X, t)
        assert found.basis.shape == (0, 0)
        np.testing.assert_array_equal(found.eigenvalues, variances)


def test_refitted_scales_keep_the_point_its_gradient_and_the_memory_pairs():
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-3)
    optimizer = lbfgs(memory=5, tol=0.0)
    state, problem = solver.prepare(optimizer, solver.init_state(optimizer, zeros()), objective, X, y, np.float64)
    state = state._replace(lbfgs=optimizer.start(state.lbfgs, problem.fun))
    for _ in range(7):
        state = state._replace(lbfgs=optimizer.step(state.lbfgs, problem.fun))
    before = problem.params(state.lbfgs.x)
    old = state
    state = problem.refit_scales(state)
    assert not np.allclose(state.preconditioner.scale, old.preconditioner.scale)
    for a, b in zip(problem.params(state.lbfgs.x), before, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    value, grad, _ = problem.fun(state.lbfgs.x)
    assert value == pytest.approx(state.lbfgs.value, rel=1e-12)
    np.testing.assert_allclose(grad, state.lbfgs.grad, rtol=1e-9, atol=1e-14)
    n = state.lbfgs.n_pairs
    np.testing.assert_allclose(np.einsum("ij,ij->i", state.lbfgs.s[:n], state.lbfgs.y[:n]),
                               np.einsum("ij,ij->i", old.lbfgs.s[:n], old.lbfgs.y[:n]), rtol=1e-12)


def through_file(state, tmp_path):
    path = tmp_path / "state.npz"
    state.save(path)
    return TrainState.load(path)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_resumed_lbfgs_run_is_bit_identical_to_an_uninterrupted_one(dtype, tmp_path):
    X, y = blobs()
    X = X.astype(dtype)
    X_val, y_val = blobs(seed=3)
    settings = dict(optimizer=lbfgs(max_iter=100, tol=0.0, memory=4), X_val=X_val.astype(dtype), y_val=y_val)
    objective = Objective("softmax", penalty="l2", alpha=1e-4)
    straight = fit(objective, zeros(dtype=dtype), X, y, epochs=12, **settings)
    first = fit(objective, zeros(dtype=dtype), X, y, epochs=5, **settings)
    assert isinstance(first.state.opt_state.lbfgs, LBFGSState) and first.state.opt_state.lbfgs.n_pairs == 4
    resumed = fit(objective, None, X, y, epochs=12, resume=through_file(first.state, tmp_path), **settings)
    assert straight.n_iter == resumed.n_iter == 12
    for a, b in zip(straight.params, resumed.params, strict=True):
        assert a.dtype == b.dtype == dtype and a.tobytes() == b.tobytes()
    drop = ("time",)
    assert {k: v for k, v in straight.history.items() if k not in drop} == {
        k: v for k, v in resumed.history.items() if k not in drop
    }
    # resuming from the weights alone (a fresh memory) ends elsewhere: the memory matters
    restart = fit(objective, first.params, X, y, epochs=7, **settings)
    assert restart.params[0].tobytes() != straight.params[0].tobytes()


def test_interrupt_inside_a_line_search_checkpoints_the_last_iteration_and_resumes_bit_identically(tmp_path):
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-4)
    settings = dict(optimizer=lbfgs(max_iter=100, tol=0.0))
    straight = fit(objective, zeros(), X, y, epochs=10, **settings)
    saved = []
    with pytest.raises(KeyboardInterrupt):
        fit(InterruptAfter(objective, 6), zeros(), X, y, epochs=10, checkpoint=saved.append, **settings)
    assert len(saved) == 1 and 1 <= saved[0].epoch < 6
    resumed = fit(objective, None, X, y, epochs=10, resume=through_file(saved[0], tmp_path), **settings)
    assert resumed.n_iter == 10
    assert straight.params[0].tobytes() == resumed.params[0].tobytes()
    assert straight.params[1].tobytes() == resumed.params[1].tobytes()
    assert straight.history["loss"] == resumed.history["loss"]


def test_mixed_precision_reaches_the_float64_optimum_with_float32_passes_first():
    X, y = blobs(n_per_class=60)
    objective = Objective("softmax", penalty="l2", alpha=1e-3)
    D, C = X.shape[1], 3
    reference = scipy_optimum(objective, X, y, C)
    mixed = solve(objective, X, y, tol=1e-10, max_iter=5000, mixed=True)
    assert mixed.converged and mixed.params[0].dtype == np.float64
    # float32 passes cannot bring max |grad| to 1e-10: both phases ran
    assert 0 < mixed.single_passes < mixed.n_passes
    assert abs(mixed.value - reference.fun) <= 1e-10 * abs(reference.fun)
    assert abs(objective.value(mixed.params, X, y) - reference.fun) <= 1e-10 * abs(reference.fun)
    np.testing.assert_allclose(mixed.params[0], reference.x[: D * C].reshape(D, C), rtol=1e-4, atol=1e-7)
    plain = solve(objective, X, y, tol=1e-10, max_iter=5000)
    assert plain.single_passes == 0
    single = solve(objective, X.astype(np.float32), y, tol=1e-10, max_iter=5000, mixed=True)
    assert single.params[0].dtype == np.float32 and single.single_passes == 0  # nothing to finish in


def test_in_place_step_writes_the_same_pairs_and_the_copying_step_leaves_the_old_state():
    X, y = blobs()
    objective = Objective("softmax", penalty="l2", alpha=1e-3)
    optimizer = lbfgs(memory=3, tol=1e-12)
    state = solver.init_state(optimizer, zeros())
    state, problem = solver.prepare(optimizer, state, objective, X, y, np.float64)
    state = state._replace(lbfgs=optimizer.start(state.lbfgs, problem.fun))
    copying, in_place = state.lbfgs, state.lbfgs._replace(s=state.lbfgs.s.copy(), y=state.lbfgs.y.copy())
    for _ in range(5):  # more iterations than pairs: the ring buffer wraps
        before = copying
        s_before = before.s.copy()
        copying = optimizer.step(copying, problem.fun)
        in_place_next = optimizer.step(in_place, problem.fun, in_place=True)
        assert in_place_next.s is in_place.s and copying.s is not before.s
        np.testing.assert_array_equal(before.s, s_before)
        in_place = in_place_next
        for field in ("x", "grad", "s", "y"):
            np.testing.assert_array_equal(getattr(copying, field), getattr(in_place, field))
        assert (copying.value, copying.newest, copying.n_pairs) == (in_place.value, in_place.newest, in_place.n_pairs)


@pytest.mark.parametrize("precondition", ["whiten", "diagonal"])
def test_a_path_reuses_the_rescaling_sample_and_takes_the_same_steps_as_computing_it_again(precondition):
    X, y = blobs(n_per_class=60)
    objective = Objective("softmax", penalty="l2", alpha=1e-2)
    first = solve(objective, X, y, tol=1e-10, precondition=precondition)
    sample = first.spectrum.sample
    assert first.n_iter > solver.REFIT_EVERY and isinstance(sample, solver.Sample)
    assert sample.rows.shape == X.shape and sample.squared.dtype == X.dtype == np.float64
    np.testing.assert_array_equal(sample.labels, y)
    weaker = Objective("softmax", penalty="l2", alpha=1e-4)
    reused = solve(weaker, X, y, first.params, tol=1e-10, precondition=precondition, known=first.spectrum)
    again = solve(weaker, X, y, first.params, tol=1e-10, precondition=precondition,
                  known=first.spectrum._replace(sample=None))
    assert reused.spectrum.sample is sample and again.spectrum.sample is not sample
    np.testing.assert_array_equal(again.spectrum.sample.squared, sample.squared)
    assert reused.n_iter == again.n_iter > solver.REFIT_EVERY
    for a, b in zip(reused.params, again.params, strict=True):
        np.testing.assert_array_equal(a, b)
    # other rows of the same inputs (a fold, a refit): the sample travels with the spectrum, as
    # the coordinates it picks leave the optimum where it is
    other = solve(weaker, X[:150], y[:150], first.params, tol=1e-10, precondition=precondition,
                  known=first.spectrum)
    alone = solve(weaker, X[:150], y[:150], first.params, tol=1e-10, precondition=precondition)
    assert other.spectrum.sample is sample and alone.spectrum.sample.rows.shape[0] == 150
    assert other.converged and alone.converged
    np.testing.assert_allclose(other.params[0], alone.params[0], atol=1e-6)


def test_the_cholesky_basis_depends_on_alpha_so_its_sample_is_not_passed_on():
    X, y = blobs(n_per_class=60)
    result = solve(Objective("softmax", penalty="l2", alpha=1e-3), X, y, tol=1e-10, precondition="cholesky")
    assert result.n_iter > solver.REFIT_EVERY and result.spectrum.sample is None


def test_a_warm_start_at_another_strength_takes_its_first_evaluation_from_the_solve_before():
    X, y = blobs(n_per_class=60)
    first = solve(Objective("softmax", penalty="l2", alpha=1e-2), X, y, tol=1e-4, dtype=np.float32)
    evaluation = first.evaluation
    assert first.converged and isinstance(evaluation, solver.Evaluation) and evaluation.n_rows == X.shape[0]
    for mine, theirs in zip(evaluation.params, first.params, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    weaker = Objective("softmax", penalty="l2", alpha=1e-3)
    # the data term with another penalty is that strength's whole evaluation, bit for bit
    combined, direct = weaker.with_penalty(first.params, evaluation.data), weaker.batch(first.params, X, y)
    assert combined.value == direct.value and combined.n_correct == direct.n_correct
    for a, b in zip(combined.grads, direct.grads, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert evaluation.data.value == Objective("softmax", penalty=None).value(first.params, X, y)
    reused = solve(weaker, X, y, first.params, tol=1e-4, known=first.spectrum, evaluation=evaluation)
    passed = solve(weaker, X, y, first.params, tol=1e-4, known=first.spectrum)
    assert reused.converged and passed.converged and reused.n_evaluations > 5
    assert reused.n_passes == reused.n_evaluations - 1 and passed.n_passes == passed.n_evaluations
    assert reused.value == pytest.approx(passed.value, rel=1e-6)
    for a, b in zip(reused.params, passed.params, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_an_evaluation_elsewhere_or_of_other_rows_or_losses_is_not_used():
    X, y = blobs(n_per_class=60)
    objective = Objective("softmax", penalty="l2", alpha=1e-2)
    first = solve(objective, X, y, tol=1e-4, dtype=np.float32)
    weaker = Objective("softmax", penalty="l2", alpha=1e-3)
    moved = tuple((p * (1 + 1e-5)).astype(np.float32) for p in first.params)
    assert solve(weaker, X, y, moved, evaluation=first.evaluation).n_passes == solve(weaker, X, y, moved).n_passes
    fewer = solve(weaker, X[:-3], y[:-3], first.params, evaluation=first.evaluation)
    assert fewer.n_passes == fewer.n_evaluations
    other_loss = solve(Objective("squared_hinge", penalty="l2", alpha=1e-3), X, y, first.params,
                       evaluation=first.evaluation)
    assert other_loss.n_passes == other_loss.n_evaluations
    reused = solve(weaker, X, y, first.params, evaluation=first.evaluation)
    assert reused.n_passes == reused.n_evaluations - 1  # the control: these rows and this point
    # float64 params against the float32 evaluation: not the same point
    double = tuple(p.astype(np.float64) for p in first.params)
    result = solve(weaker, X, y, double, evaluation=first.evaluation)
    assert result.n_passes == result.n_evaluations


def test_a_path_starts_at_the_solution_before_with_one_pass_fewer_then_at_the_secant():
    from linclass.estimator.cv import regularization_path

    X, y = blobs(n_per_class=60)
    objective = Objective("softmax", penalty="l2")
    alphas = [1e-1, 1e-2, 1e-3]
    passes = []
    original = solver.solve

    def counting(*args, **kwargs):
        result = original(*args, **kwargs)
        passes.append((result.n_evaluations, result.n_passes))
        return result

    import linclass.estimator.cv as cv

    cv.solve = counting
    try:
        path = regularization_path(objective, X, y, alphas, X, y, tol=1e-4, dtype=np.float32)
    finally:
        cv.solve = original
    assert [point.evaluation is not None for point in path] == [True] * 3
    # the second starts at the first's solution (its evaluation, no pass); the third at the secant
    # through both, a new point
    assert [evaluations - n for evaluations, n in passes] == [0, 1, 0]
    # a float32 path stays float32, the secant start and the solve from it included
    assert [p.dtype for point in path for p in point.params] == [np.dtype(np.float32)] * 6
    for alpha, point in zip(alphas, path, strict=True):  # the optimum of each strength
        optimum = solve(Objective("softmax", penalty="l2", alpha=alpha), X, y, tol=1e-9)
        for a, b in zip(point.params, optimum.params, strict=True):
            np.testing.assert_allclose(a, b, atol=2e-3)


def test_the_secant_start_goes_at_most_one_step_on_in_log_alpha_and_never_back():
    from linclass.estimator.cv import _secant

    before, last = (np.array([1.0, 2.0]), np.array([0.5])), (np.array([2.0, 2.5]), np.array([1.5]))
    on = _secant(before, last, 1e-1, 1e-2, 1e-3)  # the same step again: the full secant
    np.testing.assert_array_equal(on[0], [3.0, 3.0])
    np.testing.assert_array_equal(on[1], [2.5])
    half = _secant(before, last, 1e-1, 1e-2, 10**-2.5)
    np.testing.assert_allclose(half[0], [2.5, 2.75])
    far = _secant(before, last, 1e-1, 1e-2, 1e-6)  # four steps on: kept to one
    np.testing.assert_array_equal(far[0], on[0])
    assert _secant(before, last, 1e-1, 1e-2, 1.0) is last  # back towards the one before: no secant
    assert _secant(before, last, 1e-2, 1e-2, 1e-3) is last  # no step before: no direction
    single = tuple(a.astype(np.float32) for a in before), tuple(a.astype(np.float32) for a in last)
    assert [a.dtype for a in _secant(*single, 1e-1, 1e-2, 10**-2.5)] == [np.dtype(np.float32)] * 2


def test_a_path_keeps_the_solution_before_where_it_already_meets_tol_without_a_pass(monkeypatch):
    import linclass.estimator.cv as cv

    passes, original = [], cv.solve
    monkeypatch.setattr(cv, "solve", lambda *a, **k: (passes.append((r := original(*a, **k)).n_passes), r)[1])
    X, y = blobs(n_per_class=60)
    objective = Objective("softmax", penalty="l2")
    # at the weak end the penalty's change moves the gradient far less than tol
    path = cv.regularization_path(objective, X, y, [1e-6, 1e-7, 1e-8], X, y, tol=1e-2, dtype=np.float32)
    assert [point.n_iter for point in path][1:] == [0, 0] and path[0].n_iter > 0
    assert passes[1:] == [0, 0] and passes[0] > 0
    for point in path[1:]:  # the start as it was given
        for a, b in zip(point.params, path[0].params, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_warm_start_is_scaled_to_the_curvature_the_solve_before_measured():
    X, y = blobs(n_per_class=60)
    first = solve(Objective("softmax", penalty="l2", alpha=1e-2), X, y, tol=1e-10)
    curvature = first.curvature
    assert first.n_iter > solver.REFIT_EVERY and isinstance(curvature, solver.Curvature)
    assert curvature.data.shape == (6, 3) and curvature.bias.shape == (3,) and (curvature.data > 0).all()
    # the same numbers as a rescaling at that point: its data curvature plus the new penalty's
    weaker = Objective("softmax", penalty="l2", alpha=1e-4)
    optimizer = lbfgs(tol=1e-10)
    state, problem = solver.prepare(optimizer, solver.init_state(optimizer, first.params), weaker, X, y,
                                    np.float64, first.spectrum)  # fmt: skip
    measured = problem.refit_scales(state)
    assert problem.curvature.data.shape == (6, 3)
    _, other = solver.prepare(optimizer, solver.init_state(optimizer, first.params), weaker, X, y, np.float64,
                              first.spectrum)  # fmt: skip
    carried = other.rescaled(state, problem.curvature)
    np.testing.assert_array_equal(carried.preconditioner.scale, measured.preconditioner.scale)
    np.testing.assert_allclose(measured.preconditioner.scale,
                               1 / np.sqrt(problem.curvature.data + 2e-4 * problem.curvature.lengths))  # fmt: skip
    np.testing.assert_array_equal(carried.lbfgs.x, measured.lbfgs.x)
    # a solve started so reaches the same optimum
    scaled = solve(weaker, X, y, first.params, tol=1e-10, known=first.spectrum, curvature=curvature)
    plain = solve(weaker, X, y, first.params, tol=1e-10, known=first.spectrum)
    assert scaled.converged and plain.converged
    for a, b in zip(scaled.params, plain.params, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-7)
