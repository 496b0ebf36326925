"""Losses: gradients pass a float64 gradient check, reductions agree, dtypes are kept."""

import numpy as np
import pytest

from linclass import losses
from linclass.gradcheck import check_gradient
from linclass.losses import naive

REDUCTIONS = ["mean", "sum", "none"]
SMOOTH = 1e-7
PIECEWISE = 1e-4


def scores_away_from_kinks(seed, n=6, n_classes=4, margin=1.0):
    """Scores whose hinge terms and runner-up gaps are all at least 1e-3 from a kink."""
    rng = np.random.default_rng(seed)
    rows = np.arange(n)
    while True:
        scores = rng.normal(scale=2.0, size=(n, n_classes))
        y = rng.integers(0, n_classes, size=n)
        terms = scores - scores[rows, y][:, None] + margin
        terms[rows, y] = np.inf
        wrong = scores.copy()
        wrong[rows, y] = -np.inf
        top_two = np.sort(wrong, axis=1)[:, -2:]
        if np.abs(terms).min() > 1e-3 and np.min(top_two[:, 1] - top_two[:, 0]) > 1e-3:
            return scores, y


def assert_gradient_passes(loss_fn, x, threshold, **kwargs):
    def value_and_grad(z):
        loss, grad = loss_fn(z, **kwargs)
        return float(np.sum(loss)), grad

    report = check_gradient(value_and_grad, x.copy(), threshold=threshold)
    assert report.passed, str(report)
    assert report.n_checked == x.size


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.5])
def test_multiclass_hinge_gradient(reduction, p, normalize, weighted, margin):
    scores, y = scores_away_from_kinks(seed=p + 2 * normalize, margin=margin)
    weight = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kwargs = dict(y=y, margin=margin, p=p, weight=weight, normalize=normalize, reduction=reduction)
    assert_gradient_passes(losses.multiclass_hinge, scores, PIECEWISE, **kwargs)


def scores_away_from_binary_kinks(seed, n=6, n_classes=4, margin=1.0):
    """Scores whose one-vs-rest terms ``margin - t s`` are all at least 1e-3 from 0."""
    rng = np.random.default_rng(seed)
    while True:
        scores = rng.normal(scale=1.5, size=(n, n_classes))
        y = rng.integers(0, n_classes, size=n)
        signs = -np.ones_like(scores)
        signs[np.arange(n), y] = 1
        if np.abs(margin - signs * scores).min() > 1e-3:
            return scores, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("margin", [1.0, 0.5])
@pytest.mark.parametrize(
    ("loss_fn", "away_from_kinks", "threshold"),
    [
        (losses.crammer_singer_hinge, lambda margin: scores_away_from_kinks(seed=7, margin=margin), PIECEWISE),
        (losses.one_vs_rest_squared_hinge, lambda margin: scores_away_from_binary_kinks(seed=8, margin=margin), SMOOTH),
    ],
    ids=["crammer_singer", "one_vs_rest_squared_hinge"],
)
def test_one_margin_losses_gradient(loss_fn, away_from_kinks, threshold, reduction, weighted, margin):
    scores, y = away_from_kinks(margin)
    weight = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kwargs = dict(y=y, margin=margin, weight=weight, reduction=reduction)
    assert_gradient_passes(loss_fn, scores, threshold, **kwargs)


def test_one_vs_rest_squared_hinge_gradient_is_continuous_across_the_kink():
    # the own class's score sits at its margin 1, a rest class's at -1: central differences
    # straddle the kink and still find the gradient 0 up to O(h) (a hinge would be off by 0.5)
    scores, y = np.array([[1.0, -1.0, 0.3]]), np.array([0])

    def value_and_grad(z):
        loss, dscores = losses.one_vs_rest_squared_hinge(z, y)
        return float(loss), dscores

    report = check_gradient(value_and_grad, scores.copy(), threshold=SMOOTH)
    assert report.n_checked == 3 and report.max_abs_error < 1e-5
    loss, dscores = losses.one_vs_rest_squared_hinge(scores, y)
    assert float(loss) == pytest.approx(1.3**2, rel=1e-15)
    np.testing.assert_array_equal(dscores, [[0.0, 0.0, 2.6]])


def test_one_vs_rest_squared_hinge_is_the_sum_of_binary_squared_hinges():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [0.2, 0.5, -3.1]])
    per_sample, dscores = losses.one_vs_rest_squared_hinge(scores, [0, 1, 2], reduction="none")
    # row 0: own 1 - 3.2 < 0, rest 1 + 5.1 and 1 - 1.7 < 0; row 2: own 1 + 3.1, rest 1.2 and 1.5
    np.testing.assert_allclose(per_sample, [6.1**2, 2.3**2 + 3.0**2, 1.2**2 + 1.5**2 + 4.1**2], rtol=1e-14)
    np.testing.assert_allclose(dscores, [[0, 12.2, 0], [4.6, 0, 6.0], [2.4, 3.0, -8.2]], rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("targets", ["indices", "ignored", "probabilities"])
def test_softmax_cross_entropy_gradient(reduction, weighted, label_smoothing, targets):
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(6, 4))
    if targets == "probabilities":
        y = rng.dirichlet(np.ones(4), size=6)
    else:
        y = rng.integers(0, 4, size=6)
        if targets == "ignored":
            y[[1, 4]] = -100
    weight = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kwargs = dict(y=y, weight=weight, label_smoothing=label_smoothing, reduction=reduction)
    assert_gradient_passes(losses.softmax_cross_entropy, scores, SMOOTH, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 2])
def test_nll_gradient(reduction, weighted, ignore_index):
    rng = np.random.default_rng(4)
    log_probs = losses.log_softmax(rng.normal(size=(6, 4)))
    y = np.array([0, 1, 2, 3, 2, 1])
    weight = np.array([0.5, 2.0, 1.0, 0.25]) if weighted else None
    kwargs = dict(y=y, weight=weight, ignore_index=ignore_index, reduction=reduction)
    assert_gradient_passes(losses.nll, log_probs, SMOOTH, **kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss_fn", [losses.logistic, losses.negative_logistic])
def test_binary_losses_gradient(reduction, loss_fn):
    rng = np.random.default_rng(5)
    scores = rng.normal(scale=2.0, size=8)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    assert_gradient_passes(loss_fn, scores, SMOOTH, y=y, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_squash_clip_nll_gradient_inside_the_clip_range(reduction):
    scores = np.linspace(0.2, 0.8, 8)
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    assert_gradient_passes(losses.squash_clip_nll, scores, SMOOTH, y=y, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (7, 3)])
def test_squared_error_gradient(reduction, shape):
    rng = np.random.default_rng(6)
    pred, y = rng.normal(size=shape), rng.normal(size=shape)
    assert_gradient_passes(losses.squared_error, pred, SMOOTH, y=y, reduction=reduction)


def test_squared_error_sums_over_outputs_and_averages_over_samples():
    loss, dpred = losses.squared_error([[1.0, 2.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]])
    assert float(loss) == pytest.approx((1 + 4 + 1) / 2)
    np.testing.assert_allclose(dpred, [[1.0, 2.0], [0.0, -1.0]])


CLASS_LOSSES = [
    (losses.multiclass_hinge, {}),
    (losses.multiclass_hinge, {"p": 2, "normalize": True}),
    (losses.crammer_singer_hinge, {}),
    (losses.one_vs_rest_squared_hinge, {}),
    (losses.softmax_cross_entropy, {}),
    (losses.softmax_cross_entropy, {"label_smoothing": 0.1}),
    (losses.nll, {}),
]


@pytest.mark.parametrize(("loss_fn", "options"), CLASS_LOSSES)
def test_reductions_agree(loss_fn, options):
    scores, y = scores_away_from_kinks(seed=11)
    per_sample, d_none = loss_fn(scores, y, reduction="none", **options)
    total, d_sum = loss_fn(scores, y, reduction="sum", **options)
    mean, d_mean = loss_fn(scores, y, reduction="mean", **options)
    assert per_sample.shape == (6,)
    assert float(total) == pytest.approx(per_sample.sum(), rel=1e-14)
    assert float(mean) == pytest.approx(per_sample.sum() / 6, rel=1e-14)
    np.testing.assert_allclose(d_none, d_sum, rtol=1e-14)
    np.testing.assert_allclose(d_mean, d_sum / 6, rtol=1e-14)
    for i in range(6):
        row_loss, row_grad = loss_fn(scores[i : i + 1], y[i : i + 1], reduction="sum", **options)
        assert float(row_loss) == pytest.approx(per_sample[i], rel=1e-14)
        np.testing.assert_allclose(row_grad[0], d_none[i], rtol=1e-14)


ALL_LOSSES = [
    (losses.multiclass_hinge, (5, 3), "labels"),
    (losses.crammer_singer_hinge, (5, 3), "labels"),
    (losses.one_vs_rest_squared_hinge, (5, 3), "labels"),
    (losses.softmax_cross_entropy, (5, 3), "labels"),
    (losses.softmax_cross_entropy, (5, 3), "probabilities"),
    (losses.nll, (5, 3), "labels"),
    (losses.logistic, (5,), "binary"),
    (losses.negative_logistic, (5,), "binary"),
    (losses.squash_clip_nll, (5,), "binary"),
    (losses.squared_error, (5, 2), "values"),
]


def _targets(kind, shape, dtype):
    rng = np.random.default_rng(0)
    if kind == "labels":
        return rng.integers(0, shape[1], size=shape[0])
    if kind == "binary":
        return rng.integers(0, 2, size=shape[0])
    if kind == "probabilities":
        return rng.dirichlet(np.ones(shape[1]), size=shape[0]).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("loss_fn", "shape", "kind"), ALL_LOSSES)
def test_dtype_is_kept_and_input_untouched(loss_fn, shape, kind, reduction, dtype):
    scores = np.random.default_rng(1).normal(size=shape).astype(dtype)
    original = scores.copy()
    loss, grad = loss_fn(scores, _targets(kind, shape, dtype), reduction=reduction)
    assert np.asarray(loss).dtype == dtype
    assert grad.dtype == dtype and grad.shape == shape
    np.testing.assert_array_equal(scores, original)


def test_float32_matches_float64():
    scores, y = scores_away_from_kinks(seed=2)
    for loss_fn in (
        losses.multiclass_hinge,
        losses.softmax_cross_entropy,
        losses.crammer_singer_hinge,
        losses.one_vs_rest_squared_hinge,
    ):
        loss32, grad32 = loss_fn(scores.astype(np.float32), y)
        loss64, grad64 = loss_fn(scores, y)
        assert float(loss32) == pytest.approx(float(loss64), rel=1e-5)
        np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-6)


def test_hinge_uses_subgradient_zero_at_the_kink():
    loss, dscores = losses.multiclass_hinge([[1.0, 0.0]], [0])
    assert float(loss) == 0.0
    np.testing.assert_array_equal(dscores, [[0.0, 0.0]])
    loss, dscores = losses.crammer_singer_hinge([[1.0, 0.0]], [0])
    assert float(loss) == 0.0
    np.testing.assert_array_equal(dscores, [[0.0, 0.0]])


def test_crammer_singer_counts_only_the_strongest_wrong_class():
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    per_sample, dscores = losses.crammer_singer_hinge(scores, [0, 1, 2], reduction="none")
    np.testing.assert_allclose(per_sample, [2.9, 0.0, 6.6], atol=1e-12)
    np.testing.assert_array_equal(dscores, [[-1, 1, 0], [0, 0, 0], [0, 1, -1]])


def test_softmax_and_log_softmax_are_stable_along_the_last_axis():
    scores = np.array([[1e4, -1e4, 0.0], [-np.inf, 0.0, 0.0]])
    np.testing.assert_array_equal(losses.softmax(scores), [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    expected_log = [[0.0, -2e4, -1e4], [-np.inf, -np.log(2), -np.log(2)]]
    np.testing.assert_allclose(losses.log_softmax(scores), expected_log)
    batch = np.random.default_rng(0).normal(size=(2, 3, 4))
    np.testing.assert_allclose(losses.softmax(batch).sum(axis=-1), np.ones((2, 3)), rtol=1e-15)
    np.testing.assert_allclose(np.exp(losses.log_softmax(batch)), losses.softmax(batch), rtol=1e-14)


def test_cross_entropy_is_exact_for_huge_logits():
    scores = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]])
    per_sample, dscores = losses.softmax_cross_entropy(scores, [0, 1], reduction="none")
    np.testing.assert_array_equal(per_sample, [0.0, 2e4])
    np.testing.assert_array_equal(dscores, [[0.0, 0.0, 0.0], [1.0, -1.0, 0.0]])


def test_logistic_is_exact_for_huge_scores():
    per_sample, dscores = losses.logistic([1e4, -1e4, 1e4, -1e4], [1, 0, 0, 1], reduction="none")
    np.testing.assert_array_equal(per_sample, [0.0, 0.0, 1e4, 1e4])
    np.testing.assert_array_equal(dscores, [0.0, 0.0, 1.0, -1.0])


def test_minus_inf_on_a_non_target_class_gives_no_nan():
    scores = np.array([[2.0, -np.inf, 0.5], [0.0, 1.0, -np.inf]])
    reference, ref_grad = losses.softmax_cross_entropy(scores[:, [0, 2]][:1], [0])
    loss, dscores = losses.softmax_cross_entropy(scores[:1], [0])
    assert float(loss) == pytest.approx(float(reference), rel=1e-15)
    np.testing.assert_allclose(dscores[0, [0, 2]], ref_grad[0], rtol=1e-15)
    assert dscores[0, 1] == 0.0
    targets = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    for y, options in [([0, 1], {}), ([0, 1], {"weight": np.array([1.0, 0.0, 0.0])}), (targets, {})]:
        loss, dscores = losses.softmax_cross_entropy(scores, y, **options)
        assert np.isfinite(loss) and np.isfinite(dscores).all()


def test_label_smoothing_with_minus_inf_gives_infinite_loss_and_finite_gradient():
    loss, dscores = losses.softmax_cross_entropy([[2.0, -np.inf, 0.5]], [0], label_smoothing=0.3)
    assert loss == np.inf
    assert np.isfinite(dscores).all()
    assert dscores[0, 1] == pytest.approx(-0.1)


@pytest.mark.parametrize("loss_fn", [losses.softmax_cross_entropy, losses.nll])
def test_all_ignored_batch_gives_zero_not_nan(loss_fn):
    scores = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    loss, dscores = loss_fn(scores, [-100, -100])
    assert float(loss) == 0.0
    np.testing.assert_array_equal(dscores, np.zeros((2, 3)))
    per_sample, dscores = loss_fn(scores, [-100, -100], reduction="none")
    np.testing.assert_array_equal(per_sample, [0.0, 0.0])
    np.testing.assert_array_equal(dscores, np.zeros((2, 3)))
    loss, dscores = loss_fn(scores, [0, 1], weight=np.array([0.0, 0.0, 1.0]))
    assert float(loss) == 0.0
    np.testing.assert_array_equal(dscores, np.zeros((2, 3)))


def test_losses_registry_names_and_flags():
    classification = ["crammer_singer", "multi_margin", "ovr_squared_hinge", "softmax", "squared_hinge", "svm"]
    assert losses.LOSSES.names() == sorted([*classification, "squared_error"])
    assert losses.loss_names("classification") == classification
    assert losses.loss_names("regression") == ["squared_error"]
    flags = {name: (spec.task, spec.smooth, spec.probabilistic) for name, spec in losses.LOSSES.items()}
    assert flags == {
        "crammer_singer": ("classification", False, False),
        "multi_margin": ("classification", False, False),
        "ovr_squared_hinge": ("classification", True, False),
        "softmax": ("classification", True, True),
        "squared_error": ("regression", True, False),
        "squared_hinge": ("classification", True, False),
        "svm": ("classification", False, False),
    }
    assert all(spec.name == name for name, spec in losses.LOSSES.items())
    with pytest.raises(ValueError, match=r"loss='hinge' is not supported; expected one of \['crammer_"):
        losses.LOSSES.resolve("hinge")


def test_names_resolve_to_specs_of_the_task_asked_for():
    assert losses.get_loss("svm") is losses.LOSSES["svm"]
    assert losses.get_loss(losses.LOSSES["svm"], "classification") is losses.LOSSES["svm"]
    with pytest.raises(ValueError, match=r"^loss='squared_error' is not supported; expected one of \['crammer_singer', "):
        losses.get_loss("squared_error", "classification")
    with pytest.raises(ValueError, match=r"^task='ranking' is not supported; expected one of \['classification', "):
        losses.loss_names("ranking")


def test_squared_error_entry_takes_targets_of_the_scores_size():
    scores = np.array([[1.0, 2.0], [0.0, -1.0]], np.float32)
    per_sample, dscores = losses.LOSSES["squared_error"].fn(scores, np.zeros(4), reduction="none")
    np.testing.assert_array_equal(per_sample, [5.0, 1.0])
    assert per_sample.dtype == dscores.dtype == np.float32
    np.testing.assert_array_equal(dscores, 2 * scores)
    with pytest.raises(ValueError, match="^class_weight applies to classification losses"):
        losses.LOSSES["squared_error"].fn(scores, np.zeros(4), weight=np.ones(2))


@pytest.mark.parametrize(
    ("name", "loss_fn", "options"),
    [
        ("softmax", losses.softmax_cross_entropy, {}),
        ("svm", losses.multiclass_hinge, {}),
        ("squared_hinge", losses.multiclass_hinge, {"p": 2}),
        ("crammer_singer", losses.crammer_singer_hinge, {}),
        ("multi_margin", losses.multiclass_hinge, {"normalize": True}),
        ("ovr_squared_hinge", losses.one_vs_rest_squared_hinge, {}),
    ],
)
def test_registry_entries_call_their_loss_with_weight(name, loss_fn, options):
    scores, y = scores_away_from_kinks(seed=5)
    weight = np.array([0.5, 2.0, 1.0, 0.25])
    loss, dscores = losses.LOSSES.resolve(name).fn(scores, y, weight=weight, reduction="none")
    expected_loss, expected_grad = loss_fn(scores, y, weight=weight, reduction="none", **options)
    np.testing.assert_array_equal(loss, expected_loss)
    np.testing.assert_array_equal(dscores, expected_grad)
    unweighted, _ = losses.LOSSES.resolve(name).fn(scores, y, reduction="none")
    np.testing.assert_allclose(loss, unweighted * weight[y], rtol=1e-14)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_naive_svm_matches_vectorized(seed, reg):
    rng = np.random.default_rng(seed)
    W, X, y = rng.normal(size=(5, 4)), rng.normal(size=(9, 5)), rng.integers(0, 4, size=9)
    loss, dW = naive.svm_loss_naive(W, X, y, reg)
    data_loss, dscores = losses.multiclass_hinge(X @ W, y)
    assert loss == pytest.approx(float(data_loss) + reg * np.sum(W**2), rel=1e-13)
    np.testing.assert_allclose(dW, X.T @ dscores + 2 * reg * W, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_naive_softmax_matches_vectorized(seed, reg):
    rng = np.random.default_rng(seed)
    W, X, y = rng.normal(size=(5, 4)), rng.normal(size=(9, 5)), rng.integers(0, 4, size=9)
    loss, dW = naive.softmax_loss_naive(W, X, y, reg)
    data_loss, dscores = losses.softmax_cross_entropy(X @ W, y)
    assert loss == pytest.approx(float(data_loss) + reg * np.sum(W**2), rel=1e-13)
    np.testing.assert_allclose(dW, X.T @ dscores + 2 * reg * W, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss_fn", [naive.svm_loss_naive, naive.softmax_loss_naive])
def test_naive_gradient_passes_gradient_check(loss_fn):
    rng = np.random.default_rng(8)
    W, X, y = rng.normal(size=(3, 4)), rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    report = check_gradient(lambda w: loss_fn(w, X, y, 0.05), W, threshold=1e-6)
    assert report.passed, str(report)


@pytest.mark.parametrize(("loss_fn", "shape", "kind"), ALL_LOSSES)
def test_empty_batch_gives_zero_loss(loss_fn, shape, kind):
    empty = np.zeros((0,) + shape[1:])
    target = _targets(kind, shape, np.float64)[:0]
    loss, grad = loss_fn(empty, target)
    assert float(loss) == 0.0
    assert grad.shape == empty.shape
