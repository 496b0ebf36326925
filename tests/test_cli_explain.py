"""``linclass explain``: the lecture's table from the command line."""

import json

import numpy as np
import pytest

from linclass.cli import main


def test_default_table_shows_the_lecture_numbers(capsys):
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    for number in ("2.90", "0.00", "12.90", "5.27", "0.13", "0.87", "2.04"):
        assert number in out
    svm_row = next(line for line in out.splitlines() if line.startswith("SVM loss"))
    assert svm_row.split()[-3:] == ["2.90", "0.00", "12.90"]
    assert "mean SVM loss 5.27" in out
    assert "cat image" in out and "frog image" in out


def test_quiet_prints_only_the_table(capsys):
    assert main(["explain", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["cat", "image", "car", "image", "frog", "image"]


def test_json_output_parses_and_holds_the_numbers(capsys):
    assert main(["explain", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classes"] == ["cat", "car", "frog"]
    assert [round(e["svm_loss"], 2) for e in data["examples"]] == [2.9, 0.0, 12.9]
    assert round(data["svm_loss"], 2) == 5.27
    cat = data["examples"][0]
    assert cat["margins"][0] is None
    assert [round(p, 2) for p in cat["probabilities"]] == [0.13, 0.87, 0.0]
    assert round(cat["cross_entropy"], 2) == 2.04


def test_scores_labels_and_classes_options(capsys):
    argv = ["explain", "--scores", "3.2,5.1,-1.7;1.3,4.9,2.0", "--labels", "0,1", "--classes", "cat,car,frog"]
    assert main(argv + ["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [round(e["svm_loss"], 2) for e in data["examples"]] == [2.9, 0.0]
    assert data["examples"][1]["class"] == "car"


def test_margin_option(capsys):
    assert main(["explain", "--margin", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [round(e["svm_loss"], 2) for e in data["examples"]] == [3.9, 0.0, 14.9]
    assert data["margin"] == 2.0


def test_scores_and_labels_from_files(tmp_path, capsys):
    np.save(tmp_path / "scores.npy", np.array([[3.2, 5.1, -1.7], [2.2, 2.5, -3.1]]))
    (tmp_path / "labels.csv").write_text("0\n2\n")
    files = ["--scores-file", str(tmp_path / "scores.npy"), "--labels-file", str(tmp_path / "labels.csv")]
    assert main(["explain", *files, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [round(e["svm_loss"], 2) for e in data["examples"]] == [2.9, 12.9]
    assert data["classes"] == ["class 0", "class 1", "class 2"]


def test_csv_scores_file(tmp_path, capsys):
    (tmp_path / "scores.csv").write_text("3.2,5.1,-1.7\n1.3,4.9,2.0\n")
    argv = ["explain", "--scores-file", str(tmp_path / "scores.csv"), "--labels", "0,1", "--json"]
    assert main(argv) == 0
    assert round(json.loads(capsys.readouterr().out)["svm_loss"], 2) == 1.45


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scores", "3.2,5.1;1.0", "--labels", "0,1"], "--scores: row 2 has 1 values but row 1 has 2"),
        (["--scores", "3.2,cat", "--labels", "0"], "--scores: 'cat' in row 1 is not a number"),
        (["--scores", "3.2,5.1", "--labels", "2"], "labels contains label 2 but there are only 2 classes"),
        (["--scores", "3.2,5.1", "--labels", "-1"], "labels contains negative label -1"),
        (["--scores", "3.2,5.1", "--labels", "0.5"], "--labels: '0.5' is not an integer class index"),
        (["--scores", "3.2,5.1;1,2", "--labels", "0"], "got 1 labels for 2 rows of scores"),
        (["--scores", "3,5", "--labels", "0", "--classes", "a,b,c"], "classes has 3 names but scores has 2"),
        (["--scores", "3.2,5.1"], "--labels or --labels-file is required"),
        (["--labels", "0"], "--labels/--labels-file need --scores or --scores-file"),
        (["--scores", "nan,1", "--labels", "0"], "scores contains NaN or +inf values"),
    ],
)
def test_malformed_input_is_one_error_line_and_exit_code_1(argv, message, capsys):
    assert main(["explain", *argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("linclass explain: error: ")
    assert message in lines[0]


def test_unreadable_files_are_reported(tmp_path, capsys):
    (tmp_path / "scores.csv").write_text("1,2\n3\n")
    assert main(["explain", "--scores-file", str(tmp_path / "scores.csv"), "--labels", "0,1"]) == 1
    assert f"--scores-file '{tmp_path / 'scores.csv'}' could not be read" in capsys.readouterr().err
    assert main(["explain", "--scores-file", str(tmp_path / "scores.json"), "--labels", "0"]) == 1
    assert "--scores-file must be a .npy or .csv file" in capsys.readouterr().err


def test_help_exits_0_and_shows_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert 'linclass explain --scores "3.2,5.1,-1.7;1.3,4.9,2.0" --labels 0,1' in out
    assert "--json" in out
