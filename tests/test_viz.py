"""linclass.viz: every figure is a real PNG of the promised size that shows what it claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from linclass.viz import (  # noqa: E402
    nll_bases,
    plot_confusion_matrix,
    plot_hinge_loss,
    plot_history,
    plot_lecture,
    plot_nll_bases,
    plot_softmax_example,
    plot_weight_templates,
    weight_templates,
)

HISTORY = {
    "loss": [2.3, 1.8, 1.5, 1.4],
    "train_accuracy": [0.2, 0.31, 0.36, 0.38],
    "val_accuracy": [0.19, 0.29, 0.33, 0.35],
    "learning_rate": [0.1, 0.1, 0.05, 0.05],
}
CM = np.array([[50, 3, 2], [4, 40, 6], [1, 9, 35]])


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _assert_real_figure(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The PNG opens, has ``size`` (width, height) pixels and is not blank."""
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == size
    pixels = _pixels(path)
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50
    assert pixels.std() > 10
    assert (pixels < 250).any(axis=-1).mean() > 0.02  # not all white
    return pixels


# --------------------------------------------------------------------------- weight templates


def _square_column(side: int = 8, low: int = 2, high: int = 6) -> np.ndarray:
    image = np.zeros((side, side))
    image[low:high, low:high] = 1.0
    return image.ravel()


def test_weight_templates_rescale_each_column_to_0_255():
    W = np.stack([_square_column(), -3.0 * _square_column(), np.full(64, 7.0)], axis=1)
    templates = weight_templates(W, (8, 8))
    assert templates.shape == (3, 8, 8)
    assert templates.dtype == np.uint8
    np.testing.assert_array_equal(templates[0], 255 * _square_column().reshape(8, 8))
    np.testing.assert_array_equal(templates[1], 255 * (1 - _square_column().reshape(8, 8)))
    np.testing.assert_array_equal(templates[2], np.full((8, 8), 128))


def test_weight_templates_reshape_rgb_columns_in_c_order():
    images = np.random.default_rng(0).random((2, 4, 5, 3))
    W = images.reshape(2, -1).T  # as X = images.reshape(N, -1) would give
    templates = weight_templates(W, (4, 5, 3))
    assert templates.shape == (2, 4, 5, 3)
    for template, image in zip(templates, images, strict=True):
        expected = 255 * (image - image.min()) / (image.max() - image.min())
        np.testing.assert_allclose(template, expected, atol=0.5)


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


def test_template_tile_is_bright_where_the_column_is_large(tmp_path):
    path = plot_weight_templates(_square_column()[:, None], (8, 8), ["square"], tmp_path / "t.png",
                                 figsize=(3, 3), dpi=100)
    pixels = _assert_real_figure(path, (300, 300)).mean(axis=-1)
    black = pixels < 10  # the black part of the tile, and the titles' text
    top, bottom = _longest_run(black.sum(axis=1) > 60)
    left, right = _longest_run(black[top:bottom].sum(axis=0) > 60)
    assert bottom - top > 150 and right - left > 150
    tile = pixels[top:bottom, left:right]
    height, width = tile.shape

    def at(r, c):
        return tile[int(r * height), int(c * width)]

    assert at(0.5, 0.5) > 250 and at(0.3, 0.3) > 250 and at(0.7, 0.7) > 250  # inside the square
    assert at(0.1, 0.1) < 10 and at(0.9, 0.5) < 10 and at(0.5, 0.1) < 10  # outside it


def test_rgb_template_keeps_its_colour(tmp_path):
    column = np.zeros((4, 4, 3))
    column[..., 0] = 1.0
    path = plot_weight_templates(column.reshape(-1, 1), (4, 4, 3), ["red"], tmp_path / "red.png",
                                 figsize=(2, 2), dpi=100)
    pixels = _pixels(path)
    red = (pixels[..., 0] == 255) & (pixels[..., 1] == 0) & (pixels[..., 2] == 0)
    assert red.sum() > 0.3 * 200 * 200


def test_ten_class_templates_figure_and_different_weights_give_different_images(tmp_path):
    rng = np.random.default_rng(0)
    classes = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    first = plot_weight_templates(rng.standard_normal((12 * 12 * 3, 10)), (12, 12, 3), classes,
                                  tmp_path / "a.png", figsize=(8.5, 4.2), dpi=100)
    second = plot_weight_templates(rng.standard_normal((12 * 12 * 3, 10)), (12, 12, 3), classes,
                                   tmp_path / "b.png", figsize=(8.5, 4.2), dpi=100)
    a, b = _assert_real_figure(first, (850, 420)), _assert_real_figure(second, (850, 420))
    assert (a != b).any(axis=-1).mean() > 0.2


def test_template_grid_default_size_follows_the_grid(tmp_path):
    path = plot_weight_templates(np.eye(4)[:, :3], (2, 2), [0, 1, 2], tmp_path / "g.png", dpi=100)
    _assert_real_figure(path, (510, 230))  # 3 columns x 1 row: (1.7 * 3, 1.9 + 0.4) inches


@pytest.mark.parametrize(
    ("W", "image_shape", "message"),
    [
        (np.zeros((3073, 10)), (32, 32, 3),
         r"W has 3073 rows \(D\) but image_shape \(32, 32, 3\) holds 3072 values; "
         r"expected W of shape \(3072, C\)"),
        (np.zeros((64, 2)), (8, 8, 4),
         r"image_shape must be \(H, W\) or \(H, W, channels\) with 1 or 3 channels"),
        (np.zeros((64, 2)), (64,), r"image_shape must be \(H, W\) or \(H, W, channels\)"),
        (np.zeros((64, 2)), "8x8", r"image_shape must be \(H, W\) or \(H, W, channels\), got '8x8'"),
        (np.zeros(64), (8, 8), r"W must be 2-D of shape \(D, C\), got an array of shape \(64,\)"),
        (np.full((64, 2), np.nan), (8, 8), "W contains NaN or inf values"),
    ],
)
def test_weight_templates_bad_shapes_are_refused(tmp_path, W, image_shape, message):
    with pytest.raises(ValueError, match=message):
        plot_weight_templates(W, image_shape, ["a", "b"], tmp_path / "t.png")
    assert not (tmp_path / "t.png").exists()


def test_failed_plot_leaves_an_existing_file_untouched(tmp_path):
    path = tmp_path / "t.png"
    path.write_bytes(b"previous")
    with pytest.raises(ValueError, match=r"classes has 3 names but W has 2 columns \(C\)"):
        plot_weight_templates(np.zeros((4, 2)), (2, 2), ["a", "b", "c"], path)
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.png"]


# --------------------------------------------------------------------------- history and confusion


def test_history_figure_with_loss_and_accuracy_panels(tmp_path):
    path = plot_history(HISTORY, tmp_path / "history.png", figsize=(10, 4), dpi=100)
    assert path == tmp_path / "history.png"
    _assert_real_figure(path, (1000, 400))


def _x_axis_spans_the_middle(pixels: np.ndarray) -> bool:
    """Whether the figure's longest horizontal black line (an x axis) crosses its middle."""
    black = (pixels < 100).all(axis=-1)
    axis_row = black.sum(axis=1).argmax()
    middle = pixels.shape[1] // 2
    return bool(black[axis_row, middle - 20 : middle + 20].all())


def test_history_with_only_some_series_draws_no_empty_panel(tmp_path):
    both = _pixels(plot_history(HISTORY, tmp_path / "both.png"))
    assert not _x_axis_spans_the_middle(both)  # two panels side by side
    for name, history in [
        ("loss", {"loss": HISTORY["loss"]}),
        ("val loss", {"val_loss": [1.2, 1.1]}),
        ("accuracy", {"val_accuracy": HISTORY["val_accuracy"], "loss": []}),
    ]:
        pixels = _assert_real_figure(plot_history(history, tmp_path / f"{name}.png"), (1000, 400))
        assert _x_axis_spans_the_middle(pixels), name


@pytest.mark.parametrize(
    ("history", "error", "message"),
    [
        ({"learning_rate": [0.1]}, ValueError,
         r"history has no non-empty loss or accuracy series; got keys \['learning_rate'\]"),
        ({"loss": []}, ValueError, "history has no non-empty loss or accuracy series"),
        ({"loss": [[1.0, 2.0]]}, ValueError, r"history\['loss'\] must be a 1-D list of numbers"),
        ({"loss": ["a"]}, ValueError, r"history\['loss'\] must be a 1-D list of numbers"),
        ([1.0, 2.0], TypeError, "history must be a mapping of series names to lists"),
    ],
)
def test_history_without_plottable_series_is_refused(tmp_path, history, error, message):
    with pytest.raises(error, match=message):
        plot_history(history, tmp_path / "h.png")


def test_confusion_matrix_counts_and_normalized(tmp_path):
    counts = plot_confusion_matrix(CM, ["cat", "car", "frog"], tmp_path / "cm.png", figsize=(6, 5), dpi=100)
    fractions = plot_confusion_matrix(CM, ["cat", "car", "frog"], tmp_path / "cmn.png", normalize=True,
                                      figsize=(6, 5), dpi=100)
    a, b = _assert_real_figure(counts, (600, 500)), _assert_real_figure(fractions, (600, 500))
    assert (a != b).any()


def test_confusion_matrix_default_size_grows_with_classes(tmp_path):
    small = plot_confusion_matrix(CM, [0, 1, 2], tmp_path / "small.png")
    large = plot_confusion_matrix(np.eye(12, dtype=int), list(range(12)), tmp_path / "large.png")
    _assert_real_figure(small, (600, 500))
    _assert_real_figure(large, (1010, 910))


@pytest.mark.parametrize(
    ("cm", "classes", "message"),
    [
        (np.zeros((2, 3)), ["a", "b"], r"cm must be a square \(C, C\) array with C >= 1, got shape \(2, 3\)"),
        (-CM, ["a", "b", "c"], "cm must hold finite non-negative values"),
        (CM, ["a", "b"], "classes has 2 names but cm is 3x3"),
    ],
)
def test_confusion_matrix_bad_input_is_refused(tmp_path, cm, classes, message):
    with pytest.raises(ValueError, match=message):
        plot_confusion_matrix(cm, classes, tmp_path / "cm.png")


# --------------------------------------------------------------------------- lecture figures


def test_lecture_figures_are_written_with_their_sizes(tmp_path):
    paths = plot_lecture(tmp_path / "lecture")
    assert [p.name for p in paths] == ["hinge_loss.png", "softmax_example.png", "nll_bases.png"]
    for path, size in zip(paths, [(640, 420), (1000, 380), (1200, 600)], strict=True):
        _assert_real_figure(path, size)


def test_single_lecture_figures_honour_figsize_and_dpi(tmp_path):
    _assert_real_figure(plot_hinge_loss(tmp_path / "h.png", figsize=(4, 3), dpi=150), (600, 450))
    _assert_real_figure(plot_softmax_example(tmp_path / "s.png", figsize=(9, 3), dpi=80), (720, 240))
    _assert_real_figure(plot_nll_bases(tmp_path / "n.png", figsize=(9, 5), dpi=120), (1080, 600))


def test_nll_bases_gradients_match_finite_differences():
    x = np.array([-8.0, -3.0, -0.5, 0.3, 0.7, 2.0, 6.0])
    h = 1e-6
    plus, minus, at = nll_bases(x + h), nll_bases(x - h), nll_bases(x)
    for name, (_, grad) in at.items():
        numeric = (plus[name][0] - minus[name][0]) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def test_only_nll_with_the_logistic_guides_a_confidently_wrong_classifier():
    grads = {name: grad[0] for name, (_, grad) in nll_bases(np.array([-8.0])).items()}
    clip, logistic, nll = grads.values()
    assert clip == 0.0
    assert abs(logistic) == pytest.approx(np.exp(-8) / (1 + np.exp(-8)) ** 2)
    assert nll == pytest.approx(-1 / (1 + np.exp(-8)))
    loss = nll_bases(np.array([0.0, 10.0]))["(3) NLL with the logistic  −ln σ(x)"][0]
    np.testing.assert_allclose(loss, [np.log(2.0), np.log1p(np.exp(-10.0))])


# --------------------------------------------------------------------------- isolation


def test_core_does_not_import_matplotlib_and_viz_does_not_import_pyplot(tmp_path):
    code = (
        "import sys, linclass, linclass.io\n"
        "core = 'matplotlib' in sys.modules\n"
        "import numpy as np, linclass.viz\n"
        "linclass.viz.plot_hinge_loss(sys.argv[1])\n"
        "print(core, 'matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "h.png")], capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_plotting_leaves_global_matplotlib_style_alone(tmp_path):
    import matplotlib

    before = dict(matplotlib.rcParams)
    plot_hinge_loss(tmp_path / "h.png")
    assert dict(matplotlib.rcParams) == before
