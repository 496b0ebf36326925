"""Errors a person can act on: one line that names the flag or the path and says what was expected."""

from __future__ import annotations

import subprocess
import sys
import tarfile

import numpy as np
import pytest
from PIL import Image

from linclass.cli import describe_os_error, main

FORMS = ("blobs, cifar10:PATH, digits, fashion-mnist[:PATH], folder:PATH, mnist:PATH, spiral, or a file "
         "FILE.npz, FILE.npy, FILE.csv, FILE.svm, FILE.libsvm, FILE.txt, FILE.csv#label=NAME_OR_INDEX")  # fmt: skip


HYPERPARAMETERS_FLAGS = {
    "loss": ("--loss",), "penalty": ("--penalty",), "alpha": ("--alpha",), "l1_ratio": ("--l1-ratio",),
    "backend": ("--backend",), "random_state": ("--random-state", "--seed"),
}  # fmt: skip


def error_of(argv, capsys, code):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.rstrip("\n")


def test_an_unknown_data_source_suggests_the_closest_and_lists_the_forms_as_text(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "linclass", "train", "--data", "digit"], capture_output=True, text=True,
        cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == (
        f"linclass train: error: --data digit: not a data source; did you mean 'digits'? expected {FORMS}\n"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tune", "--data", "cifar:/x"], "--data cifar:/x: not a data source; did you mean 'cifar10:/x'?"),
        (["train", "--test-data", "t.cvs"], "--test-data t.cvs: not a data source; did you mean 't.csv'?"),
        (["evaluate", "m.npz", "--data", "digits:x"], "--data digits:x: digits takes no path; write 'digits'"),
        (["plot", "m.npz", "--data", "cifar10"], "--data cifar10: cifar10 needs a path; write 'cifar10:PATH'"),
    ],
)
def test_data_spec_errors_name_the_flag_and_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert error_of(argv, capsys, 2).startswith(f"linclass {argv[0]}: error: {message}")


def test_a_folder_given_as_data_points_to_the_folder_forms(tmp_path, capsys):
    assert error_of(["train", "--data", str(tmp_path)], capsys, 2) == (
        f"linclass train: error: --data {tmp_path}: is a folder; write folder:{tmp_path} for "
        f"<split>/<class>/<image> folders, cifar10:{tmp_path} for CIFAR-10 batches or mnist:{tmp_path} for MNIST files"
    )


def test_cifar10_given_an_image_folder_archive_points_to_folder(tmp_path, capsys):
    (tmp_path / "train" / "cat").mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "train" / "cat" / "0.png")
    archive = tmp_path / "images.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "train", arcname="train")
    assert error_of(["train", "--data", f"cifar10:{archive}", "--out", str(tmp_path / "m")], capsys, 1) == (
        f"linclass train: error: {archive}: holds image files (train/cat/0.png, ...) but no CIFAR-10 batches; "
        f"for an archive of <split>/<class>/<image> folders write folder:{archive}"
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "{t}/nope.npz", "--data", "digits"],
         "{t}/nope.npz: no such file; expected a model file written by 'linclass train'"),
        (["predict", "{t}/nope.npz", "digits:test[0]"],
         "{t}/nope.npz: no such file; expected a model file written by 'linclass train'"),
        (["plot", "{t}/nope.npz", "--out", "{t}/figs"],
         "{t}/nope.npz: no such file; expected a model file written by 'linclass train'"),
        (["train", "--resume", "{t}/nope.ckpt"],
         "{t}/nope.ckpt: no such file; expected a checkpoint written by 'linclass train --checkpoint'"),
        (["train", "--data", "{t}/nope.csv", "--out", "{t}/m.npz"], "{t}/nope.csv: no such file; expected a CSV file"),
    ],
)  # fmt: skip
def test_missing_inputs_are_one_line_naming_the_path_never_errno_text(tmp_path, capsys, argv, message):
    argv = [a.format(t=tmp_path) for a in argv]
    error = error_of(argv, capsys, 1)
    assert error == f"linclass {argv[0]}: error: {message.format(t=tmp_path)}"
    assert "Errno" not in error


def test_system_errors_lose_their_errno_prefix(tmp_path):
    for exc, text in (
        (FileNotFoundError(2, "No such file or directory", "a.txt"), "a.txt: no such file or folder"),
        (IsADirectoryError(21, "Is a directory", "d"), "d: is a folder; expected a file"),
        (FileExistsError(17, "File exists", "x"), "x: already exists"),
        (PermissionError(13, "Permission denied", "/root/x"), "/root/x: permission denied"),
        (OSError("plain"), "plain"),
    ):
        assert describe_os_error(exc) == text
    try:
        open(tmp_path)
    except OSError as exc:
        assert describe_os_error(exc) == f"{tmp_path}: is a folder; expected a file"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--lr", "-1"], "--lr must be > 0, got -1"),
        (["train", "--lr", "nan"], "--lr must be > 0, got nan"),
        (["train", "--lr", "fast"], "--lr must be a number, got fast"),
        (["train", "--epochs", "2.5"], "--epochs must be a whole number, got 2.5"),
        (["train", "--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["train", "--batch-size", "0"], "--batch-size must be >= 1, got 0"),
        (["train", "--alpha", "-1"], "--alpha must be >= 0, got -1"),
        (["train", "--l1-ratio", "2"], "--l1-ratio must be in [0, 1], got 2"),
        (["train", "--momentum", "1"], "--momentum must be in [0, 1), got 1"),
        (["train", "--val-fraction", "1.5"], "--val-fraction must be in (0, 1), got 1.5"),
        (["train", "--test-fraction", "1"], "--test-fraction must be in [0, 1), got 1"),
        (["train", "--patience", "0"], "--patience must be >= 1, got 0"),
        (["train", "--seed", "-3"], "--seed must be >= 0, got -3"),
        (["train", "--checkpoint-every", "0"], "--checkpoint-every must be >= 1, got 0"),
        (["train", "--optimizer", "lbgfs"],
         "--optimizer lbgfs: not one of the choices; did you mean 'lbfgs'? expected one of "),
        (["tune", "--trials", "0"], "--trials must be >= 1, got 0"),
        (["tune", "--jobs", "0"], "--jobs must be -1 (every core) or >= 1, got 0"),
        (["predict", "m.npz", "x.png", "--top", "0"], "--top must be >= 1, got 0"),
        (["explain", "--margin", "0"], "--margin must be > 0, got 0"),
        (["train", "--learning-rate", "0"], "--learning-rate must be > 0, got 0"),
        (["train", "--validation-fraction", "0"], "--validation-fraction must be in (0, 1), got 0"),
        (["train", "--n-iter-no-change", "0"], "--n-iter-no-change must be >= 1, got 0"),
        (["train", "--random-state", "-1"], "--random-state must be >= 0, got -1"),
        (["train", "--max-iter", "0"], "--max-iter must be >= 1, got 0"),
        (["gradcheck", "--alpha", "-1"], "--alpha must be >= 0, got -1"),
        (["gradcheck", "--l1-ratio", "1.5"], "--l1-ratio must be in [0, 1], got 1.5"),
        (["gradcheck", "--seed", "-1"], "--seed must be >= 0, got -1"),
        (["gradcheck", "--samples", "0"], "--samples must be >= 1, got 0"),
        (["gradcheck", "--loss", "squared_error"], "--loss squared_error: not one of the choices; "),
        (["features", "--kind", "kmeans", "--centroids", "0"], "--centroids must be >= 1, got 0"),
    ],
)  # fmt: skip
def test_bad_flag_values_exit_2_naming_the_flag(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"linclass {argv[0]}: error: {message}") and err.count("\n") == 1


def test_every_numeric_option_of_every_command_is_checked_against_a_range():
    from linclass.cli import build_parser
    from linclass.cli.values import RANGES, CheckedStore
    from linclass.hyperparameters import HYPERPARAMETERS

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    numeric = {(name, a.dest) for name, command in commands.items() for a in command._actions
               if isinstance(a, CheckedStore) and a.convert is not None}  # fmt: skip
    # explain's --index is checked against its data's rows (a negative index counts from the end)
    assert {dest for _, dest in numeric} - set(RANGES) == {"index"}, sorted(numeric)
    assert ("gradcheck", "alpha") in numeric and ("train", "learning_rate") in numeric
    for name, hyperparameter in HYPERPARAMETERS.items():  # the hyperparameters' ranges are the schema's rules
        if hyperparameter.option and hyperparameter.rule is not None:
            assert RANGES[name] is hyperparameter.rule


def test_gradcheck_takes_its_model_options_from_the_table():
    from linclass.cli import build_parser

    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    options = {a.dest: a for a in commands["gradcheck"]._actions}
    for name in ("loss", "penalty", "alpha", "l1_ratio", "backend", "random_state"):
        assert tuple(options[name].option_strings) == HYPERPARAMETERS_FLAGS[name]
    assert options["alpha"].default == 0.1 and options["random_state"].default == 0


def test_tune_lists_are_checked_value_by_value(capsys):
    assert error_of(["tune", "--alpha=1e-4,-1"], capsys, 2) == "linclass tune: error: --alpha values must be >= 0, got -1"
    assert error_of(["tune", "--lr", "0.1,0"], capsys, 2) == "linclass tune: error: --lr values must be > 0, got 0"
    assert error_of(["tune", "--learning-rate", "x"], capsys, 2) == "linclass tune: error: --learning-rate: 'x' is not a number"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["probe", "--train", "t.npz", "--json", "report.json"], "linclass probe: error: unrecognized arguments: report.json"),
        (["train", "--epochs", "1", "--foo", "3"], "linclass train: error: unrecognized arguments: --foo 3"),
    ],
)
def test_an_unknown_argument_names_the_subcommand_it_was_given_to(capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == message
