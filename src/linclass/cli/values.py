"""The allowed values of the numeric options, checked while the command line is parsed.

One table, by option name, shared by every command that has the option: a value outside its
range is a usage error (exit code 2) that names the flag as the user typed it,
``linclass train: error: --lr must be > 0, got -1``, before anything is loaded or trained.
"""

from __future__ import annotations

import argparse
import difflib
import math
import re
from collections.abc import Callable
from typing import NamedTuple


class Range(NamedTuple):
    """Numbers from ``low`` to ``high`` (None: unbounded), each end open or closed."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def holds(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
FRACTION = Range(0, 1)

#: option ``dest`` -> allowed range (for options that parse as int or float).
RANGES: dict[str, Range] = {
    "alpha": NON_NEGATIVE,
    "l1_ratio": FRACTION,
    "lr": POSITIVE,
    "epochs": AT_LEAST_ONE,
    "batch_size": AT_LEAST_ONE,
    "momentum": Range(0, 1, high_open=True),
    "val_fraction": Range(0, 1, low_open=True, high_open=True),
    "test_fraction": Range(0, 1, high_open=True),
    "patience": AT_LEAST_ONE,
    "checkpoint_every": AT_LEAST_ONE,
    "workers": AT_LEAST_ONE,
    "seed": NON_NEGATIVE,
    "trials": AT_LEAST_ONE,
    "top": AT_LEAST_ONE,
    "pixel_max": AT_LEAST_ONE,
    "samples": AT_LEAST_ONE,
    "features": AT_LEAST_ONE,
    "classes": Range(2),
    "sparse": AT_LEAST_ONE,
    "h": POSITIVE,
    "margin": POSITIVE,
}


def checked(
    convert: Callable[[str], float], rule: Range, allowed: str | None = None
) -> Callable[[str], float]:
    """An argparse ``type`` that converts with ``convert`` and refuses values outside ``rule``."""

    def parse(text: str) -> float:
        value = convert(text)
        if not rule.holds(value):
            raise argparse.ArgumentTypeError(f"must be {allowed or rule}, got {text}")
        return value

    parse.__name__ = convert.__name__  # argparse names the type in "invalid int value: 'x'"
    return parse


def jobs(text: str) -> int:
    """``--jobs``: -1 (every core) or a count >= 1."""
    value = int(text)
    if value != -1 and value < 1:
        raise argparse.ArgumentTypeError(f"must be -1 (every core) or >= 1, got {text}")
    return value


jobs.__name__ = "int"


def check_ranges(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give each numeric option of ``parser`` listed in :data:`RANGES` a type that checks its range."""
    for action in parser._actions:
        if action.dest == "jobs" and action.type is int:
            action.type = jobs
        elif action.dest in RANGES and action.type in (int, float):
            action.type = checked(action.type, RANGES[action.dest])
    return parser


_REWRITES = (
    (re.compile(r"argument (\S+): must be "), r"\1 must be "),
    (re.compile(r"argument (\S+): invalid float value: '(.*)'"), r"\1 must be a number, got \2"),
    (re.compile(r"argument (\S+): invalid int value: '(.*)'"), r"\1 must be a whole number, got \2"),
)
_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)")


def _choice_message(match: re.Match) -> str:
    flag, given = match[1], match[2]
    choices = [c.strip().strip("'") for c in match[3].split(",")]
    guess = difflib.get_close_matches(given, choices, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return f"{flag} {given}: not one of the choices; {hint}expected one of {', '.join(choices)}"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line naming the flag.

    For example ``linclass train: error: --lr must be > 0, got -1``.
    """

    def error(self, message: str):
        for pattern, replacement in _REWRITES:
            message = pattern.sub(replacement, message, count=1)
        message = _INVALID_CHOICE.sub(_choice_message, message, count=1)
        self.exit(2, f"{self.prog}: error: {message}\n")
