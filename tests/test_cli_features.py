"""``linclass features``: feature files that train, tune and evaluate read as ``--data``."""

import json
import subprocess
import sys

import numpy as np
import pytest

from linclass.cli import main
from linclass.datasets import DataFormatError, Dataset, load_digits, load_features, load_source, save_features
from linclass.features import HOG, KMeansFeatures


@pytest.fixture(scope="module")
def kmeans_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("features") / "km.npz"
    code = main(
        [
            "features",
            "--data",
            "digits",
            "--kind",
            "kmeans",
            "--centroids",
            "24",
            "--patches",
            "3000",
            "--max-iter",
            "20",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_the_feature_file_holds_both_splits_the_classes_and_the_settings(kmeans_file):
    features, metadata = load_features(kmeans_file)
    digits = load_digits()
    assert features.X_train.shape == (1438, 96) and features.X_test.shape == (359, 96)
    assert features.X_train.dtype == np.float32
    np.testing.assert_array_equal(features.y_train, digits.y_train)
    np.testing.assert_array_equal(features.y_test, digits.y_test)
    assert features.classes == digits.classes
    settings = metadata["settings"]
    assert metadata["source"] == "digits" and settings["kind"] == "kmeans"
    assert settings["extractor"]["class"] == "KMeansFeatures"
    assert settings["extractor"]["params"]["n_centroids"] == 24
    assert settings["extractor"]["params"]["random_state"] == 3
    assert settings["image_shape"] == [8, 8] and settings["n_features"] == 96
    assert settings["fit_seconds"] > 0 and settings["transform_seconds"] > 0


def test_the_extractor_is_fitted_on_the_training_split_only(kmeans_file):
    digits = load_digits()
    extractor = KMeansFeatures(n_centroids=24, n_patches=3000, max_iter=20, random_state=3).fit(
        digits.X_train
    )
    features, _ = load_features(kmeans_file)
    np.testing.assert_allclose(features.X_test, extractor.transform(digits.X_test), rtol=1e-5, atol=1e-5)


def test_train_tune_and_evaluate_take_the_feature_file_as_data(kmeans_file, tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert main(["train", "--data", str(kmeans_file), "--epochs", "10", "--json", "--out", str(model)]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["accuracy"]["test"] > 0.85
    assert main(["evaluate", str(model), "--data", str(kmeans_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == pytest.approx(trained["accuracy"]["test"])
    assert (
        main(
            [
                "tune",
                "--data",
                str(kmeans_file),
                "--lr",
                "1e-2",
                "--alpha",
                "1e-4,1e-3",
                "--epochs",
                "3",
                "--out",
                str(tmp_path / "best.npz"),
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "best.npz").is_file()


def test_an_edited_feature_file_is_refused_with_its_name(kmeans_file, tmp_path):
    edited = tmp_path / "edited.npz"
    data = bytearray(kmeans_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    edited.write_bytes(bytes(data))
    with pytest.raises(
        DataFormatError, match=rf"^{edited}: checksum mismatch: the file is corrupt or was edited"
    ):
        load_source(str(edited))


def test_a_model_file_is_not_a_feature_file(tmp_path):
    import linclass

    model = tmp_path / "model.npz"
    digits = load_digits().flatten()
    linclass.LinearClassifier(epochs=1).fit(digits.X_train, digits.y_train).save(model)
    with pytest.raises(DataFormatError, match=rf"^{model} is a linclass model file, not a features file$"):
        load_source(str(model))


def test_save_features_round_trips_and_refuses_images(tmp_path):
    rng = np.random.default_rng(0)
    features = Dataset(
        rng.normal(size=(6, 4)), np.arange(6) % 3, rng.normal(size=(2, 4)), np.array([0, 2]), ("a", "b", "c")
    )
    save_features(tmp_path / "f.npz", features, source="mine", settings={"kind": "custom"})
    loaded, metadata = load_features(tmp_path / "f.npz")
    np.testing.assert_array_equal(loaded.X_train, features.X_train.astype(np.float32))
    assert loaded.classes == ("a", "b", "c") and metadata == {
        "classes": ["a", "b", "c"],
        "source": "mine",
        "settings": {"kind": "custom"},
    }
    with pytest.raises(
        ValueError, match=r"^dataset must hold feature rows \(N, D\), got X_train of shape \(1438, 8, 8\)$"
    ):
        save_features(tmp_path / "g.npz", load_digits(), source="digits")


def test_hog_features_on_the_command_line_equal_the_transformer(tmp_path, capsys):
    out = tmp_path / "hog.npz"
    assert main(["features", "--kind", "hog", "--cell", "4", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"] == [1438, 36] and summary["test"] == [359, 36] and summary["out"] == str(out)
    digits = load_digits()
    expected = HOG(pixels_per_cell=(4, 4)).fit(digits.X_train).transform(digits.X_test)
    np.testing.assert_array_equal(load_features(out)[0].X_test, expected)


def test_the_centroid_figure_is_written(tmp_path, capsys):
    plot = tmp_path / "centroids.png"
    assert (
        main(
            [
                "features",
                "--kind",
                "kmeans",
                "--centroids",
                "16",
                "--patches",
                "500",
                "--max-iter",
                "5",
                "--plot",
                str(plot),
                "--out",
                str(tmp_path / "k.npz"),
            ]
        )
        == 0
    )
    assert f"centroids drawn in {plot}" in capsys.readouterr().out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_options_of_another_kind_and_images_less_data_are_errors(tmp_path, capsys):
    assert main(["features", "--kind", "hog", "--centroids", "10"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "linclass features: error: --centroids does not apply to --kind hog"
    )
    missing = tmp_path / "missing" / "f.npz"
    assert main(["features", "--kind", "hog", "--out", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"linclass features: error: --out {missing}: ")
    csv = tmp_path / "t.csv"
    csv.write_text("1,2,0\n3,4,1\n")
    assert main(["features", "--kind", "hog", "--data", str(csv)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"linclass features: error: dataset {csv} holds feature rows, not images; features need images"
    )
    missing_kind = subprocess.run(
        [sys.executable, "-m", "linclass", "features"], capture_output=True, text=True
    )
    assert (
        missing_kind.returncode == 2 and "the following arguments are required: --kind" in missing_kind.stderr
    )


def test_augment_flip_adds_the_mirrored_training_images_as_rows(tmp_path):
    out = tmp_path / "flip.npz"
    args = ["features", "--data", "digits", "--kind", "kmeans", "--centroids", "12", "--patches", "2000",
            "--max-iter", "5", "--init", "normal", "--seed", "1", "--quiet"]  # fmt: skip
    assert main([*args, "--augment", "flip", "--out", str(out)]) == 0
    features, metadata = load_features(out)
    digits = load_digits()
    n = len(digits.X_train)
    assert features.X_train.shape == (2 * n, 48) and features.X_test.shape == (359, 48)
    np.testing.assert_array_equal(features.y_train, np.concatenate([digits.y_train, digits.y_train]))
    settings = metadata["settings"]
    assert settings["augment"] == "flip" and settings["augment_seconds"] > 0
    assert settings["extractor"]["params"]["init"] == "normal"
    # the same extractor, fitted on the originals only, on the images mirrored left to right
    images = digits.X_train.reshape(n, 8, 8)
    km = KMeansFeatures(n_centroids=12, n_patches=2000, max_iter=5, init="normal", random_state=1).fit(images)
    np.testing.assert_allclose(features.X_train[:n], km.transform(images), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(features.X_train[n:], km.transform(images[:, :, ::-1]), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(features.X_test, km.transform(digits.X_test.reshape(-1, 8, 8)), rtol=1e-5, atol=1e-4)


def test_init_is_a_kmeans_option_and_augment_takes_only_flip(capsys):
    assert main(["features", "--data", "digits", "--kind", "hog", "--init", "normal"]) == 2
    assert capsys.readouterr().err.strip() == "linclass features: error: --init does not apply to --kind hog"
    with pytest.raises(SystemExit) as stopped:
        main(["features", "--data", "digits", "--kind", "hog", "--augment", "rotate"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.strip() == (
        "linclass features: error: --augment rotate: not one of the choices; expected one of flip"
    )
