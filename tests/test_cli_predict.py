"""``linclass predict``: labels and probabilities for images, arrays and data splits."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import linclass
from linclass.app.experiment import TrainConfig, train_model
from linclass.app.predict import load_image, parse_split_spec, read_inputs
from linclass.cli import main
from linclass.datasets import load_digits

Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("predict")
    paths = {}
    for loss in ("softmax", "svm"):
        run = train_model(TrainConfig(loss=loss, epochs=3))
        paths[loss] = folder / f"{loss}.npz"
        run.model.save(paths[loss])
    return paths


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _predict_json(capsys, *argv):
    assert main(["predict", *map(str, argv), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_saved_model_predicts_exactly_what_the_trained_model_predicts(tmp_path, digits, capsys):
    model = train_model(TrainConfig(epochs=3)).model
    path = tmp_path / "model.npz"
    model.save(path)
    X = digits.X_test.reshape(len(digits.X_test), -1)
    rows = _predict_json(capsys, path, "digits:test", "--top", "10")
    assert len(rows) == 359
    probabilities = model.predict_proba(X)
    labels = model.predict(X)
    for i, row in enumerate(rows):
        assert row["input"] == f"digits:test[{i}]"
        assert row["label"] == model.class_names_[labels[i]]
        by_label = {entry["label"]: entry["probability"] for entry in row["top"]}
        assert [by_label[name] for name in model.class_names_] == probabilities[i].tolist()
        assert row["true_label"] == str(digits.y_test[i])
    np.testing.assert_array_equal(linclass.load(path).predict_proba(X), probabilities)


def test_svm_probabilities_come_from_platt_scaling(models, digits, capsys):
    model = linclass.load(models["svm"])
    rows = _predict_json(capsys, models["svm"], "digits:test[10:13]", "--top", "3")
    expected = model.predict_proba(digits.X_test[10:13].reshape(3, -1))
    for row, p in zip(rows, expected, strict=True):
        order = np.argsort(-p, kind="stable")[:3]
        assert [t["label"] for t in row["top"]] == [str(k) for k in order]
        assert [t["probability"] for t in row["top"]] == p[order].tolist()
        assert row["probability"] == p.max()
    assert expected.sum(axis=1) == pytest.approx(1.0)
    assert model.probability_slope_ > 0


def test_text_output_lists_top_classes_and_counts_correct_ones(models, digits, capsys):
    assert main(["predict", str(models["softmax"]), "digits:test[0:4]", "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    first = lines[0].split()
    assert first[0] == "digits:test[0]" and first[-2:] == ["(true:", f"{digits.y_test[0]})"]
    assert float(first[2].rstrip(",")) >= float(first[4])
    predicted = linclass.load(models["softmax"]).predict(digits.X_test[:4].reshape(4, -1))
    assert (
        lines[4]
        == f"{int(np.sum(predicted == digits.y_test[:4]))} of 4 labelled examples predicted correctly"
    )


def test_image_file_is_converted_to_the_models_input(models, digits, tmp_path, capsys):
    # test digit 0 drawn dark on white with 0..255 pixels, as an RGB file
    ink = digits.X_test[0]
    drawing = (255 - ink.astype(np.int64) * 255 // 16).astype(np.uint8)
    Image.fromarray(drawing).convert("RGB").save(tmp_path / "digit.png")
    converted = load_image(tmp_path / "digit.png", (8, 8), pixel_max=16, invert=True)
    assert converted.dtype == np.uint8 and converted.shape == (8, 8)
    np.testing.assert_array_equal(converted, ink)
    rows = _predict_json(capsys, models["softmax"], tmp_path / "digit.png", "--pixel-max", "16", "--invert")
    from_array = linclass.load(models["softmax"]).predict_proba(ink.reshape(1, -1))[0]
    assert rows[0]["probability"] == from_array.max()
    assert rows[0]["label"] == str(int(from_array.argmax()))


def test_rgb_image_is_resized_to_the_model_image_shape(tmp_path, capsys):
    rng = np.random.default_rng(0)
    model = linclass.LinearClassifier(epochs=2, random_state=0).fit(
        rng.integers(0, 256, (40, 48), dtype=np.uint8), np.arange(40) % 2
    )
    model.image_shape_ = (4, 4, 3)
    model.save(tmp_path / "rgb.npz")
    photo = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    expected = np.asarray(Image.fromarray(photo).resize((4, 4), Image.Resampling.BILINEAR))
    np.testing.assert_array_equal(load_image(tmp_path / "photo.png", (4, 4, 3)), expected)
    rows = _predict_json(capsys, tmp_path / "rgb.npz", tmp_path / "photo.png", "--top", "2")
    assert rows[0]["top"][0]["probability"] == model.predict_proba(expected.reshape(1, -1)).max()


def test_image_for_a_model_without_image_shape_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(1)
    linclass.LinearClassifier(epochs=2).fit(rng.random((30, 5)), np.arange(30) % 3).save(
        tmp_path / "table.npz"
    )
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "x.png")
    assert main(["predict", str(tmp_path / "table.npz"), str(tmp_path / "x.png")]) == 1
    assert capsys.readouterr().err == (
        f"linclass predict: error: cannot convert image '{tmp_path / 'x.png'}': the model has no image "
        "shape (it was trained on feature vectors); give a .npy or .npz array of 5 features per row\n"
    )


def test_undecodable_image_is_refused(models, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    assert main(["predict", str(models["softmax"]), str(tmp_path / "broken.png")]) == 1
    assert capsys.readouterr().err.startswith(
        f"linclass predict: error: {tmp_path / 'broken.png'}: cannot decode image"
    )


def test_arrays_in_npy_and_npz_files(models, digits, tmp_path, capsys):
    np.save(tmp_path / "images.npy", digits.X_test[:3])
    np.save(tmp_path / "one.npy", digits.X_test[3].reshape(-1))
    np.savez(tmp_path / "rows.npz", X=digits.X_test[4:6].reshape(2, -1), ids=np.arange(2))
    rows = _predict_json(
        capsys, models["softmax"], tmp_path / "images.npy", tmp_path / "one.npy", tmp_path / "rows.npz"
    )
    names = [row["input"] for row in rows]
    assert names == [f"{tmp_path / 'images.npy'}[{i}]" for i in range(3)] + [
        str(tmp_path / "one.npy"),
        f"{tmp_path / 'rows.npz'}[0]",
        f"{tmp_path / 'rows.npz'}[1]",
    ]
    expected = linclass.load(models["softmax"]).predict(digits.X_test[:6].reshape(6, -1))
    assert [row["label"] for row in rows] == [str(k) for k in expected]
    assert all("true_label" not in row for row in rows)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda p: np.save(p / "a.npy", np.zeros((3, 5))),
            "holds an array of shape (3, 5); the model expects 64 "
            "features (8x8 images): one example of shape (8, 8) or (64,), or N examples as (N, 8, 8) or (N, 64)",
        ),
        (
            lambda p: np.savez(p / "a.npz", A=np.zeros(64), B=np.zeros(64)),
            "holds arrays ['A', 'B']; expected a single array or one named 'X'",
        ),
        (lambda p: (p / "a.txt").write_text("1,2"), "is neither an image"),
    ],
)
def test_unusable_array_files_are_refused(models, tmp_path, capsys, make, message):
    make(tmp_path)
    (name,) = [p for p in tmp_path.iterdir()]
    assert main(["predict", str(models["softmax"]), str(name)]) == 1
    assert message in capsys.readouterr().err


def test_out_writes_csv_and_json(models, tmp_path, capsys):
    out_csv = tmp_path / "predictions.csv"
    assert main(["predict", str(models["softmax"]), "digits:test[0:3]", "--out", str(out_csv), "-q"]) == 0
    assert "predictions written" not in capsys.readouterr().out
    with open(out_csv, newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][:4] == ["input", "label", "probability", "true_label"]
    assert table[0][4:] == [f"p({k})" for k in range(10)]
    assert len(table) == 4
    assert sum(float(v) for v in table[1][4:]) == pytest.approx(1.0)
    assert float(table[1][2]) == max(float(v) for v in table[1][4:])
    out_json = tmp_path / "predictions.json"
    assert main(["predict", str(models["softmax"]), "digits:test[0:3]", "--out", str(out_json)]) == 0
    assert f"predictions written to {out_json}" in capsys.readouterr().out
    assert [row["input"] for row in json.loads(out_json.read_text())] == [
        f"digits:test[{i}]" for i in range(3)
    ]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "nothing.png",
            "'nothing.png' is not a file; for examples of a data set write SPEC:train or SPEC:test",
        ),
        ("digits", "'digits' is not a file"),
        ("digits:test[400]", "'digits:test[400]' selects no rows; the digits test split has 359 examples"),
        ("digits:test[]", "empty row index []"),
        ("digits:valid", "'digits:valid' is not a file"),
    ],
)
def test_bad_inputs_are_explained(models, capsys, item, message):
    assert main(["predict", str(models["softmax"]), item]) == 1
    assert message in capsys.readouterr().err


def test_truncated_model_is_refused(models, tmp_path, capsys):
    truncated = tmp_path / "cut.npz"
    truncated.write_bytes(models["softmax"].read_bytes()[:100])
    assert main(["predict", str(truncated), "digits:test[0]"]) == 1
    assert capsys.readouterr().err == (
        f"linclass predict: error: {truncated} is not a linclass model file: the zip archive is truncated or damaged\n"
    )


def test_split_specs_parse_rows():
    assert parse_split_spec("digits:test") == ("digits", "test", slice(None))
    assert parse_split_spec("digits:train[5]") == ("digits", "train", slice(5, 6))
    assert parse_split_spec("digits:train[-1]") == ("digits", "train", slice(-1, None))
    assert parse_split_spec("cifar10:/data/c.tar.gz:test[:10]") == (
        "cifar10:/data/c.tar.gz",
        "test",
        slice(None, 10),
    )
    assert parse_split_spec("digits") is None
    assert parse_split_spec("photo.png") is None


def test_read_inputs_maps_labels_to_the_models_classes(models, digits):
    model = linclass.load(models["softmax"])
    inputs = read_inputs(model, ["digits:test[-2:]"])
    assert inputs.names == ["digits:test[357]", "digits:test[358]"]
    np.testing.assert_array_equal(inputs.y, digits.y_test[-2:])
    assert inputs.X.dtype == np.uint8 and inputs.X.shape == (2, 64)


def test_exit_codes_from_a_real_process(models):
    ok = subprocess.run(
        [sys.executable, "-m", "linclass", "predict", str(models["svm"]), "digits:test[0]", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)[0]["input"] == "digits:test[0]"
    bad = subprocess.run(
        [sys.executable, "-m", "linclass", "predict", str(models["svm"]), "digits:test[999]"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stderr == (
        "linclass predict: error: 'digits:test[999]' selects no rows; the digits test split has 359 examples\n"
    )


def test_missing_input_is_a_usage_error(models, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(models["svm"])])
    assert exit_info.value.code == 2
    assert "the following arguments are required: INPUT" in capsys.readouterr().err
