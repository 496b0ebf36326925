"""``linclass train --resume``: the run keeps its model file and its settings; interrupt messages."""

from __future__ import annotations

import json
import os

import pytest

import linclass
from linclass.app import experiment
from linclass.app.experiment import read_checkpoint
from linclass.cli import main
from linclass.io import read_bundle, write_bundle

RUN = ["train", "--epochs", "3", "--schedule", "constant", "--quiet"]


@pytest.fixture
def finished_run(tmp_path, monkeypatch):
    """A 3-epoch run started in ``tmp_path/start`` with a relative ``--out``."""
    start = tmp_path / "start"
    start.mkdir()
    monkeypatch.chdir(start)
    assert main([*RUN, "--checkpoint", "run.ckpt", "--out", "first.npz"]) == 0
    return start


def test_the_checkpoint_records_the_runs_model_file(finished_run):
    assert read_checkpoint(finished_run / "run.ckpt").model_path == str(finished_run / "first.npz")


def test_resume_writes_the_original_out_from_another_folder(tmp_path, finished_run, monkeypatch, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    before = (finished_run / "first.npz").read_bytes()
    assert main(["train", "--resume", str(finished_run / "run.ckpt"), "--epochs", "5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == str(finished_run / "first.npz") and report["epochs"] == 5
    assert os.listdir(elsewhere) == []  # no stray model.npz in the current folder
    assert (finished_run / "first.npz").read_bytes() != before
    assert linclass.load(finished_run / "first.npz").n_iter_ == 5


def test_out_given_again_wins_and_is_recorded(tmp_path, finished_run):
    assert main(["train", "--resume", "run.ckpt", "--epochs", "4", "--quiet", "--out", "second.npz"]) == 0
    assert linclass.load("second.npz").n_iter_ == 4
    assert read_checkpoint("run.ckpt").model_path == str(finished_run / "second.npz")


def test_extending_a_constant_rate_run_equals_training_longer_at_once(finished_run):
    assert main(["train", "--resume", "run.ckpt", "--epochs", "6", "--quiet"]) == 0
    assert main([*RUN[:2], "6", *RUN[3:], "--out", "straight.npz"]) == 0
    extended, straight = linclass.load("first.npz"), linclass.load("straight.npz")
    assert extended.params_[0].tobytes() == straight.params_[0].tobytes()
    assert extended.history_["loss"] == straight.history_["loss"]


def test_conflicting_options_are_refused_with_exit_2_and_listed(finished_run, capsys):
    before = (finished_run / "run.ckpt").read_bytes()
    code = main(["train", "--resume", "run.ckpt", "--lr", "0.1", "--loss", "svm", "--early-stopping", "--epochs", "9"])
    assert code == 2
    assert capsys.readouterr().err == (
        "linclass train: error: --resume run.ckpt: --early-stopping (the run has off), --loss svm (the run has "
        "softmax), --lr 0.1 (the run has 0.01): a resumed run keeps its settings; only --epochs, --max-iter, --device, "
        "--out, --checkpoint, --checkpoint-every, --quiet, --json, --debug, --scheduler, --workers may change\n"
    )
    assert (finished_run / "run.ckpt").read_bytes() == before


def test_a_conflict_names_the_flag_as_typed(finished_run, capsys):
    assert main(["train", "--resume", "run.ckpt", "--learning-rate", "0.1", "--seed", "4"]) == 2
    assert capsys.readouterr().err.startswith(
        "linclass train: error: --resume run.ckpt: --learning-rate 0.1 (the run has 0.01), --seed 4 (the run has 0): "
    )


def test_options_that_a_resumed_run_would_ignore_are_refused(finished_run, capsys):
    assert main(["train", "--resume", "run.ckpt", "--max-iter", "50"]) == 2
    assert capsys.readouterr().err == "linclass train: error: --max-iter 50 has no effect with --optimizer sgd\n"


def test_checkpoints_written_with_the_former_setting_names_are_read_and_resumed(finished_run, capsys):
    arrays, metadata = read_bundle(finished_run / "run.ckpt", kind="checkpoint")
    config = metadata["config"]
    for former, name in {"patience": "n_iter_no_change", "val_fraction": "validation_fraction", "seed": "random_state"}.items():
        config[former] = config.pop(name)
    del config["max_iter"]  # checkpoints of that time had none
    write_bundle(finished_run / "old.ckpt", arrays, metadata, kind="checkpoint")
    assert read_checkpoint(finished_run / "old.ckpt").config == read_checkpoint(finished_run / "run.ckpt").config
    assert main(["train", "--resume", "old.ckpt", "--epochs", "4", "--seed", "0", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"] == 4
    config["val_fraction"], config["seed"], config["patience"] = 0.2, 7, 3
    write_bundle(finished_run / "other.ckpt", arrays, metadata, kind="checkpoint")
    other = read_checkpoint(finished_run / "other.ckpt").config
    assert (other.validation_fraction, other.random_state, other.n_iter_no_change, other.max_iter) == (0.2, 7, 3, 1000)
    config["random_state"] = 7  # both names of one setting: refused
    write_bundle(finished_run / "both.ckpt", arrays, metadata, kind="checkpoint")
    with pytest.raises(linclass.io.ModelFileError, match=r"settings \['seed'\] are the former names of"):
        read_checkpoint(finished_run / "both.ckpt")


def test_options_equal_to_the_runs_settings_are_not_conflicts(finished_run):
    assert main(["train", "--resume", "run.ckpt", "--lr", "0.01", "--schedule", "constant", "--quiet"]) == 0


def test_fewer_epochs_than_done_is_refused(finished_run, capsys):
    assert main(["train", "--resume", "run.ckpt", "--epochs", "2"]) == 2
    assert capsys.readouterr().err == (
        "linclass train: error: --epochs 2: the run in run.ckpt has already done 3 epochs; give at least that many\n"
    )


def interrupt_after_a_checkpoint(config, *, checkpoint_path=None, **options):
    if checkpoint_path is not None:
        with open(checkpoint_path, "wb") as f:
            f.write(b"checkpoint")
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--checkpoint", "my run.ckpt"],
         "linclass train: interrupted; checkpoint saved to my run.ckpt; "
         "continue with: linclass train --resume 'my run.ckpt'"),
        ([],
         "linclass train: interrupted; nothing was saved (add --checkpoint PATH to save a checkpoint you can "
         "resume with --resume PATH)"),
    ],
)  # fmt: skip
def test_interrupt_messages_name_the_checkpoint_and_the_resume_command(
    tmp_path, monkeypatch, capsys, extra, message
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(experiment, "train_model", interrupt_after_a_checkpoint)
    assert main(["train", *extra]) == 130
    assert capsys.readouterr().err == message + "\n"
