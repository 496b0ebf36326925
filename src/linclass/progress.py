"""An epoch progress bar that appears only for a person watching a terminal.

The bar is drawn by tqdm (an optional dependency, imported when a bar is wanted) and only when
``verbose`` is true *and* the stream is a terminal: logs, pipes and CI output stay clean (the
CLI prints its own per-epoch lines through a callback). Without tqdm there is no bar.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO

_POSTFIX = (
    ("loss", "loss"), ("train_accuracy", "acc"), ("val_loss", "val_loss"), ("val_accuracy", "val_acc")
)


class ProgressBar:
    """A bar over epochs showing the latest loss and accuracies.

    Args:
        total: epochs of the whole run.
        initial: epochs already done (a resumed run).
        verbose: the user asked for progress output.
        stream: where to draw; defaults to ``sys.stderr`` at construction time.

    Example:
        >>> with ProgressBar(total=3, verbose=False) as bar:   # not a terminal: draws nothing
        ...     bar.update({"loss": 0.5, "train_accuracy": 0.9})
        >>> bar.enabled
        False
    """

    def __init__(
        self, total: int, initial: int = 0, verbose: bool = False, stream: IO[str] | None = None
    ) -> None:
        stream = sys.stderr if stream is None else stream
        self._bar = None
        if verbose and _is_terminal(stream):
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(total=total, initial=initial, unit="epoch", file=stream, dynamic_ncols=True)

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def update(self, metrics: Mapping[str, float]) -> None:
        """Advance one epoch and show ``metrics`` (the keys of the loop's history)."""
        if self._bar is None:
            return
        self._bar.set_postfix(
            {label: f"{metrics[key]:.4g}" for key, label in _POSTFIX if key in metrics}, refresh=False
        )
        self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())
