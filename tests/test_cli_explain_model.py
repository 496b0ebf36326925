"""``linclass explain --model``: the lecture's loss table for a trained model's scores of a real example."""

import json
import subprocess
import sys

import numpy as np
import pytest

import linclass
from linclass.app.experiment import TrainConfig, train_model
from linclass.app.explain import explain_example
from linclass.cli import main
from linclass.datasets import load_digits


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("explain") / "svm.npz"
    train_model(TrainConfig(loss="svm", epochs=3)).model.save(path)
    return path


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _svm_losses(scores: np.ndarray, label: int, margin: float = 1.0) -> float:
    return float(sum(max(0.0, s - scores[label] + margin) for j, s in enumerate(scores) if j != label))


def test_json_holds_the_models_scores_and_losses_of_the_example(model_file, digits, capsys):
    assert main(["explain", "--model", str(model_file), "--data", "digits", "--index", "7", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model = linclass.load(model_file)
    x = digits.X_test[7].reshape(1, -1)
    scores = model.decision_function(x)[0]
    (example,) = result["examples"]
    assert result["classes"] == [str(k) for k in range(10)]
    np.testing.assert_allclose(example["scores"], scores, rtol=1e-6)
    label = int(digits.y_test[7])
    assert example["label"] == label and example["class"] == str(label)
    assert example["svm_loss"] == pytest.approx(_svm_losses(np.array(example["scores"]), label))
    p = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
    assert example["cross_entropy"] == pytest.approx(-np.log(p[label]), rel=1e-5)
    assert example["margins"][label] is None
    assert result["example"] == {
        "model": str(model_file),
        "data": "digits",
        "split": "test",
        "source": "digits test split",
        "index": 7,
        "class": str(label),
        "predicted": str(model.predict(x)[0]),
    }


def test_text_names_the_example_and_shows_the_table(model_file, digits, capsys):
    assert main(["explain", "--model", str(model_file), "--data", "digits", "--index", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    label = digits.y_test[3]
    predicted = linclass.load(model_file).predict(digits.X_test[3].reshape(1, -1))[0]
    assert lines[0] == (
        f"example 3 of the digits test split: true class {label}, predicted {predicted} ({model_file})"
    )
    assert lines[1].startswith("SVM: L_i = sum over j != y_i of max(0, s_j - s_y + 1)")
    assert lines[2].split() == [str(label), "image"]
    class_rows = [line for line in lines[3:] if line.startswith("  ")]
    assert len(class_rows) == 30  # scores, margins and probabilities of the 10 classes
    assert next(line for line in lines if line.startswith("SVM loss L_i"))
    assert lines[-1].startswith("mean SVM loss ")


def test_train_split_and_negative_index(model_file, digits, capsys):
    argv = ["explain", "--model", str(model_file), "--data", "digits", "--split", "train", "--index", "-1"]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["example"]["index"] == 1437
    assert result["examples"][0]["label"] == int(digits.y_train[-1])


def test_margin_option_applies_to_model_scores(model_file, capsys):
    argv = ["explain", "--model", str(model_file), "--data", "digits", "--margin", "3", "--json"]
    assert main(argv) == 0
    example = json.loads(capsys.readouterr().out)["examples"][0]
    assert example["svm_loss"] == pytest.approx(
        _svm_losses(np.array(example["scores"]), example["label"], 3.0)
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--index", "359"], "--index 359 is out of range: the digits test split has 359 examples (0..358)"),
        (["--scores", "1,2"], "--scores cannot be combined with --model (the model gives the scores)"),
        (["--classes", "a,b"], "--classes cannot be combined with --model"),
    ],
)
def test_bad_combinations_are_one_line_errors(model_file, capsys, extra, message):
    assert main(["explain", "--model", str(model_file), "--data", "digits", *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"linclass explain: error: {message}") and err.count("\n") == 1


def test_model_and_data_go_together(model_file, capsys):
    assert main(["explain", "--model", str(model_file)]) == 1
    assert "--model and --data go together" in capsys.readouterr().err
    assert main(["explain", "--data", "digits"]) == 1
    assert "--model and --data go together" in capsys.readouterr().err
    assert main(["explain", "--index", "3"]) == 1
    assert capsys.readouterr().err == (
        "linclass explain: error: --index and --split choose an example of --data for --model\n"
    )


def test_edited_model_is_refused(model_file, tmp_path, capsys):
    cut = tmp_path / "cut.npz"
    cut.write_bytes(model_file.read_bytes()[:-10])
    assert main(["explain", "--model", str(cut), "--data", "digits"]) == 1
    assert capsys.readouterr().err == (
        f"linclass explain: error: {cut} is not a linclass model file: the zip archive is truncated or damaged\n"
    )


def test_explain_example_checks_the_input_size(model_file):
    model = linclass.load(model_file)
    with pytest.raises(ValueError, match="x has 10 values but the model expects 64 features"):
        explain_example(model, np.zeros(10), 0)
    explanation = explain_example(model, np.zeros((8, 8), np.uint8), 2)
    np.testing.assert_allclose(explanation.scores[0], model.intercept_, rtol=1e-6)


def test_exit_codes_from_a_real_process(model_file):
    command = [sys.executable, "-m", "linclass", "explain", "--model", str(model_file), "--data", "digits"]
    ok = subprocess.run([*command, "-q"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1].startswith("mean SVM loss ")
    bad = subprocess.run([*command, "--index", "1000"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.startswith("linclass explain: error: --index 1000 is out of range")
