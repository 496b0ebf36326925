"""The playground's canvas: region colours, zero-score lines, weight and gradient arrows, test points."""

from __future__ import annotations

import numpy as np
import pytest

from playground_reference import CANVAS, VIEW_MAX, VIEW_MIN, seeded_state, to_pixel


def rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def pixel_rgb(playground, px: int, py: int) -> list[int]:
    return playground.page.evaluate(
        "([x, y]) => Array.from(document.getElementById('plot').getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))",
        [px, py],
    )


def darkest_around(playground, x: float, y: float) -> int:
    """The smallest colour channel in the 3 x 3 pixels around (x, y)."""
    return min(min(pixel_rgb(playground, round(x) + i, round(y) + j)) for i in (-1, 0, 1) for j in (-1, 0, 1))


def test_canvas_pixels_have_the_winning_classs_colour(playground):
    playground.open()
    region = playground.page.evaluate("import('./plot.js').then(m => m.REGION_RGB)")
    angles = np.deg2rad([90, 210, 330])
    W = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # three 120-degree sectors around 0
    playground.set(W=W.tolist(), b=[0, 0, 0], points=[], testPoints=[])
    for c, angle in enumerate(angles):
        for offset in (-0.5, 0.4):  # inside sector c, away from its arrow and every line
            px, py = to_pixel(2.2 * np.cos(angle + offset), 2.2 * np.sin(angle + offset))
            assert pixel_rgb(playground, int(px), int(py)) == region[c]
    # a random classifier, overlays off: every sampled pixel off the grid lines has the argmax colour
    start = seeded_state(12, classes=4)
    playground.set(points=[], W=start["W"], b=start["b"], showLines=False, showWeights=False)
    rng = np.random.default_rng(0)
    checked = 0
    for px, py in rng.integers(0, CANVAS, size=(300, 2)):
        if min(px % 80, 80 - px % 80, py % 80, 80 - py % 80) < 2:
            continue
        x = VIEW_MIN + (px + 0.5) / CANVAS * 6, VIEW_MAX - (py + 0.5) / CANVAS * 6
        scores = np.array(start["W"]) @ x + np.array(start["b"])
        assert pixel_rgb(playground, int(px), int(py)) == region[int(np.argmax(scores))]
        checked += 1
    assert checked > 200
    assert len({tuple(c) for c in region}) == 6


def test_test_split_and_the_show_test_toggle(playground):
    playground.open()
    state = playground.set(preset="blobs", count=20, testFraction=0.25, seed=3)
    assert (len(state["points"]), len(state["testPoints"])) == (15, 5)
    x0, x1, _ = state["testPoints"][0]
    px, py = (int(v) for v in to_pixel(x0, x1))
    assert pixel_rgb(playground, px, py) == [255, 255, 255]  # a hollow marker
    playground.page.click("#showTest")
    assert pixel_rgb(playground, px, py) != [255, 255, 255]
    assert state["testAccuracy"] == pytest.approx(
        np.mean([np.argmax(np.array(state["W"]) @ p[:2] + state["b"]) == p[2] for p in state["testPoints"]])
    )
    assert "test accuracy" in playground.page.inner_text("#totals")


def test_weight_arrows_zero_score_lines_and_gradient_arrows_are_drawn_and_toggle(playground):
    playground.open()
    colours = [rgb(c) for c in playground.call("colours")]
    region = playground.page.evaluate("import('./plot.js').then(m => m.REGION_RGB)")
    W = [[2.0, 0.0], [-1.0, 1.5], [-1.0, -1.5]]
    playground.set(W=W, b=[0.5, 0.0, 0.0], points=[], testPoints=[], showGradient=False)
    mid = [to_pixel(0.5 * w[0], 0.5 * w[1]) for w in W]  # halfway along each weight arrow
    assert [pixel_rgb(playground, round(x), round(y)) for x, y in mid] == colours[:3]
    # class 0's zero-score line is x0 = -0.25: dashed, so some pixels down the column are its colour
    column = round(to_pixel(-0.25, 0)[0])
    on_line = [pixel_rgb(playground, column, y) for y in range(20, 120)]
    assert sum(p == colours[0] for p in on_line) > 30
    playground.page.click("#showWeights")
    playground.page.click("#showLines")
    assert [pixel_rgb(playground, round(x), round(y)) for x, y in mid] != colours[:3]
    assert colours[0] not in [pixel_rgb(playground, column, y) for y in range(20, 120)]
    playground.set(points=seeded_state(3)["points"], showGradient=True)
    arrows = playground.call("gradientArrows")["arrows"]
    middles = [to_pixel(*(0.5 * (np.array(a["from"]) + a["to"]))) for a in arrows]
    # the arrows are 2 px wide and anti-aliased: the darkest pixel around each middle is near-black
    assert all(darkest_around(playground, x, y) < 60 for x, y in middles)
    playground.page.click("#showGradient")
    assert all(darkest_around(playground, x, y) > 90 for x, y in middles)
    assert region[0] != colours[0]
