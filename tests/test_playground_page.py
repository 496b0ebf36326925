"""The playground in a real browser: loading, the URL, the mouse, the keyboard, play, pixels, files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import numpy as np

from playground_reference import CANVAS, gradient_descent, seeded_state, to_pixel

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def page_pixel(playground, x0, x1):
    """Where the mouse must go for data point (x0, x1): the canvas box plus its border."""
    box = playground.page.locator("#plot").bounding_box()
    border = playground.page.evaluate("document.getElementById('plot').clientLeft")
    px, py = to_pixel(x0, x1)
    return box["x"] + border + px, box["y"] + border + py


def freeze_clock(playground):
    """A fake clock that moves only when the test runs it."""
    playground.page.clock.install(time=START)
    playground.open()
    playground.page.clock.pause_at(START + timedelta(seconds=10))


def test_page_loads_without_console_errors_or_any_request_off_the_local_server(playground):
    playground.open()
    state = playground.state()
    assert state["loss"] == "svm" and len(state["points"]) == 15 and len(state["W"]) == 3
    assert playground.page.title() == "linclass playground: linear classifiers, live"
    origin = urlparse(playground.base_url).netloc
    assert playground.requests and all(urlparse(u).netloc == origin for u in playground.requests)
    assert sorted({urlparse(u).path for u in playground.requests}) == [
        "/",
        "/app.js",
        "/data.js",
        "/math.js",
        "/panels.js",
        "/plot.js",
        "/python.js",
        "/race.js",
        "/random.js",
        "/state.js",
        "/style.css",
        "/views.js",
    ]


def test_every_control_has_a_label_and_buttons_are_buttons(playground):
    playground.open()
    unlabelled = playground.page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
             .filter(e => !e.getAttribute('aria-label') && !document.querySelector(`label[for="${e.id}"]`)
                          && !e.closest('label'))
             .map(e => e.id)"""
    )
    assert unlabelled == []
    for name in ("Step (→)", "Play (space)", "Randomize parameters", "Randomize data", "Export as Python"):
        assert playground.page.get_by_role("button", name=name).count() == 1


def test_set_rejects_bad_fields_with_a_message_naming_them(playground):
    playground.open()
    cases = {
        "{loss: 'hinge'}": 'loss must be one of svm, ova, structured, softmax, got "hinge"',
        "{reg: -1}": "reg must be a number in [0, 100], got -1",
        "{W: [[1, 2, 3], [0, 0]]}": "W[0] must be 2 finite numbers (the lecture's Wx layout), got [1,2,3]",
        "{b: [1, 2]}": "b must have 3 entries (one per row of W), got 2",
        "{points: [[0, 0, 7]]}": "points[0]: label must be an integer 0..5, got 7",
        "{points: [[0, 0, 4]]}": "points[0] has label 4 but there are 3 classes",
        "{totalLoss: 1}": "totalLoss is computed from the state and cannot be set",
        "{colour: 1}": 'unknown field "colour"; settable: points, testPoints, W, b, loss, reg, margin, stepSize, seed, preset, count, classes, noise, testFraction, showTest, showLines, showWeights, showGradient, selected, gradientOfSelected, landscape, raceEvaluations, raceSigma',
    }
    for partial, message in cases.items():
        got = playground.page.evaluate(
            f"() => {{ try {{ window.playground.set({partial}); return null; }} catch (e) {{ return e.message; }} }}"
        )
        assert got == message
    assert playground.state()["loss"] == "svm"


def test_url_round_trips_every_control_after_a_reload(playground, browser):
    playground.open()
    page = playground.page
    page.select_option("#preset", "outliers")
    page.fill("#classes", "4")
    page.dispatch_event("#classes", "change")
    page.fill("#count", "21")
    page.dispatch_event("#count", "change")
    page.fill("#seed", "42")
    page.dispatch_event("#seed", "change")
    for slider, value in [
        ("#noise", "0.75"),
        ("#testFraction", "0.3"),
        ("#reg", "0.237"),
        ("#stepSize", "0.041"),
        ("#margin", "1.35"),
    ]:
        page.fill(slider, value)
    page.select_option("#loss", "structured")
    page.select_option("#landscape", "random")
    for box in ("#showLines", "#showGradient", "#gradientOfSelected"):
        page.click(box)
    page.fill("#raceEvaluations", "37")
    page.dispatch_event("#raceEvaluations", "change")
    page.get_by_role("button", name="increase W[1][0]").click()
    page.click("#examples tr[data-index='3']")
    playground.set(b=[0.1 + 0.2, -1 / 3, 1e-7, 2.5])  # numbers that only survive in full precision
    page.click("#step")
    before = playground.state()
    assert (before["preset"], before["classes"], before["seed"], before["loss"]) == (
        "outliers",
        4,
        42,
        "structured",
    )
    assert (before["noise"], before["testFraction"], before["reg"], before["margin"]) == (
        0.75,
        0.3,
        0.237,
        1.35,
    )
    assert before["showLines"] is False and before["showGradient"] is True and before["selected"] == 3
    assert len(before["points"]) + len(before["testPoints"]) == 21 and len(before["testPoints"]) == 6
    controls = "() => [...document.querySelectorAll('input:not([type=file]), select')].map(e => [e.id, e.type === 'checkbox' ? e.checked : e.value])"
    before_controls = page.evaluate(controls)
    url = page.url
    page.reload()
    page.wait_for_selector("html[data-ready='1']")
    after = playground.state()
    unchanged = {k: v for k, v in before.items() if k not in ("iteration",)}
    assert {k: after[k] for k in unchanged} == unchanged
    assert page.evaluate(controls) == before_controls
    fresh = browser.new_page()
    fresh.goto(url)
    fresh.wait_for_selector("html[data-ready='1']")
    assert {
        k: v for k, v in fresh.evaluate("window.playground.state()").items() if k in unchanged
    } == unchanged
    fresh.close()


def test_a_link_pasted_into_the_open_tab_applies_its_fields(playground):
    playground.open()
    playground.page.evaluate("location.hash = '#loss=ova&margin=0.25'")
    playground.page.wait_for_function("window.playground.state().loss === 'ova'")
    state = playground.state()
    assert (state["loss"], state["margin"], len(state["points"])) == ("ova", 0.25, 15)
    assert playground.page.input_value("#loss") == "ova"


def test_a_bad_link_reports_its_error_and_keeps_the_defaults(playground):
    playground.open("#loss=hinge")
    assert (
        playground.page.inner_text("#error")
        == 'the link\'s state was not used: loss must be one of svm, ova, structured, softmax, got "hinge"'
    )
    assert playground.state()["loss"] == "svm"


def test_dragging_a_point_with_the_mouse_moves_it_and_changes_the_table(playground):
    playground.open()
    start = seeded_state(2)
    playground.set(loss="svm", **start)
    row = playground.page.locator("#examples tr[data-index='0']")
    before_row = row.inner_text()
    x0, x1, label = start["points"][0]
    target = (-1.25, 2.0) if x0 > 0 else (1.25, -2.0)
    playground.page.mouse.move(*page_pixel(playground, x0, x1))
    playground.page.mouse.down()
    for k in range(1, 6):
        t = k / 5
        playground.page.mouse.move(
            *page_pixel(playground, x0 + t * (target[0] - x0), x1 + t * (target[1] - x1))
        )
    playground.page.mouse.up()
    state = playground.state()
    moved = state["points"][0]
    assert moved[2] == label and state["selected"] == 0
    np.testing.assert_allclose(moved[:2], target, atol=6 / CANVAS * 2)
    assert row.inner_text() != before_row
    assert row.inner_text().split("\t")[1:3] == [f"{moved[0]:.3f}", f"{moved[1]:.3f}"]


def test_click_adds_a_point_of_the_chosen_class_and_shift_click_deletes_it(playground):
    playground.open()
    playground.set(points=[[2.0, 2.0, 0]], testPoints=[])
    playground.page.select_option("#addClass", "2")
    playground.page.mouse.click(*page_pixel(playground, -1.5, -0.75))
    points = playground.state()["points"]
    assert len(points) == 2 and points[1][2] == 2
    np.testing.assert_allclose(points[1][:2], [-1.5, -0.75], atol=0.5 * 6 / CANVAS)
    playground.page.keyboard.down("Shift")
    playground.page.mouse.click(*page_pixel(playground, 2.0, 2.0))
    playground.page.keyboard.up("Shift")
    assert [p[2] for p in playground.state()["points"]] == [2]


def test_play_advances_under_a_fake_clock_and_pause_freezes(playground):
    freeze_clock(playground)
    start = seeded_state(1)
    playground.set(loss="softmax", reg=0.1, stepSize=0.2, **start)
    playground.page.click("#play")
    assert playground.page.get_attribute("#play", "aria-pressed") == "true"
    playground.page.clock.run_for(1000)  # the page steps every 50 ms
    playing = playground.state()
    assert playing["iteration"] == 20
    W, b, _ = gradient_descent(start["points"], start["W"], start["b"], "softmax", 0.1, 1.0, 0.2, 20)
    np.testing.assert_allclose(playing["W"], W, rtol=0, atol=1e-9)
    playground.page.click("#play")
    playground.page.clock.run_for(2000)
    paused = playground.state()
    assert paused["iteration"] == 20 and paused["W"] == playing["W"]
    assert "W=" in playground.page.url and str(playing["W"][0][0]) in playground.page.url.replace("%2C", ",")


def test_keyboard_space_plays_and_pauses_and_arrow_right_steps(playground):
    freeze_clock(playground)
    playground.page.keyboard.press("ArrowRight")
    assert playground.state()["iteration"] == 1
    playground.page.focus("#randomizeData")  # a focused button must not also be clicked by space
    seed = playground.state()["seed"]
    playground.page.keyboard.press(" ")
    assert playground.call("playing") is True
    playground.page.clock.run_for(500)
    playground.page.keyboard.press(" ")
    assert playground.call("playing") is False
    state = playground.state()
    assert state["iteration"] == 11 and state["seed"] == seed


def test_presets_are_seeded_and_randomize_data_moves_to_the_next_seed(playground):
    from sklearn.svm import LinearSVC

    playground.open()
    for preset in ("blobs", "separable", "xor", "outliers"):
        a = playground.set(preset=preset, count=40, classes=3, seed=5)
        playground.set(seed=6)
        b = playground.set(seed=5)
        assert a["points"] == b["points"] and len(a["points"]) == 40
        assert {p[2] for p in a["points"]} <= {0, 1, 2}
    separable = np.array(playground.set(preset="separable", count=60, seed=9)["points"])
    svc = LinearSVC(C=1e4, max_iter=100000).fit(separable[:, :2], separable[:, 2])
    assert svc.score(separable[:, :2], separable[:, 2]) == 1.0
    before = playground.state()
    playground.page.click("#randomizeData")
    after = playground.state()
    assert after["seed"] == before["seed"] + 1 and after["points"] != before["points"]


def test_randomize_parameters_draws_a_new_w_and_b_and_puts_them_in_the_link(playground):
    playground.open()
    before = playground.state()
    playground.page.click("#randomizeParams")
    after = playground.state()
    assert after["W"] != before["W"] and len(after["W"]) == 3 and len(after["b"]) == 3
    assert after["points"] == before["points"] and after["iteration"] == 0
    in_link = playground.page.evaluate("import('./state.js').then(m => m.fromHash(location.hash))")
    assert (in_link["W"], in_link["b"]) == (after["W"], after["b"])


def test_nudge_buttons_change_one_entry_by_a_tenth(playground):
    playground.open()
    playground.set(W=[[1, 2], [3, 4], [5, 6]], b=[0, 0, 0])
    playground.page.get_by_role("button", name="increase W[1][0]").click()
    playground.page.get_by_role("button", name="decrease b[2]").click()
    state = playground.state()
    assert state["W"] == [[1, 2], [3.1, 4], [5, 6]] and state["b"] == [0, 0, -0.1]
    assert playground.page.inner_text("[data-entry='W[1][0]']").strip() == "3.100"


def test_points_import_from_csv_and_json_and_export_again(playground, tmp_path):
    playground.open()
    page = playground.page
    page.set_input_files(
        "#importFile",
        files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": b"x0,x1,label\n0.5,1,0\n-1,2,3\n"}],
    )
    page.wait_for_function("window.playground.state().points.length === 2")
    state = playground.state()
    assert state["points"] == [[0.5, 1, 0], [-1, 2, 3]] and len(state["W"]) == 4
    with page.expect_download() as download:
        page.click("#exportCsv")
    assert download.value.path().read_text() == "x0,x1,label\n0.5,1,0\n-1,2,3\n"
    document = {"points": [[1, 1, 1]], "testPoints": [[0, -1, 0]]}
    page.set_input_files(
        "#importFile",
        files=[
            {"name": "mine.json", "mimeType": "application/json", "buffer": json.dumps(document).encode()}
        ],
    )
    page.wait_for_function("window.playground.state().points.length === 1")
    with page.expect_download() as download:
        page.click("#exportJson")
    assert json.loads(download.value.path().read_text()) == document
    page.set_input_files(
        "#importFile",
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x0,x1,label\n1,2,0\n1,two,0\n"}],
    )
    page.wait_for_selector("#error:not([hidden])")
    assert (
        page.inner_text("#error") == 'bad.csv: line 3: x0 and x1 must be finite numbers, got ["1","two","0"]'
    )
    assert playground.state()["points"] == [[1, 1, 1]]
