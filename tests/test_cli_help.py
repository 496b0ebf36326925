"""Help and terminal output: every option described with its default, 80 columns, a word when compiling."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys

import pytest

from linclass.cli import SUBCOMMANDS, build_parser
from linclass.cli.compile_notice import NOTICE
from linclass.progress import ProgressBar


def subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_option_has_a_description_and_its_default(command):
    for action in subparsers()[command]._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        flag = action.option_strings[-1]
        assert action.help and not action.help.startswith("("), f"{command} {flag} has no description"
        if action.nargs != 0 and not action.required:
            assert "default" in action.help, f"{command} {flag} does not say its default: {action.help!r}"


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_help_fits_80_columns_and_points_to_no_missing_file(command):
    env = {**os.environ, "COLUMNS": "80"}
    argv = [sys.executable, "-m", "linclass", *([command] if command else []), "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    too_wide = [line for line in result.stdout.splitlines() if len(line) > 80]
    assert too_wide == []
    assert not re.search(r"\bdocs/|\.md\b", result.stdout)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_keeps_loss_and_accuracy_readable_at_80_columns():
    stream = Terminal()
    metrics = {"loss": 0.23456, "train_accuracy": 0.9123, "val_loss": 0.3456, "val_accuracy": 0.9011}
    with ProgressBar(total=20, initial=18, verbose=True, stream=stream, steps_per_epoch=23, ncols=80) as bar:
        for _ in range(10):
            bar.advance()
        bar.update(metrics)
        bar._bar.refresh()
    frames = [frame for frame in stream.getvalue().split("\r") if frame.strip()]
    assert all(len(frame) <= 80 for frame in frames)
    assert re.fullmatch(
        r"epoch 20/20  95%\|#+5\| loss 0\.235 acc 0\.912 val loss 0\.346 acc 0\.901 \d\d:\d\d *", frames[-1]
    ), frames[-1]


def test_the_first_run_says_at_once_that_the_kernels_compile(tmp_path):
    pytest.importorskip("numba")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    env.pop("LINCLASS_DISABLE_NUMBA", None)
    first = subprocess.run([sys.executable, "-m", "linclass", "gradcheck"], capture_output=True, text=True,
                           env=env, timeout=300)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert first.stderr == NOTICE + "\n" and len(NOTICE) <= 80
    again = subprocess.run([sys.executable, "-m", "linclass", "gradcheck"], capture_output=True, text=True,
                           env=env, timeout=300)  # fmt: skip
    assert again.returncode == 0 and again.stderr == ""  # loaded from the cache: nothing to say
    assert again.stdout == first.stdout
