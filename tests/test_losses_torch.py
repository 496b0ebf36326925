"""Losses equal PyTorch's, values and autograd gradients, in float64."""

import numpy as np
import pytest

from linclass import losses

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-10
ATOL = 1e-13
REDUCTIONS = ["mean", "sum", "none"]


def torch_value_and_grad(torch_loss, scores, reduction, **kwargs):
    """The torch loss and the gradient of its (summed, for "none") value w.r.t. ``scores``."""
    x = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    value = torch_loss(x, reduction=reduction, **kwargs)
    (value.sum() if reduction == "none" else value).backward()
    return value.detach().numpy(), x.grad.numpy()


def assert_same(ours, theirs):
    loss, dscores = ours
    expected_loss, expected_grad = theirs
    np.testing.assert_allclose(np.asarray(loss), expected_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dscores, expected_grad, rtol=RTOL, atol=ATOL)


def random_problem(seed, n_min=1):
    rng = np.random.default_rng(seed)
    n, n_classes = int(rng.integers(n_min, 12)), int(rng.integers(2, 7))
    scores = rng.normal(scale=3.0, size=(n, n_classes))
    y = rng.integers(0, n_classes, size=n)
    weight = rng.uniform(0.1, 3.0, size=n_classes)
    return rng, scores, y, weight


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.15, 1.0])
@pytest.mark.parametrize("ignored", [False, True])
def test_cross_entropy_with_class_indices(seed, reduction, weighted, label_smoothing, ignored):
    rng, scores, y, weight = random_problem(seed, n_min=3)
    ignore_index = -100
    if ignored:
        ignore_index = int(rng.choice([-100, 0, 1]))
        y[rng.choice(len(y), size=2, replace=False)] = ignore_index
    w = weight if weighted else None
    options = dict(ignore_index=ignore_index, label_smoothing=label_smoothing)
    ours = losses.softmax_cross_entropy(scores, y, weight=w, reduction=reduction, **options)
    tw = None if w is None else torch.tensor(w)
    theirs = torch_value_and_grad(
        F.cross_entropy, scores, reduction, target=torch.tensor(y), weight=tw, **options
    )
    assert_same(ours, theirs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
def test_cross_entropy_with_probability_targets(seed, reduction, weighted, label_smoothing):
    rng, scores, _, weight = random_problem(seed)
    target = rng.dirichlet(np.ones(scores.shape[1]), size=scores.shape[0])
    w = weight if weighted else None
    ours = losses.softmax_cross_entropy(
        scores, target, weight=w, label_smoothing=label_smoothing, reduction=reduction
    )
    tw = None if w is None else torch.tensor(w)
    theirs = torch_value_and_grad(
        F.cross_entropy,
        scores,
        reduction,
        target=torch.tensor(target),
        weight=tw,
        label_smoothing=label_smoothing,
    )
    assert_same(ours, theirs)


def test_cross_entropy_with_minus_inf_on_a_non_target_class():
    scores = np.array([[2.0, -np.inf, 0.5, 1.0], [0.0, 1.0, -np.inf, 3.0]])
    for options in ({}, {"label_smoothing": 0.2}, {"weight": np.array([1.0, 0.5, 2.0, 1.0])}):
        ours = losses.softmax_cross_entropy(scores, [0, 3], **options)
        torch_options = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()}
        theirs = torch_value_and_grad(
            F.cross_entropy, scores, "mean", target=torch.tensor([0, 3]), **torch_options
        )
        assert_same(ours, theirs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_nll(seed, reduction, weighted, ignore_index):
    rng, scores, y, weight = random_problem(seed)
    log_probs = losses.log_softmax(scores)
    y[0] = ignore_index
    w = weight if weighted else None
    ours = losses.nll(log_probs, y, weight=w, ignore_index=ignore_index, reduction=reduction)
    tw = None if w is None else torch.tensor(w)
    theirs = torch_value_and_grad(
        F.nll_loss, log_probs, reduction, target=torch.tensor(y), weight=tw, ignore_index=ignore_index
    )
    assert_same(ours, theirs)


def test_softmax_and_log_softmax():
    scores = np.random.default_rng(0).normal(scale=5.0, size=(3, 4, 6))
    x = torch.tensor(scores)
    np.testing.assert_allclose(losses.softmax(scores), torch.softmax(x, dim=-1).numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(losses.log_softmax(scores), torch.log_softmax(x, dim=-1).numpy(), rtol=RTOL)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_normalized_multiclass_hinge_is_multi_margin_loss(seed, reduction, p, margin, weighted):
    _, scores, y, weight = random_problem(seed)
    w = weight if weighted else None
    ours = losses.multiclass_hinge(
        scores, y, margin=margin, p=p, weight=w, normalize=True, reduction=reduction
    )
    tw = None if w is None else torch.tensor(w)
    theirs = torch_value_and_grad(
        F.multi_margin_loss, scores, reduction, target=torch.tensor(y), p=p, margin=margin, weight=tw
    )
    assert_same(ours, theirs)


def test_multiclass_hinge_is_c_times_multi_margin_loss_without_normalize():
    _, scores, y, weight = random_problem(9)
    loss, dscores = losses.multiclass_hinge(scores, y, weight=weight)
    expected_loss, expected_grad = torch_value_and_grad(
        F.multi_margin_loss, scores, "mean", target=torch.tensor(y), weight=torch.tensor(weight)
    )
    n_classes = scores.shape[1]
    np.testing.assert_allclose(float(loss), n_classes * expected_loss, rtol=RTOL)
    np.testing.assert_allclose(dscores, n_classes * expected_grad, rtol=RTOL, atol=ATOL)


def test_multiclass_hinge_kink_matches_torch():
    scores = np.array([[1.0, 0.0, -0.5], [0.0, 0.0, 0.0]])
    ours = losses.multiclass_hinge(scores, [0, 1], normalize=True)
    theirs = torch_value_and_grad(F.multi_margin_loss, scores, "mean", target=torch.tensor([0, 1]))
    assert_same(ours, theirs)


def _torch_one_vs_rest_squared_hinge(x, reduction, target, margin, weight):
    """``sum_c relu(margin - t_c x_c)^2`` per row with ``t = 2 onehot - 1``, times ``weight[target]``."""
    signs = 2 * F.one_hot(target, x.shape[1]).to(x.dtype) - 1
    per_sample = F.relu(margin - signs * x).pow(2).sum(dim=1)
    if weight is not None:
        per_sample = per_sample * weight[target]
    return {"none": per_sample, "sum": per_sample.sum(), "mean": per_sample.mean()}[reduction]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3, 2.5])
@pytest.mark.parametrize("weighted", [False, True])
def test_one_vs_rest_squared_hinge_matches_torch(seed, reduction, margin, weighted):
    _, scores, y, weight = random_problem(seed)
    w = weight if weighted else None
    ours = losses.one_vs_rest_squared_hinge(scores, y, margin=margin, weight=w, reduction=reduction)
    tw = None if w is None else torch.tensor(w)
    theirs = torch_value_and_grad(
        _torch_one_vs_rest_squared_hinge, scores, reduction, target=torch.tensor(y), margin=margin, weight=tw
    )
    assert_same(ours, theirs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_logistic_is_binary_cross_entropy_with_logits(seed, reduction):
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(scale=4.0, size=10), [1e4, -1e4, 30.0, -30.0]])
    y = rng.integers(0, 2, size=scores.shape[0])
    ours = losses.logistic(scores, y, reduction=reduction)
    theirs = torch_value_and_grad(
        F.binary_cross_entropy_with_logits, scores, reduction, target=torch.tensor(y, dtype=torch.float64)
    )
    assert_same(ours, theirs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(9,), (9, 3)])
def test_squared_error_is_mse_summed_over_outputs(reduction, shape):
    rng = np.random.default_rng(2)
    pred, y = rng.normal(size=shape), rng.normal(size=shape)
    loss, dpred = losses.squared_error(pred, y, reduction=reduction)
    torch_reduction = "none" if reduction == "none" else "sum"
    expected_loss, expected_grad = torch_value_and_grad(
        F.mse_loss, pred, torch_reduction, target=torch.tensor(y)
    )
    if reduction == "none" and len(shape) == 2:
        expected_loss = expected_loss.sum(axis=1)
    if reduction == "mean":
        expected_loss, expected_grad = expected_loss / shape[0], expected_grad / shape[0]
    np.testing.assert_allclose(np.asarray(loss), expected_loss, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dpred, expected_grad, rtol=RTOL, atol=ATOL)
    mse, _ = torch_value_and_grad(F.mse_loss, pred, "mean", target=torch.tensor(y))
    if reduction == "mean":
        np.testing.assert_allclose(float(loss), mse * (shape[1] if len(shape) == 2 else 1), rtol=RTOL)
