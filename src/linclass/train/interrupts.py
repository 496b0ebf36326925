"""Ctrl-C and SIGTERM: honoured everywhere, and inside training only at a step boundary.

Within ``deferred_interrupts()`` (the command line holds it for a whole run), SIGINT and
SIGTERM raise :class:`Interrupted` (a ``KeyboardInterrupt``) at once while data is loaded or
a model evaluated, as Python's own handler would. Inside ``deferring()`` (the training loop)
a signal is only recorded, however many arrive: raising from a handler in the middle of a
step (inside a BLAS call, a Numba kernel or its compilation) could surface as an exception
from deep inside that code, a ``SystemError`` even. The loop calls ``check()`` after every
step, which raises there with the state of the last completed step intact, and leaving
``deferring()`` raises for a signal that arrived after the last check.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_pending: list[int] = []
_depth = [0]  # nesting of deferring() blocks


class Interrupted(KeyboardInterrupt):
    """Training was stopped by a signal; ``signum`` says which (``signal.SIGINT`` or ``SIGTERM``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _record(signum: int, frame: object) -> None:
    if _depth[0] == 0:
        raise Interrupted(signum)
    _pending.append(signum)  # a plain append: nothing raised inside a step


@contextmanager
def deferred_interrupts(
    signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM), *, then_ignore: bool = False
) -> Iterator[None]:
    """Within the block, ``signals`` raise :class:`Interrupted` (deferred inside ``deferring()``;
    main thread only).

    Args:
        then_ignore: when the block ends by an interruption, ignore further ``signals`` instead
            of restoring the previous handlers: a process on its way out (the command line,
            printing its one-line message) is not cut short by the rest of a burst.
    """
    previous = {signum: signal.signal(signum, _record) for signum in signals}
    interrupted = False
    try:
        yield
    except Interrupted:
        interrupted = True
        raise
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_IGN if interrupted and then_ignore else handler)
        _pending.clear()


@contextmanager
def deferring() -> Iterator[None]:
    """Within the block, a signal handled by ``deferred_interrupts`` waits for ``check()``; a
    signal still pending when the block ends normally raises then."""
    _depth[0] += 1
    try:
        yield
    finally:
        _depth[0] -= 1
    if _depth[0] == 0:
        check()


def check() -> None:
    """Raise :class:`Interrupted` if a deferred signal arrived since the last check."""
    if _pending:
        signum = _pending[0]
        _pending.clear()
        raise Interrupted(signum)
