"""Platt scaling: the slope is recovered from data, and two classes give Platt's sigmoid."""

import numpy as np
import pytest

from linclass.calibration import fit_platt, platt_probabilities
from linclass.losses import softmax


def test_slope_is_recovered_from_labels_drawn_with_it():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(20_000, 4)) * 2
    true_slope = 0.7
    p = softmax(true_slope * scores)
    y = (p.cumsum(axis=1) > rng.random((len(p), 1))).argmax(axis=1)
    assert fit_platt(scores, y) == pytest.approx(true_slope, rel=0.03)


def test_two_classes_give_platts_sigmoid_of_the_margin():
    scores = np.array([[0.0, 1.5], [2.0, -1.0]])
    slope = 0.8
    proba = platt_probabilities(scores, slope)
    margin = scores[:, 1] - scores[:, 0]
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-slope * margin)))


def test_separable_scores_keep_a_finite_slope():
    scores = np.array([[5.0, -5.0], [-5.0, 5.0]] * 10)
    y = np.array([0, 1] * 10)
    slope = fit_platt(scores, y)
    assert np.isfinite(slope) and slope > 0
    # Platt's smoothed targets: the true class gets 1 - 1/(n + 2), not 1
    assert platt_probabilities(scores, slope)[0, 0] == pytest.approx(1 - 1 / 22, rel=1e-3)
