"""``linclass plot``: a model's figures and the lecture's, written as real PNGs."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import linclass
from linclass.app.experiment import TrainConfig, train_model
from linclass.cli import main

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("plot") / "digits.npz"
    train_model(TrainConfig(epochs=4)).model.save(path)
    return path


def _pixels(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The PNG's RGB pixels, after checking its size and that it is a real figure, not a blank page."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20
    return pixels


def test_model_figures_are_written_and_listed(model_file, tmp_path, capsys):
    out = tmp_path / "figures"
    assert main(["plot", str(model_file), "--data", "digits", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == [str(out / "templates.png"), str(out / "history.png"), str(out / "confusion.png")]
    _pixels(out / "templates.png", (850, 420))
    history = _pixels(out / "history.png", (1000, 400))
    confusion = _pixels(out / "confusion.png", (900, 800))
    # curves in the default colours: blue (train) and red (validation)
    assert np.any((history[..., 2] > 150) & (history[..., 0] < 60))
    assert np.any((history[..., 0] > 180) & (history[..., 1] < 60))
    assert np.any((confusion[..., 2].astype(int) - confusion[..., 0]) > 100)


def _longest_run(flags: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the longest run of True in a 1-D boolean array."""
    best, start = (0, 0), None
    for i, flag in enumerate([*flags, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            best = max(best, (start, i), key=lambda run: run[1] - run[0])
            start = None
    return best


def _tile(grey: np.ndarray) -> np.ndarray:
    """The 8x8 cell values of the one template tile in ``grey`` (a region of the figure)."""
    painted = grey < 255
    top, bottom = _longest_run(painted.sum(axis=1) > 60)
    left, right = _longest_run(painted[top:bottom].sum(axis=0) > 60)
    assert bottom - top > 100 and right - left > 100
    rows = top + (np.arange(8) + 0.5) * (bottom - top) / 8
    columns = left + (np.arange(8) + 0.5) * (right - left) / 8
    return grey[np.ix_(rows.astype(int), columns.astype(int))]


def test_templates_show_each_class_column_of_w(model_file, tmp_path, capsys):
    from linclass.viz import weight_templates

    assert main(["plot", str(model_file), "--out", str(tmp_path), "-q"]) == 0
    pixels = _pixels(tmp_path / "templates.png", (850, 420))
    grey = pixels[..., 0].astype(int)
    assert np.array_equal(grey, pixels[..., 1]) and np.array_equal(grey, pixels[..., 2])
    expected = weight_templates(linclass.load(model_file).params_[0], (8, 8)).astype(int)
    # tiles: 5 per row, 170 pixels wide; class 0 top left, class 5 below it, class 4 top right
    for cls, region in ((0, grey[:210, :170]), (5, grey[210:, :170]), (4, grey[:210, 680:])):
        np.testing.assert_allclose(_tile(region), expected[cls], atol=2)


def test_without_data_there_is_no_confusion_matrix(model_file, tmp_path, capsys):
    assert main(["plot", str(model_file), "--out", str(tmp_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {
        "files": [str(tmp_path / "templates.png"), str(tmp_path / "history.png")],
        "skipped": [],
    }
    assert not (tmp_path / "confusion.png").exists()


def test_model_without_image_shape_skips_templates(tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = linclass.LinearClassifier(epochs=3, random_state=0).fit(rng.random((60, 4)), np.arange(60) % 3)
    model.save(tmp_path / "table.npz")
    assert main(["plot", str(tmp_path / "table.npz"), "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "skipped templates.png: the model has no image shape (it was trained on feature vectors)",
        str(tmp_path / "history.png"),
    ]
    _pixels(tmp_path / "history.png", (1000, 400))


def test_nothing_to_plot_is_an_error(tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = linclass.LinearClassifier(epochs=3, random_state=0).fit(rng.random((60, 4)), np.arange(60) % 3)
    model.history_ = {}
    model.save(tmp_path / "bare.npz")
    assert main(["plot", str(tmp_path / "bare.npz"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"linclass plot: error: nothing to plot for {tmp_path / 'bare.npz'}: ")
    assert err.rstrip().endswith("give --data SPEC")


def test_lecture_figures(tmp_path, capsys):
    out = tmp_path / "lecture"
    assert main(["plot", "lecture", "--out", str(out)]) == 0
    names = ["hinge_loss.png", "softmax_example.png", "nll_bases.png"]
    assert capsys.readouterr().out.splitlines() == [str(out / name) for name in names]
    _pixels(out / "hinge_loss.png", (640, 420))
    softmax = _pixels(out / "softmax_example.png", (1000, 380))
    _pixels(out / "nll_bases.png", (1200, 600))
    # three bar colours: blue (cat), orange (car), green (frog)
    colours = {tuple(c) for c in softmax.reshape(-1, 3)}
    assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours


def test_lecture_with_data_is_refused(tmp_path, capsys):
    assert main(["plot", "lecture", "--data", "digits", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "linclass plot: error: --data applies to a model, not to the lecture's figures\n"
    )


def test_truncated_model_is_refused(model_file, tmp_path, capsys):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(model_file.read_bytes()[:-50])
    assert main(["plot", str(cut), "--out", str(tmp_path)]) == 1
    assert "is not a linclass model file: the zip archive is truncated or damaged" in capsys.readouterr().err
    assert not (tmp_path / "templates.png").exists()


def test_exit_codes_from_a_real_process(model_file, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "linclass", "plot", str(model_file), "--out", str(tmp_path / "a"), "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == [str(tmp_path / "a" / "templates.png"), str(tmp_path / "a" / "history.png")]
    missing = subprocess.run(
        [sys.executable, "-m", "linclass", "plot", str(tmp_path / "missing.npz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1 and missing.stderr.startswith("linclass plot: error: ")


def test_unknown_split_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", "--split", "val", "lecture"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        "linclass plot: error: --split val: not one of the choices; expected one of test, train\n"
    )
