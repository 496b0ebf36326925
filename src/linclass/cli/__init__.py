"""The ``linclass`` command: argument parsing and printing only; the work is done by the library.

Each subcommand lives in its own module exposing ``add_parser(subparsers)`` (which registers
the subcommand and sets ``func`` to a ``run(args) -> int`` function). Exit codes: 0 success,
1 failure (one readable line on stderr; the traceback only with ``--debug``), 2 usage error,
130 interrupted by SIGINT.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import textwrap
import warnings
from collections.abc import Sequence

SUBCOMMANDS = (
    "train", "evaluate", "predict", "tune", "probe", "features", "gradcheck", "explain", "plot", "playground"
)
# the commands that run the kernels
_COMPILING = ("train", "evaluate", "predict", "tune", "probe", "gradcheck")


class CommandError(Exception):
    """A failure the user can fix, reported as one line with exit code 1."""


class UsageError(CommandError):
    """Options that cannot work together or values that cannot work: one line, exit code 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and examples, but wraps any line wider than the terminal.

    A wrapped line continues under its own indentation plus four spaces, so an example command
    that does not fit reads as one command.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if len(indent + line) <= width or not line.strip():
                lines.append(indent + line)
                continue
            lead = indent + line[: len(line) - len(line.lstrip())]
            lines.extend(
                textwrap.wrap(
                    line.strip(), width, initial_indent=lead, subsequent_indent=lead + "    ",
                    break_on_hyphens=False, break_long_words=False,
                )
            )  # fmt: skip
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand accepts (use as ``parents=[common_options()]``)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--quiet", "-q", action="store_true", help="print only errors and requested data")
    parent.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    return parent


def build_parser() -> argparse.ArgumentParser:
    from linclass import __version__
    from linclass.cli.values import Parser

    parser = Parser(
        prog="linclass",
        description="Linear classifiers (multiclass SVM and softmax): train, evaluate, explain.",
        epilog="Run 'linclass COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"linclass {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = _load_subcommand(name)
        if module is not None:
            describe_choices_and_defaults(module.add_parser(subparsers))
    return parser


def describe_choices_and_defaults(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make every option's help say its choices and its default, and keep the usage line short.

    An option with choices shows a ``NAME`` placeholder in the usage line and lists the choices
    in its help; an option whose help does not mention its default gets ``(default: VALUE)``.
    """
    for action in parser._actions:
        if action.help in (None, argparse.SUPPRESS) or not action.option_strings:
            continue
        if action.choices and action.metavar is None:
            action.metavar = action.dest.upper()
            text, paren, default = action.help.partition(" (default")
            action.help = f"{text}, one of {', '.join(map(str, action.choices))}{paren}{default}"
        if action.nargs != 0 and not action.required and "default" not in action.help:
            action.help += f" (default: {'none' if action.default is None else action.default})"
    return parser


def _load_subcommand(name: str):
    try:
        return importlib.import_module(f"linclass.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"linclass.cli.{name}":
            return None
        raise


_OS_ERRORS = {
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "is a folder; expected a file",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EEXIST: "already exists",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOSPC: "no space left on the device",
    errno.EROFS: "the file system is read-only",
}


def describe_os_error(exc: OSError) -> str:
    """One line ``PATH: what went wrong`` for an ``OSError``, without the ``[Errno N]`` prefix."""
    if exc.filename is None or exc.strerror is None:
        return str(exc)
    # linclass's own OSErrors say what was expected; the system's get a plain wording
    own = "expected" in exc.strerror
    problem = exc.strerror if own else _OS_ERRORS.get(exc.errno, exc.strerror[:1].lower() + exc.strerror[1:])
    return f"{exc.filename}: {problem}"


def check_data_option(flag: str, spec: str) -> None:
    """Refuse a ``--data``-style spec of no known form as a usage error naming ``flag``."""
    from linclass.datasets import DataSpecError, check_spec

    try:
        check_spec(spec)
    except DataSpecError as exc:
        raise UsageError(f"{flag} {spec}: {exc.problem}") from None


def given_options(argv: Sequence[str]) -> dict[str, str]:
    """The options typed in ``argv`` (as opposed to those left at their defaults): ``dest`` -> the
    flag as typed (``{"learning_rate": "--lr"}``)."""
    parser = build_parser()
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for each in [parser, *(p for action in subparsers for p in action.choices.values())]:
        each._defaults.clear()
        for action in each._actions:
            action.default = argparse.SUPPRESS
    given = vars(parser.parse_args(argv))
    command = _subcommand_parser(parser, given.pop("command"))
    typed = {}
    for action in command._actions:
        if action.dest in given and action.dest not in typed:
            flags = [f for f in action.option_strings if any(a == f or a.startswith(f + "=") for a in argv)]
            typed[action.dest] = (flags or action.option_strings or [action.dest])[0]
    return typed


def flag_of(args: argparse.Namespace, dest: str) -> str:
    """The flag of the option ``dest``: as the user typed it, else its name with dashes."""
    return args.given.get(dest) or "--" + dest.replace("_", "-")


def refuse_conflicting_test_rows(args: argparse.Namespace) -> None:
    """``--test-data`` and ``--test-fraction`` both choose the test rows: give one (exit code 2)."""
    if args.test_data and args.test_fraction:
        raise UsageError(
            f"{flag_of(args, 'test_data')} and {flag_of(args, 'test_fraction')} both choose the test rows; "
            "give one of them"
        )


def refuse_ignored_options(given: dict[str, str], config) -> None:
    """Typed options that have no effect with the run's other settings are a usage error naming
    both (``--momentum 0.5 has no effect with --optimizer adam``); see
    ``linclass.hyperparameters.ignored``."""
    from linclass.hyperparameters import ignored

    settings = config.to_dict()
    problems = []
    for name, cause in ignored(settings).items():
        if name not in given:
            continue
        value = "" if isinstance(settings[name], bool) else f" {settings[name]}"
        flag, setting = given.get(cause, "--" + cause.replace("_", "-")), settings[cause]
        if isinstance(setting, bool):
            why = f"{'with' if setting else 'without'} {flag}"
        else:
            why = f"with {flag} {'none' if setting is None else setting}"
        hint = " (it runs at most --max-iter iterations)" if name == "epochs" else ""
        problems.append(f"{given[name]}{value} has no effect {why}{hint}")
    if problems:
        raise UsageError("; ".join(problems))


def _one_line_warning(command: str):
    """``warnings.showwarning`` for the commands: one line naming the command (``linclass train:
    warning: LinearClassifier(optimizer='lbfgs') did not converge: ...``), not a source line."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"linclass {command}: warning: {message}", file=file or sys.stderr)

    return show


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[command]


def main(argv: Sequence[str] | None = None) -> int:
    from linclass.app.config import SettingError
    from linclass.app.outputs import OutputPathError

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # name the subcommand whose options these are not, and show its usage
        _subcommand_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    args.given = given_options(argv)
    if args.command in _COMPILING and not getattr(args, "quiet", False):
        from linclass.cli.compile_notice import announce_compilation

        announce_compilation()
    try:
        with warnings.catch_warnings():
            if not getattr(args, "debug", False):
                warnings.showwarning = _one_line_warning(args.command)
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("linclass: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``linclass ... | head``): stop quietly, like other Unix tools, and
        # point stdout at /dev/null so the interpreter's final flush does not complain again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (UsageError, OutputPathError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"linclass {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except SettingError as exc:  # found once the data are loaded: name the flag, as for a usage error
        if getattr(args, "debug", False):
            raise
        flag = flag_of(args, exc.setting)
        print(f"linclass {args.command}: error: {flag} {exc.value}: {exc.problem}", file=sys.stderr)
        return 2
    except (CommandError, ValueError, TypeError, OSError, ImportError) as exc:
        if getattr(args, "debug", False):
            raise
        message = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
        print(f"linclass {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
