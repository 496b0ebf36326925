"""The console blocks of README.md show what the commands print: every digits example is run here.

A block lists ``$ linclass ...`` commands (continued with a trailing backslash) each followed
by its output; a line ``...`` stands for any number of lines. The examples run, in order, in one
fresh folder after the README's first command (``linclass train``, which writes ``model.npz``),
as a reader would type them. Examples on data this machine may not have (CIFAR-10, image files)
are listed in ``NEEDS_OTHER_DATA`` and left out; the test fails if that list goes stale.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
NEEDS_OTHER_DATA = re.compile(r"cifar|folder:|\.jpg")


def console_examples(text: str) -> list[tuple[str, list[str]]]:
    """``(command, shown output lines)`` for every ``$`` command of every ``console`` block."""
    examples: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise AssertionError(f"README console block: output line {lines[i]!r} before any command")
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            output = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            examples.append((command, output))
    return examples


def without_times(lines: list[str]) -> list[str]:
    """The lines with measured seconds (``(0.21 s)``, a table's ``seconds`` column) blanked out."""
    masked = (re.sub(r"\(\d+\.\d+ s\)", "(T s)", line) for line in lines)
    return [re.sub(r"^(\s+\d+\s.*\s)\d+\.\d+$", r"\1T", line) for line in masked]


def matches(shown: list[str], printed: list[str]) -> bool:
    """True when ``printed`` is ``shown`` with each ``...`` line standing for any lines."""
    pattern = "".join(".*" if line == "..." else re.escape(line + "\n") for line in shown)
    return re.fullmatch(pattern, "".join(line + "\n" for line in printed), flags=re.S) is not None


EXAMPLES = console_examples(README.read_text(encoding="utf-8"))
DIGITS_EXAMPLES = [(c, out) for c, out in EXAMPLES if not NEEDS_OTHER_DATA.search(c)]


def test_the_readme_has_console_examples_on_digits_and_others():
    assert len(DIGITS_EXAMPLES) >= 5
    assert len(EXAMPLES) - len(DIGITS_EXAMPLES) == 2  # the CIFAR-10 training run and images to predict
    assert without_times(["   1            0.1    0.0001     0.9961   0.9653     0.14"]) == [
        "   1            0.1    0.0001     0.9961   0.9653     T"
    ]
    assert matches(["a", "...", "c"], ["a", "b", "b", "c"]) and not matches(["a", "c"], ["a", "b", "c"])


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader")
    first = subprocess.run([sys.executable, "-m", "linclass", "train", "--quiet"], cwd=folder, timeout=300)
    assert first.returncode == 0
    return folder


@pytest.mark.parametrize("command, shown", DIGITS_EXAMPLES, ids=[c for c, _ in DIGITS_EXAMPLES])
def test_a_readme_example_prints_what_the_readme_shows(reader_folder, command, shown):
    argv = shlex.split(command, comments=True)
    assert argv[0] == "linclass"
    result = subprocess.run(
        [sys.executable, "-m", "linclass", *argv[1:]], cwd=reader_folder, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    if argv[1] == "tune":
        shown, printed = without_times(shown), without_times(printed)
    assert matches(shown, printed), "README shows:\n" + "\n".join(shown) + "\n\nprinted:\n" + result.stdout
