"""The lecture's worked examples, number for number."""

import math

import numpy as np
import pytest

from linclass.app.explain import LECTURE_LABELS, LECTURE_SCORES, explain_scores
from linclass.losses import (
    logistic,
    multiclass_hinge,
    negative_logistic,
    softmax,
    softmax_cross_entropy,
    squash_clip_nll,
)


def test_svm_losses_of_the_three_images_are_2_9_0_and_12_9():
    losses, _ = multiclass_hinge(LECTURE_SCORES, LECTURE_LABELS, reduction="none")
    np.testing.assert_allclose(losses, [2.9, 0.0, 12.9], atol=1e-12)


def test_mean_svm_loss_is_5_27():
    loss, _ = multiclass_hinge(LECTURE_SCORES, LECTURE_LABELS)
    assert float(loss) == pytest.approx((2.9 + 0 + 12.9) / 3, abs=1e-12)
    assert round(float(loss), 2) == 5.27
    assert round(float(loss), 4) == 5.2667


def test_scaling_scores_by_2_keeps_the_car_image_loss_at_zero():
    losses, _ = multiclass_hinge(2 * LECTURE_SCORES, LECTURE_LABELS, reduction="none")
    assert losses[1] == 0.0
    np.testing.assert_allclose(losses, [4.8, 0.0, 23.8], atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_all_zero_scores_give_c_minus_one_per_example(n_classes):
    scores = np.zeros((4, n_classes))
    labels = np.arange(4) % n_classes
    losses, _ = multiclass_hinge(scores, labels, reduction="none")
    np.testing.assert_array_equal(losses, np.full(4, n_classes - 1.0))
    normalized, _ = multiclass_hinge(scores, labels, normalize=True, reduction="none")
    np.testing.assert_allclose(normalized, np.full(4, (n_classes - 1) / n_classes), rtol=1e-15)


def test_softmax_of_the_cat_image_is_0_13_0_87_0_00():
    probs = softmax(LECTURE_SCORES[0])
    np.testing.assert_array_equal(probs.round(2), [0.13, 0.87, 0.0])
    assert probs.sum() == pytest.approx(1.0, abs=1e-15)


def test_cross_entropy_of_the_cat_image_is_minus_ln_0_13():
    losses, _ = softmax_cross_entropy(LECTURE_SCORES, LECTURE_LABELS, reduction="none")
    assert round(float(losses[0]), 2) == 2.04
    assert float(losses[0]) == pytest.approx(-math.log(softmax(LECTURE_SCORES[0])[0]), rel=1e-14)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_equal_scores_give_cross_entropy_ln_c(n_classes):
    loss, _ = softmax_cross_entropy(np.full((3, n_classes), 0.7), [0, 1, 1])
    assert float(loss) == pytest.approx(math.log(n_classes), rel=1e-14)


def test_explanation_holds_the_lecture_numbers():
    explanation = explain_scores()
    assert explanation.classes == ("cat", "car", "frog")
    np.testing.assert_allclose(explanation.margins[0], [0.0, 2.9, 0.0], atol=1e-12)
    np.testing.assert_allclose(explanation.margins[2], [6.3, 6.6, 0.0], atol=1e-12)
    np.testing.assert_allclose(explanation.svm_losses, [2.9, 0.0, 12.9], atol=1e-12)
    assert round(explanation.svm_loss, 2) == 5.27
    np.testing.assert_array_equal(explanation.probabilities[0].round(2), [0.13, 0.87, 0.0])
    assert round(float(explanation.cross_entropies[0]), 2) == 2.04


def test_explanation_margin_option_changes_the_svm_loss():
    explanation = explain_scores(margin=2.0)
    np.testing.assert_allclose(explanation.svm_losses, [3.9, 0.0, 14.9], atol=1e-12)


class TestThreeBasesForNLL:
    """A positive example scored -10: only the NLL with the logistic gives strong guidance."""

    scores = np.array([-10.0])
    labels = np.array([1])

    def test_nll_with_logistic_has_gradient_near_minus_one(self):
        loss, dscores = logistic(self.scores, self.labels)
        assert float(dscores[0]) == pytest.approx(-1.0, abs=1e-4)
        assert float(loss) == pytest.approx(10.0, abs=1e-4)

    def test_squash_and_clip_has_zero_gradient(self):
        loss, dscores = squash_clip_nll(self.scores, self.labels)
        assert float(dscores[0]) == 0.0
        assert float(loss) == pytest.approx(-math.log(1e-7), rel=1e-12)

    def test_negative_logistic_has_vanishing_gradient(self):
        loss, dscores = negative_logistic(self.scores, self.labels)
        sigma = 1 / (1 + math.exp(10))
        assert float(loss) == pytest.approx(-sigma, rel=1e-12)
        assert float(dscores[0]) == pytest.approx(-sigma * (1 - sigma), rel=1e-12)
        assert abs(float(dscores[0])) < 1e-4
