"""A user's own data: every ``--data`` form trains, tunes and evaluates; ``--test-data``, ``--test-fraction``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from linclass.app.config import TrainConfig
from linclass.app.experiment import prepare_data
from linclass.cli import main
from test_datasets_support import cifar_python_batch, random_images

NO_TEST = "has no test split; give --test-data SPEC or --test-fraction F)"


def blobs(n_per_class=20, seed=0):
    """Three well separated classes in 4 features: any working training run learns them."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0, 0], [4, 4, 0, 0], [0, 4, 4, 4]], float)
    X = np.concatenate([c + rng.normal(size=(n_per_class, 4)) for c in centers])
    return X, np.repeat([0, 1, 2], n_per_class)


def write_csv(path, X, y, names=("setosa", "versicolor", "virginica")):
    lines = ["a,b,c,d,species"] + [",".join(f"{v:.5f}" for v in row) + f",{names[k]}" for row, k in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def write_svm(path, X, y):
    # zero-based indices, as scikit-learn's dump_svmlight_file writes them by default
    path.write_text("".join(f"{k} " + " ".join(f"{j}:{v:.5f}" for j, v in enumerate(row)) + "\n"
                            for row, k in zip(X, y, strict=True)))  # fmt: skip
    return str(path)


def write_npz(path, X, y):
    np.savez(path, X=X, y=y)
    return str(path)


def write_cifar_batch(path, X, y):
    images, labels = random_images(40, seed=3)
    path.write_bytes(cifar_python_batch(images, labels))
    return f"cifar10:{path}"


def write_folder(path, X, y):
    rng = np.random.default_rng(1)
    for k, name in enumerate(("cat", "dog")):
        (path / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(rng.integers(0, 120, (6, 6), dtype=np.uint8) + 130 * k).save(path / name / f"{i}.png")
    return f"folder:{path}"


SOURCES = {
    "csv": ("t.csv", write_csv),
    "svm": ("t.svm", write_svm),
    "npz": ("t.npz", write_npz),
    "cifar-batch": ("data_batch_1", write_cifar_batch),
    "folder": ("images", write_folder),
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LINCLASS_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def data_files(tmp_path):
    X, y = blobs()
    return {kind: writer(tmp_path / name, X, y) for kind, (name, writer) in SOURCES.items()}


@pytest.mark.parametrize("kind", list(SOURCES))
def test_a_source_without_test_split_trains_and_says_there_is_no_test_split(tmp_path, capsys, data_files, kind):
    spec = data_files[kind]
    out = tmp_path / "m.npz"
    assert main(["train", "--data", spec, "--epochs", "3", "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-4].startswith("train accuracy: ") and lines[-3].startswith("val accuracy: ")
    assert lines[-2] == f"test accuracy: none ({spec} {NO_TEST}"
    assert lines[-1] == f"model written to {out}"
    assert main(["evaluate", str(out), "--data", spec, "--split", "train", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("accuracy: ")


@pytest.mark.parametrize("kind", ["csv", "svm", "npz"])
def test_feature_files_train_to_high_accuracy(tmp_path, capsys, data_files, kind):
    assert main(["train", "--data", data_files[kind], "--epochs", "10", "--json", "--out", str(tmp_path / "m")]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    assert accuracy["train"] >= 0.95 and accuracy["val"] >= 0.95 and accuracy["test"] is None


@pytest.mark.parametrize("kind", ["csv", "cifar-batch", "folder"])
def test_tune_runs_on_a_source_without_test_split(tmp_path, capsys, data_files, kind):
    code = main(["tune", "--data", data_files[kind], "--lr", "0.01,0.1", "--alpha", "1e-4", "--epochs", "2",
                 "--out", str(tmp_path / "best.npz")])  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2] == f"test accuracy: none ({data_files[kind]} {NO_TEST}"
    assert (tmp_path / "best.npz").exists()


def test_test_fraction_holds_out_a_seeded_stratified_share(data_files):
    config = TrainConfig(data=data_files["csv"], test_fraction=0.25, validation_fraction=0.2, random_state=3)
    splits = prepare_data(config)
    assert np.bincount(splits.y_test).tolist() == [5, 5, 5]  # a quarter of each class of 20
    assert np.bincount(splits.y_val).tolist() == [3, 3, 3]  # a fifth of the remaining 15 per class
    assert len(splits.y_train) == 60 - 15 - 9
    again = prepare_data(config)
    np.testing.assert_array_equal(splits.X_test, again.X_test)
    other = prepare_data(TrainConfig(data=data_files["csv"], test_fraction=0.25, random_state=4))
    assert not np.array_equal(splits.X_test, other.X_test)
    rows = {tuple(r) for r in np.concatenate([splits.X_train, splits.X_val, splits.X_test])}
    assert len(rows) == 60  # a partition: no row used twice


def test_test_data_maps_labels_by_class_name(tmp_path, capsys):
    X, y = blobs(seed=0)
    X_test, y_test = blobs(n_per_class=5, seed=1)
    train = write_csv(tmp_path / "train.csv", X, y)
    # the test file lacks 'setosa': its classes are (versicolor, virginica) = (0, 1) of its own
    keep = y_test > 0
    test = write_csv(tmp_path / "test.csv", X_test[keep], y_test[keep])
    splits = prepare_data(TrainConfig(data=train, test_data=test))
    assert np.bincount(splits.y_test, minlength=3).tolist() == [0, 5, 5]
    assert main(["train", "--data", train, "--test-data", test, "--epochs", "20", "--lr", "0.1", "--json",
                 "--out", str(tmp_path / "m.npz")]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["accuracy"]["test"] >= 0.8  # labels shifted by one: 0.0


def test_test_data_with_unknown_classes_or_other_width_is_refused(tmp_path, capsys, data_files):
    X, y = blobs()
    numbers = write_npz(tmp_path / "numbers.npz", X, y)
    assert main(["train", "--data", data_files["csv"], "--test-data", numbers, "--out", str(tmp_path / "m")]) == 2
    assert capsys.readouterr().err == (
        f"linclass train: error: --test-data {numbers}: it has classes 0, 1, 2 that data {data_files['csv']!r} "
        "does not have (its classes: setosa, versicolor, virginica)\n"
    )
    with pytest.raises(ValueError, match=r"^test_data='digits': its rows have 64 features but those of data .* have 4; "):
        prepare_data(TrainConfig(data=data_files["npz"], test_data="digits"))


def test_test_fraction_on_a_source_with_a_test_split_is_refused():
    with pytest.raises(ValueError, match=r"^test_fraction=0.2: data 'digits' already has a test split \(359 rows\)"):
        prepare_data(TrainConfig(test_fraction=0.2))
    with pytest.raises(ValueError, match="test_data and test_fraction both choose the test rows"):
        prepare_data(TrainConfig(test_data="digits", test_fraction=0.2))


def test_errors_found_once_the_data_are_loaded_name_the_flag_as_typed_and_exit_2(tmp_path, capsys, data_files):
    out = str(tmp_path / "m.npz")
    assert main(["train", "--test-fraction", "0.2", "--out", out]) == 2
    assert capsys.readouterr().err == (
        "linclass train: error: --test-fraction 0.2: data 'digits' already has a test split (359 rows); "
        "a test fraction is for a source without one\n"
    )
    assert main(["tune", "--test-fraction", "0.2", "--out", out]) == 2
    assert capsys.readouterr().err.startswith("linclass tune: error: --test-fraction 0.2: data 'digits' already has")
    assert main(["train", "--data", data_files["npz"], "--test-data", "digits", "--out", out]) == 2
    assert capsys.readouterr().err == (
        "linclass train: error: --test-data digits: its rows have 64 features but those of data "
        f"{data_files['npz']!r} have 4; expected the same\n"
    )
    assert main(["train", "--test-data", "digits", "--test-fraction", "0.2", "--out", out]) == 2
    assert capsys.readouterr().err == (
        "linclass train: error: --test-data and --test-fraction both choose the test rows; give one of them\n"
    )
    assert not os.path.exists(out)


def test_train_on_a_csv_file_as_a_new_user_types_it(tmp_path, data_files):
    result = subprocess.run(
        [sys.executable, "-m", "linclass", "train", "--data", "t.csv", "--test-fraction", "0.2", "--epochs", "5"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[-4:]] == [
        "train accuracy", "val accuracy", "test accuracy", "model written to model.npz"
    ]
    assert float(lines[-2].split()[-1]) >= 0.9
