"""The allowed values of the numeric options, checked while the command line is parsed.

One table, by option destination, shared by every command that has the option: the ranges of
the hyperparameters come from their rules in ``linclass.hyperparameters.SCHEMA`` (the same
rules the estimators check), and those of the options that are no hyperparameter are listed
here. A value outside its range is a usage error (exit code 2) that names the flag as the user
typed it, ``linclass train: error: --lr must be > 0, got -1``, before anything is loaded or
trained.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys

from linclass._validation import Range
from linclass.app.config import TEST_FRACTION
from linclass.hyperparameters import SCHEMA

POSITIVE = Range(0, low_open=True)
COUNT = Range(1, integer=True)


class CountOrAll:
    """``--jobs``: a count ``>= 1``, or -1 for every core."""

    def holds(self, value: int) -> bool:
        return value == -1 or value >= 1

    def __str__(self) -> str:
        return "-1 (every core) or >= 1"


#: option ``dest`` -> allowed values (for the options that parse as int or float; explain's
#: ``--index`` is checked against the rows of its data, negative ones counting from the end).
RANGES: dict[str, Range | CountOrAll] = {
    **{h.name: h.rule for h in SCHEMA if h.option and h.rule is not None},
    "test_fraction": TEST_FRACTION,
    "checkpoint_every": COUNT,
    "workers": COUNT,
    "trials": COUNT,
    "jobs": CountOrAll(),
    "top": COUNT,
    "pixel_max": COUNT,
    "samples": COUNT,
    "features": COUNT,
    "classes": Range(2, integer=True),
    "sparse": COUNT,
    "h": POSITIVE,
    "margin": POSITIVE,
    "centroids": COUNT,
    "patches": COUNT,
    "bins": COUNT,
    "cell": COUNT,
    "seed": Range(0, integer=True),
}


class CheckedStore(argparse._StoreAction):
    """The store action of :class:`Parser`: an ``int`` or ``float`` option is converted and
    checked against :data:`RANGES` here rather than by argparse's ``type``, so that an error
    names the flag as typed (``--lr``, not ``--learning-rate/--lr``)."""

    def __init__(self, option_strings, dest, type=None, **options):
        self.convert = type if type in (int, float) else None
        super().__init__(option_strings, dest, type=None if self.convert else type, **options)

    def __call__(self, parser, namespace, values, option_string=None):
        if self.convert is not None:
            values = self.parse(values, option_string or self.dest, parser)
        setattr(namespace, self.dest, values)

    def parse(self, text: str, flag: str, parser: argparse.ArgumentParser) -> float:
        try:
            value = self.convert(text)
        except ValueError:
            kind = "a whole number" if self.convert is int else "a number"
            parser.error(f"{flag} must be {kind}, got {text}")
        rule = RANGES.get(self.dest)
        if rule is not None and not rule.holds(value):
            parser.error(f"{flag} must be {rule}, got {text}")
        return value


_INVALID_CHOICE = re.compile(r"argument (\S+): invalid choice: '(.*)' \(choose from (.*)\)")
_ALIASES = re.compile(r"(?:argument )?(--[\w-]+(?:/--[\w-]+)+|--[\w-]+)")


def _choice_message(match: re.Match) -> str:
    flag, given = match[1], match[2]
    choices = [c.strip().strip("'") for c in match[3].split(",")]
    guess = difflib.get_close_matches(given, choices, n=1)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    return f"{flag} {given}: not one of the choices; {hint}expected one of {', '.join(choices)}"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line naming the flag, and whose numeric
    options are checked against :data:`RANGES` (subcommands' parsers are Parsers too).

    For example ``linclass train: error: --lr must be > 0, got -1``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", None, CheckedStore)
        self.register("action", "store", CheckedStore)
        self._typed: list[str] = []

    def parse_known_args(self, args=None, namespace=None):
        self._typed = list(sys.argv[1:] if args is None else args)  # to name options as typed
        return super().parse_known_args(args, namespace)

    def _as_typed(self, match: re.Match) -> str:
        """An option argparse names by all its flags (``--learning-rate/--lr``), by the one typed."""
        flags = match[1].split("/")
        typed = [f for f in flags if any(a == f or a.startswith(f + "=") for a in self._typed)]
        return (typed or flags)[0]

    def error(self, message: str):
        message = _INVALID_CHOICE.sub(_choice_message, message, count=1)
        self.exit(2, f"{self.prog}: error: {_ALIASES.sub(self._as_typed, message)}\n")
