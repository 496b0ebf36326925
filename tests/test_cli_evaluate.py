"""``linclass evaluate``: accuracy, per-class report and confusion matrix of a saved model."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from linclass.app.experiment import TrainConfig, train_model
from linclass.cli import main
from linclass.datasets import load_digits

sk_metrics = pytest.importorskip("sklearn.metrics")
Image = pytest.importorskip("PIL.Image")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "digits.npz"
    train_model(TrainConfig(epochs=3)).model.save(path)
    return path


@pytest.fixture(scope="module")
def digits_test():
    digits = load_digits()
    return digits.X_test.reshape(len(digits.X_test), -1), digits.y_test


def _expected(model_file, X, y):
    import linclass

    predicted = linclass.load(model_file).predict(X)
    return predicted, sk_metrics.confusion_matrix(y, predicted, labels=range(10))


def test_text_report_shows_accuracy_per_class_scores_and_confusion_matrix(model_file, digits_test, capsys):
    X, y = digits_test
    predicted, cm = _expected(model_file, X, y)
    assert main(["evaluate", str(model_file), "--data", "digits"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    n_correct = int(np.sum(predicted == y))
    assert lines[1] == f"accuracy: {n_correct / len(y):.4f} ({n_correct}/359 correct)"
    recall = sk_metrics.recall_score(y, predicted, average=None)
    precision = sk_metrics.precision_score(y, predicted, average=None, zero_division=0)
    row = next(line for line in lines if line.startswith("3 ")).split()
    assert row == ["3", f"{precision[3]:.3f}", f"{recall[3]:.3f}", row[3], str(int(np.sum(y == 3)))]
    header = lines.index("true \\ predicted   0   1   2   3   4   5   6   7   8   9")
    matrix = [[int(v) for v in line.split()[1:]] for line in lines[header + 1 : header + 11]]
    np.testing.assert_array_equal(matrix, cm)


def test_json_matches_sklearn(model_file, digits_test, capsys):
    X, y = digits_test
    predicted, cm = _expected(model_file, X, y)
    assert main(["evaluate", str(model_file), "--data", "digits", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["accuracy"] == pytest.approx(sk_metrics.accuracy_score(y, predicted))
    assert result["n_samples"] == 359 and result["split"] == "test"
    assert result["classes"] == [str(k) for k in range(10)]
    np.testing.assert_array_equal(result["confusion_matrix"], cm)
    f1 = sk_metrics.f1_score(y, predicted, average=None)
    assert [result["per_class"][str(k)]["f1-score"] for k in range(10)] == pytest.approx(f1)
    assert result["macro_avg"]["recall"] == pytest.approx(sk_metrics.balanced_accuracy_score(y, predicted))


def test_train_split_and_normalized_matrix(model_file, capsys):
    assert (
        main(["evaluate", str(model_file), "--data", "digits", "--split", "train", "--normalize", "--json"])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["n_samples"] == 1438 and result["split"] == "train"
    normalized = np.array(result["confusion_matrix_normalized"])
    np.testing.assert_allclose(normalized.sum(axis=1), 1.0)
    recalls = [result["per_class"][str(k)]["recall"] for k in range(10)]
    np.testing.assert_allclose(np.diag(normalized), recalls)


def test_plot_writes_a_confusion_matrix_png(model_file, tmp_path, capsys):
    path = tmp_path / "confusion.png"
    assert main(["evaluate", str(model_file), "--data", "digits", "--plot", str(path)]) == 0
    assert f"confusion matrix plot written to {path}" in capsys.readouterr().out
    with Image.open(path) as image:
        assert image.size == (900, 800)
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 20
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    # the diagonal cells are the darkest blue: most samples are classified correctly
    assert (pixels[..., 2].astype(int) - pixels[..., 0]).max() > 100


def test_out_is_an_alias_of_plot(model_file, tmp_path, capsys):
    path = tmp_path / "cm.png"
    assert main(["evaluate", str(model_file), "--data", "digits", "--out", str(path), "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("accuracy: ")
    assert path.stat().st_size > 10_000


def test_quiet_prints_only_the_accuracy(model_file, capsys):
    assert main(["evaluate", str(model_file), "--data", "digits", "-q"]) == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and out.startswith("accuracy: 0.")


def test_truncated_model_file_is_refused(model_file, tmp_path, capsys):
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(model_file.read_bytes()[:-300])
    assert main(["evaluate", str(truncated), "--data", "digits"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"linclass evaluate: error: {truncated} is not a linclass model file: "
        "the zip archive is truncated or damaged\n"
    )


def test_edited_model_file_is_refused(model_file, tmp_path, capsys):
    data = bytearray(model_file.read_bytes())
    at = data.index(b'"alpha":')
    data[at + 8] = ord("9") if data[at + 8] != ord("9") else ord("8")
    edited = tmp_path / "edited.npz"
    edited.write_bytes(bytes(data))
    assert main(["evaluate", str(edited), "--data", "digits"]) == 1
    assert capsys.readouterr().err.startswith(
        f"linclass evaluate: error: {edited}: checksum mismatch: the file is corrupt or was edited"
    )


def test_model_with_edited_weights_is_refused(model_file, tmp_path, capsys):
    edited = tmp_path / "weights.npz"
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(edited, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "W.npy":
                content = content[:-1] + bytes([content[-1] ^ 0x01])
            target.writestr(info, content)
    assert main(["evaluate", str(edited), "--data", "digits"]) == 1
    assert capsys.readouterr().err == (
        f"linclass evaluate: error: {edited}: checksum mismatch: the file is corrupt or was edited\n"
    )


def test_data_with_other_features_is_refused(model_file, tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "table.npz", X=rng.random((20, 5)), y=np.arange(20) % 10)
    assert main(["evaluate", str(model_file), "--data", str(tmp_path / "table.npz"), "--split", "train"]) == 1
    assert capsys.readouterr().err == (
        f"linclass evaluate: error: data '{tmp_path / 'table.npz'}' has 5 features per example but the "
        "model expects 64 features (8x8 images)\n"
    )


def test_data_with_unknown_classes_is_refused(model_file, tmp_path, capsys):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "letters.npz", X=rng.integers(0, 17, (6, 64)), y=np.array(["a", "b", "1"] * 2))
    spec = str(tmp_path / "letters.npz")
    assert main(["evaluate", str(model_file), "--data", spec, "--split", "train"]) == 1
    assert f"data '{spec}' has classes the model does not know: ['a', 'b']" in capsys.readouterr().err


def test_missing_test_split_is_explained(model_file, tmp_path, capsys):
    np.savez(tmp_path / "train_only.npz", X=np.zeros((4, 64)), y=np.array([0, 1, 0, 1]))
    assert main(["evaluate", str(model_file), "--data", str(tmp_path / "train_only.npz")]) == 1
    assert "has no test split; use the train split" in capsys.readouterr().err


def test_exit_codes_from_a_real_process(model_file, tmp_path):
    ok = subprocess.run(
        [sys.executable, "-m", "linclass", "evaluate", str(model_file), "--data", "digits", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("accuracy: ")
    missing = subprocess.run(
        [sys.executable, "-m", "linclass", "evaluate", str(tmp_path / "none.npz"), "--data", "digits"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("linclass evaluate: error: ") and "Traceback" not in missing.stderr
    assert len(missing.stderr.splitlines()) == 1


def test_missing_data_option_is_a_usage_error(model_file, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(model_file)])
    assert exit_info.value.code == 2
    assert "the following arguments are required: --data" in capsys.readouterr().err
