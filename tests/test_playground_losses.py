"""The playground's numbers equal linclass's Python losses (golden values within 1e-9).

Browser tests: one Chromium per session, a fresh tab per test, the page served by
``linclass.app.playground``. See ``playground_reference.py`` for how each number is computed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from linclass.gradcheck import numerical_gradient
from playground_reference import PENALTIES, gradient_descent, objective, seeded_state

LOSSES = ["svm", "ova", "structured", "softmax"]
TOL = 1e-9
SRC = Path(__file__).resolve().parents[1] / "src"


def assert_matches(state: dict, expected: dict, where: str) -> None:
    for key in ("dataLoss", "regLoss", "totalLoss", "dW", "db"):
        np.testing.assert_allclose(state[key], expected[key], rtol=0, atol=TOL, err_msg=f"{key} at {where}")
    np.testing.assert_allclose(
        [e["loss"] for e in state["perExample"]], expected["perExample"], rtol=0, atol=TOL, err_msg=where
    )
    np.testing.assert_allclose(
        [e["scores"] for e in state["perExample"]], expected["scores"], rtol=0, atol=TOL, err_msg=where
    )


@pytest.mark.parametrize("loss", LOSSES)
def test_state_losses_and_gradients_equal_linclass(playground, loss):
    playground.open()
    for seed, classes in [(0, 3), (1, 3), (2, 4), (3, 5)]:
        for reg in (0.0, 0.1, 1.3):
            for margin in (0.5, 1.0, 2.5):
                start = seeded_state(seed, classes)
                state = playground.set(loss=loss, reg=reg, margin=margin, **start)
                expected = objective(start["points"], start["W"], start["b"], loss, reg, margin)
                assert_matches(state, expected, f"seed {seed}, reg {reg}, margin {margin}")


@pytest.mark.parametrize("loss", LOSSES)
def test_step_k_equals_k_steps_of_gradient_descent(playground, loss):
    start = seeded_state(7)
    playground.open()
    playground.set(loss=loss, reg=0.05, margin=1.0, stepSize=0.2, **start)
    state = playground.call("step", 30)
    W, b, _ = gradient_descent(start["points"], start["W"], start["b"], loss, 0.05, 1.0, 0.2, 30)
    assert state["iteration"] == 30
    np.testing.assert_allclose(state["W"], W, rtol=0, atol=TOL)
    np.testing.assert_allclose(state["b"], b, rtol=0, atol=TOL)


def test_loss_curve_holds_the_total_loss_of_every_step_and_the_test_data_loss(playground):
    start = seeded_state(13)
    test_points = seeded_state(14)["points"][:4]
    playground.open()
    playground.set(loss="svm", reg=0.1, stepSize=0.1, testPoints=test_points, **start)
    playground.call("step", 5)
    curve = playground.call("lossCurve")
    W, b, totals = gradient_descent(start["points"], start["W"], start["b"], "svm", 0.1, 1.0, 0.1, 5)
    np.testing.assert_allclose(curve["train"], totals, rtol=0, atol=TOL)
    assert curve["test"][-1] == pytest.approx(
        objective(test_points, W, b, "svm", 0.1, 1.0)["dataLoss"], abs=TOL
    )
    assert len(curve["test"]) == 6
    playground.set(loss="softmax")  # a new objective starts a new curve
    assert len(playground.call("lossCurve")["train"]) == 1


def test_no_points_means_zero_data_loss_and_only_the_penalty(playground):
    playground.open()
    state = playground.set(points=[], testPoints=[], W=[[1, 2], [3, -1], [0, 0.5]], b=[0, 1, 2], reg=0.5)
    assert (state["dataLoss"], state["regLoss"], state["totalLoss"]) == (0, 7.625, 7.625)
    assert state["dW"] == [[1, 2], [3, -1], [0, 0.5]]
    assert state["db"] == [0, 0, 0]


@pytest.mark.parametrize("loss", LOSSES)
def test_gradient_check_numbers_equal_centred_differences_in_python(playground, loss):
    start = seeded_state(11)
    playground.open()
    playground.set(loss=loss, reg=0.3, margin=1.0, **start)
    check = playground.call("gradientCheck")
    W0, b0 = np.array(start["W"]), np.array(start["b"])
    numeric_W = numerical_gradient(
        lambda W: objective(start["points"], W, b0, loss, 0.3, 1.0)["totalLoss"], W0.copy()
    )
    numeric_b = numerical_gradient(
        lambda b: objective(start["points"], W0, b, loss, 0.3, 1.0)["totalLoss"], b0.copy()
    )
    numeric = {e["name"]: e["numeric"] for e in check["entries"]}
    for (c, k), value in np.ndenumerate(numeric_W):
        assert numeric[f"W[{c}][{k}]"] == pytest.approx(value, abs=1e-8)
    for (c,), value in np.ndenumerate(numeric_b):
        assert numeric[f"b[{c}]"] == pytest.approx(value, abs=1e-8)
    assert check["kinks"] == []
    assert max(e["absError"] for e in check["entries"]) < 1e-8
    assert not any(e["failed"] for e in check["entries"])


def test_gradient_check_marks_entries_over_tolerance_red_and_flags_points_on_a_kink(playground):
    # W = 0 and b = (0, -1, 0): each point of class 0 has s_1 - s_0 + 1 = 0 exactly, a hinge corner;
    # the point of class 1 has margins of 2, far from any
    playground.open()
    points = [[0.5, 1.0, 0], [-1.0, 0.25, 0], [1.5, -0.5, 1]]
    playground.set(loss="svm", reg=0.0, margin=1.0, points=points, W=[[0, 0], [0, 0], [0, 0]], b=[0, -1, 0])
    check = playground.call("gradientCheck")
    assert [k["index"] for k in check["kinks"]] == [0, 1]
    failed = {e["name"] for e in check["entries"] if e["failed"]}
    assert "b[1]" in failed
    red = playground.page.locator("#gradcheck tr.failed")
    assert sorted(red.evaluate_all("rows => rows.map(r => r.dataset.entry)")) == sorted(failed)
    assert red.first.evaluate("r => getComputedStyle(r.cells[0]).color") == "rgb(192, 0, 0)"
    assert "Points on a hinge kink (a margin term within reach of h): 0, 1" in playground.page.inner_text(
        "#gradcheckSummary"
    )


def test_exported_python_reproduces_the_state_with_linclass(playground, tmp_path):
    for loss in LOSSES:
        start = seeded_state(5, classes=4)
        playground.open()
        playground.set(loss=loss, reg=0.2, margin=1.5, stepSize=0.1, **start)
        playground.page.click("#exportPython")
        source = playground.page.input_value("#python")
        assert source == playground.call("python")
        script = tmp_path / f"state_{loss}.py"
        script.write_text(source)
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        out = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
        )
        printed, continued = (json.loads(line) for line in out.stdout.splitlines())
        state = playground.state()
        assert printed["totalLoss"] == pytest.approx(state["totalLoss"], abs=TOL)
        np.testing.assert_allclose(printed["dW"], state["dW"], rtol=0, atol=TOL)
        np.testing.assert_allclose(printed["db"], state["db"], rtol=0, atol=TOL)
        after = playground.call("step", 10)
        np.testing.assert_allclose(continued["after10Steps"]["W"], after["W"], rtol=0, atol=TOL)
        np.testing.assert_allclose(continued["after10Steps"]["b"], after["b"], rtol=0, atol=TOL)


@pytest.mark.parametrize("loss", LOSSES)
def test_explain_view_shows_margins_and_probabilities_of_the_selected_point(playground, loss):
    start = seeded_state(3)
    playground.open()
    playground.set(loss=loss, margin=0.75, selected=4, **start)
    view = playground.call("explain", 4)
    x0, x1, y = start["points"][4]
    scores = np.array(start["W"]) @ [x0, x1] + np.array(start["b"])
    svm = objective([start["points"][4]], start["W"], start["b"], "svm", 0.0, 0.75)
    softmax = objective([start["points"][4]], start["W"], start["b"], "softmax", 0.0, 0.75)
    np.testing.assert_allclose(view["margins"], scores - scores[y] + 0.75, rtol=0, atol=TOL)
    np.testing.assert_allclose(view["probabilities"], np.exp(scores) / np.exp(scores).sum(), rtol=0, atol=TOL)
    assert view["svmLoss"] == pytest.approx(svm["dataLoss"], abs=TOL)
    assert view["softmaxLoss"] == pytest.approx(softmax["dataLoss"], abs=TOL)
    text = playground.page.inner_text("#explainBody")
    assert f"SVM (Weston–Watkins) L_i = {svm['dataLoss']:.3f}" in text
    assert f"softmax L_i = −log p_y = {softmax['dataLoss']:.3f}" in text
    assert f"{-np.log(np.exp(scores) / np.exp(scores).sum())[y]:.3f}" in text


def test_gradient_arrows_point_along_minus_the_gradient_for_all_points_or_one(playground):
    start = seeded_state(4)
    playground.open()
    playground.set(loss="softmax", reg=0.1, showGradient=True, selected=2, **start)
    expected = objective(start["points"], start["W"], start["b"], "softmax", 0.1, 1.0)
    x0, x1, _ = start["points"][2]
    single = objective([start["points"][2]], start["W"], start["b"], "softmax", 0.0, 1.0)
    for of_selected, g in [(False, expected["dW"]), (True, single["dW"])]:
        playground.set(gradientOfSelected=of_selected)
        arrows = playground.call("gradientArrows")
        scale = 1 / np.linalg.norm(g, axis=1).max()
        assert arrows["scale"] == pytest.approx(scale, rel=1e-12)
        for a in arrows["arrows"]:
            c = a["class"]
            np.testing.assert_allclose(a["from"], start["W"][c], rtol=0, atol=TOL)
            np.testing.assert_allclose(np.subtract(a["to"], a["from"]), -scale * g[c], rtol=0, atol=TOL)


@pytest.mark.parametrize("direction", ["gradient", "random"])
def test_landscape_slice_is_the_total_loss_along_a_unit_direction(playground, direction):
    start = seeded_state(6)
    playground.open()
    playground.set(loss="svm", reg=0.2, landscape=direction, **start)
    slice_ = playground.call("landscape")
    D = np.array(slice_["direction"])
    assert np.sum(D * D) == pytest.approx(1.0, abs=1e-12)
    if direction == "gradient":
        dW = objective(start["points"], start["W"], start["b"], "svm", 0.2, 1.0)["dW"]
        np.testing.assert_allclose(D, -dW / np.linalg.norm(dW), rtol=0, atol=TOL)
    W0 = np.array(start["W"])
    expected = [
        objective(start["points"], W0 + t * D, start["b"], "svm", 0.2, 1.0)["totalLoss"] for t in slice_["ts"]
    ]
    assert slice_["ts"][0] == -2 and slice_["ts"][-1] == 2 and len(slice_["ts"]) == 81
    np.testing.assert_allclose(slice_["losses"], expected, rtol=0, atol=TOL)
    assert slice_["losses"][40] == pytest.approx(playground.state()["totalLoss"], abs=TOL)


def test_optimizer_race_starts_together_and_gradient_descent_follows_python(playground):
    start = seeded_state(8)
    playground.open()
    playground.set(loss="softmax", reg=0.1, stepSize=0.3, raceEvaluations=60, raceSigma=0.5, **start)
    results = playground.call("race")
    _, _, totals = gradient_descent(start["points"], start["W"], start["b"], "softmax", 0.1, 1.0, 0.3, 60)
    gd = results["gradientDescent"]
    np.testing.assert_allclose(gd["losses"], totals, rtol=0, atol=TOL)
    for name in ("randomSearch", "randomLocalSearch"):
        curve = np.array(results[name]["losses"])
        assert len(curve) == 61 and curve[0] == pytest.approx(totals[0], abs=TOL)
        assert np.all(np.diff(curve) <= 0), f"{name}'s best-so-far curve went up"
        best = objective(start["points"], results[name]["W"], results[name]["b"], "softmax", 0.1, 1.0)
        assert best["totalLoss"] == pytest.approx(curve[-1], abs=TOL)
    # the lecture's ordering on this start: following the gradient beats both searches
    assert gd["losses"][-1] < results["randomLocalSearch"]["losses"][-1] < totals[0]
    assert gd["losses"][-1] < results["randomSearch"]["losses"][-1]
    legend = playground.page.inner_text("#raceLegend")
    assert f"gradient descent: {gd['losses'][-1]:.4f}" in legend


def test_penalty_comparison_equals_gradient_descent_under_each_linclass_penalty(playground):
    start = seeded_state(9)
    playground.open()
    playground.set(loss="svm", reg=0.4, stepSize=0.1, raceEvaluations=40, **start)
    results = playground.call("penalties")
    assert [r["penalty"] for r in results] == list(PENALTIES)
    for r in results:
        W, b, _ = gradient_descent(
            start["points"], start["W"], start["b"], "svm", 0.4, 1.0, 0.1, 40, r["penalty"]
        )
        np.testing.assert_allclose(r["W"], W, rtol=0, atol=TOL, err_msg=r["penalty"])
        np.testing.assert_allclose(r["b"], b, rtol=0, atol=TOL, err_msg=r["penalty"])
        final = objective(start["points"], W, b, "svm", 0.4, 1.0, r["penalty"])
        assert r["totalLoss"] == pytest.approx(final["totalLoss"], abs=TOL)
        assert r["sumAbs"] == pytest.approx(np.abs(W).sum(), abs=TOL)
    captions = playground.page.locator("#penalties figcaption").all_inner_texts()
    assert [c.split(":")[0] for c in captions] == ["l2", "l1", "elasticnet", "none"]
