"""Bad input to the losses raises an error that names the argument and the problem."""

import numpy as np
import pytest

from linclass import losses

SCORES = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
CLASS_LOSSES = [
    losses.multiclass_hinge,
    losses.crammer_singer_hinge,
    losses.softmax_cross_entropy,
    losses.nll,
]
BINARY_LOSSES = [losses.logistic, losses.negative_logistic, losses.squash_clip_nll]


@pytest.mark.parametrize("loss_fn", CLASS_LOSSES)
@pytest.mark.parametrize(
    ("y", "error", "message"),
    [
        ([0, 3], ValueError, r"y contains label 3 but there are only 3 classes \(expected 0\.\.2\)"),
        ([0, -1], ValueError, r"y contains negative label -1; expected 0\.\.2"),
        ([0.0, 1.5], ValueError, r"y contains fractional values; expected integer class indices"),
        ([0, 1, 2], ValueError, r"y has 3 labels but scores has 2 rows"),
        ([[0], [1]], ValueError, r"y must be 1-D class indices, got an array of shape \(2, 1\)"),
        (["a", "b"], TypeError, r"y must hold integer class indices, got dtype <U1"),
    ],
)
def test_bad_labels(loss_fn, y, error, message):
    if loss_fn is losses.softmax_cross_entropy and np.ndim(y) == 2:
        message = r"y of probability targets must have the shape of scores \(2, 3\), got \(2, 1\)"
    with pytest.raises(error, match=message):
        loss_fn(SCORES, y)


@pytest.mark.parametrize("loss_fn", CLASS_LOSSES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_plus_inf_scores(loss_fn, bad):
    scores = SCORES.copy()
    scores[1, 2] = bad
    name = "log_probs" if loss_fn is losses.nll else "scores"
    with pytest.raises(ValueError, match=rf"{name} contains NaN or \+inf values"):
        loss_fn(scores, [0, 1])


@pytest.mark.parametrize("loss_fn", [losses.multiclass_hinge, losses.crammer_singer_hinge, *BINARY_LOSSES])
def test_margin_and_binary_losses_reject_minus_inf(loss_fn):
    scores = np.array([[1.0, -np.inf], [0.0, 1.0]])
    if loss_fn in BINARY_LOSSES:
        scores = scores[:, 1]
    with pytest.raises(ValueError, match="scores contains -inf values; this loss needs finite scores"):
        loss_fn(scores, [0, 1])


@pytest.mark.parametrize("loss_fn", CLASS_LOSSES + BINARY_LOSSES + [losses.squared_error])
def test_wrong_reduction(loss_fn):
    scores, y = (SCORES, [0, 1]) if loss_fn in CLASS_LOSSES else (SCORES[:, 0], [0, 1])
    if loss_fn is losses.squared_error:
        y = [0.0, 1.0]
    with pytest.raises(
        ValueError, match=r"reduction='avg' is not supported; expected one of \['mean', 'sum', 'none'\]"
    ):
        loss_fn(scores, y, reduction="avg")


@pytest.mark.parametrize("loss_fn", CLASS_LOSSES)
def test_scores_must_be_2d(loss_fn):
    name = "log_probs" if loss_fn is losses.nll else "scores"
    with pytest.raises(ValueError, match=rf"{name} must be 2-D, got an array of shape \(3,\)"):
        loss_fn([1.0, 2.0, 3.0], [0])


def test_scores_must_be_numeric():
    with pytest.raises(TypeError, match="scores must be a real numeric array, got dtype <U1"):
        losses.softmax_cross_entropy([["a", "b"]], [0])


@pytest.mark.parametrize("p", [0, 3, 1.5, True, "1"])
def test_hinge_power_must_be_1_or_2(p):
    with pytest.raises(ValueError, match=rf"p must be 1 \(hinge\) or 2 \(squared hinge\), got {p!r}"):
        losses.multiclass_hinge(SCORES, [0, 1], p=p)


@pytest.mark.parametrize("loss_fn", [losses.multiclass_hinge, losses.crammer_singer_hinge])
@pytest.mark.parametrize("margin", [0.0, -1.0, np.inf])
def test_margin_must_be_positive(loss_fn, margin):
    with pytest.raises(ValueError, match=rf"margin must be a finite number > 0, got {margin!r}"):
        loss_fn(SCORES, [0, 1], margin=margin)


@pytest.mark.parametrize(
    "loss_fn",
    [losses.multiclass_hinge, losses.crammer_singer_hinge, losses.softmax_cross_entropy, losses.nll],
)
@pytest.mark.parametrize(
    ("weight", "error", "message"),
    [
        ([1.0, 2.0], ValueError, r"weight must have shape \(3,\) \(one per class\), got shape \(2,\)"),
        ([1.0, -2.0, 1.0], ValueError, r"weight contains negative value -2\.0; expected non-negative class"),
        ([1.0, np.nan, 1.0], ValueError, r"weight contains NaN or inf values"),
        (["a", "b", "c"], TypeError, r"weight must be a real numeric array, got dtype <U1"),
    ],
)
def test_bad_class_weight(loss_fn, weight, error, message):
    with pytest.raises(error, match=message):
        loss_fn(SCORES, [0, 1], weight=weight)


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.5, np.nan])
def test_label_smoothing_outside_unit_interval(label_smoothing):
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\], got"):
        losses.softmax_cross_entropy(SCORES, [0, 1], label_smoothing=label_smoothing)


def test_ignore_index_must_be_an_integer():
    with pytest.raises(TypeError, match="ignore_index must be an integer, got 1.5"):
        losses.softmax_cross_entropy(SCORES, [0, 1], ignore_index=1.5)


def test_probability_targets_must_be_finite_and_non_negative():
    with pytest.raises(ValueError, match="y of probability targets must be finite and non-negative"):
        losses.softmax_cross_entropy(SCORES, [[1.0, 0.0, 0.0], [-0.5, 1.0, 0.5]])


def test_softmax_rejects_a_row_of_all_minus_inf():
    with pytest.raises(ValueError, match="scores has a row whose values are all -inf; softmax is undefined"):
        losses.softmax([[0.0, 1.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match="scores must have at least 1 dimension"):
        losses.log_softmax(3.0)


@pytest.mark.parametrize("loss_fn", BINARY_LOSSES)
def test_binary_labels_must_be_0_or_1(loss_fn):
    with pytest.raises(
        ValueError, match=r"y contains label 2 but there are only 2 classes \(expected 0\.\.1\)"
    ):
        loss_fn([0.5, 0.2], [1, 2])
    with pytest.raises(ValueError, match=r"scores must be 1-D, got an array of shape \(2, 1\)"):
        loss_fn([[0.5], [0.2]], [1, 0])


@pytest.mark.parametrize("eps", [0.0, 1.0, -1e-3])
def test_squash_clip_eps_must_be_in_the_open_unit_interval(eps):
    with pytest.raises(ValueError, match=r"eps must be in \(0, 1\), got"):
        losses.squash_clip_nll([0.5], [1], eps=eps)


def test_squared_error_shapes_and_values():
    with pytest.raises(ValueError, match=r"y must have the shape of pred \(2,\), got \(3,\)"):
        losses.squared_error([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(
        ValueError, match=r"pred must be 1-D \(N,\) or 2-D \(N, K\), got an array of shape \(1, 1, 1\)"
    ):
        losses.squared_error([[[1.0]]], [[[1.0]]])
    with pytest.raises(ValueError, match="y contains NaN or inf values; expected finite targets"):
        losses.squared_error([1.0, 2.0], [1.0, np.nan])


@pytest.mark.parametrize("loss_fn", [losses.naive.svm_loss_naive, losses.naive.softmax_loss_naive])
def test_naive_losses_check_shapes_and_labels(loss_fn):
    W, X = np.zeros((3, 2)), np.zeros((4, 3))
    with pytest.raises(
        ValueError, match=r"X must be 2-D \(N, D\) with D = 3 \(rows of W\), got shape \(4, 2\)"
    ):
        loss_fn(W, X[:, :2], [0, 1, 0, 1], 0.0)
    with pytest.raises(ValueError, match="y contains label 2 but there are only 2 classes"):
        loss_fn(W, X, [0, 1, 2, 1], 0.0)
    with pytest.raises(ValueError, match="reg must be a finite number >= 0, got -1.0"):
        loss_fn(W, X, [0, 1, 0, 1], -1.0)
