"""Ctrl-C and SIGTERM delivered at a step boundary, so an interrupted run can always checkpoint.

A signal that arrives in the middle of a step (inside a BLAS call, a Numba kernel or its
compilation) would otherwise surface as an exception from deep inside that code. Within
``deferred_interrupts()``, the handler only records the signal; the training loop calls
``check()`` after every step and raises :class:`Interrupted` (a ``KeyboardInterrupt``) there,
with the state of the last completed step intact. A second signal before that interrupts at once.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

_pending: list[int] = []


class Interrupted(KeyboardInterrupt):
    """Training was stopped by a signal; ``signum`` says which (``signal.SIGINT`` or ``SIGTERM``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _record(signum: int, frame: object) -> None:
    if _pending:
        raise Interrupted(signum)
    _pending.append(signum)


@contextmanager
def deferred_interrupts(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Within the block, ``signals`` stop training at the next step boundary (main thread only)."""
    previous = {signum: signal.signal(signum, _record) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _pending.clear()


def check() -> None:
    """Raise :class:`Interrupted` if a deferred signal arrived since the last check."""
    if _pending:
        raise Interrupted(_pending.pop())
