"""An epoch progress bar that appears only for a person watching a terminal.

The bar is drawn by tqdm (an optional dependency, imported when a bar is wanted) and only when
``verbose`` is true *and* the stream is a terminal: logs, pipes and CI output stay clean (the
CLI prints its own per-epoch lines through a callback). Without tqdm there is no bar.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import IO

# (history key, label): "loss 0.235 acc 0.912 val loss 0.346 acc 0.901" fits an 80-column bar.
_POSTFIX = (("loss", "loss"), ("train_accuracy", "acc"), ("val_loss", "val loss"), ("val_accuracy", "acc"))
# No step counts or rate: at 80 columns tqdm's default meter would cut the metrics off. The
# epoch and the metrics travel as a list in tqdm's postfix, which tqdm then leaves unformatted.
_BAR_FORMAT = "{postfix[0]} {percentage:3.0f}%|{bar}| {postfix[1]} {remaining}"


def format_metrics(metrics: Mapping[str, float]) -> str:
    """The bar's metrics text, three decimals each.

    Example:
        >>> format_metrics({"loss": 0.23456, "train_accuracy": 0.912, "val_loss": 0.346, "val_accuracy": 0.9})
        'loss 0.235 acc 0.912 val loss 0.346 acc 0.900'
    """
    return " ".join(f"{label} {metrics[key]:.3f}" for key, label in _POSTFIX if key in metrics)


class ProgressBar:
    """A bar over the run's minibatch steps, labelled with the epoch and the latest metrics.

    Args:
        total: epochs of the whole run.
        initial: epochs already done (a resumed run).
        verbose: the user asked for progress output.
        stream: where to draw; defaults to ``sys.stderr`` at construction time.
        steps_per_epoch: minibatch steps in one epoch (1 for full-batch optimizers).
        initial_step: steps already done in the current epoch (a run resumed mid-epoch).
        description: a fixed label (for example ``"HOG"``) instead of ``epoch i/n``.
        unit: what one step is, shown after the rate (``"step"``, ``"image"``).
        ncols: the bar's width; None follows the terminal's width as it changes.

    Example:
        >>> with ProgressBar(total=3, verbose=False) as bar:   # not a terminal: draws nothing
        ...     bar.update({"loss": 0.5, "train_accuracy": 0.9})
        >>> bar.enabled
        False
    """

    def __init__(
        self,
        total: int,
        initial: int = 0,
        verbose: bool = False,
        stream: IO[str] | None = None,
        steps_per_epoch: int = 1,
        initial_step: int = 0,
        description: str | None = None,
        unit: str = "step",
        ncols: int | None = None,
    ) -> None:
        stream = sys.stderr if stream is None else stream
        self._bar = None
        self._total_epochs = total
        self._epoch = initial
        self._steps_per_epoch = steps_per_epoch
        self._label = description
        if verbose and _is_terminal(stream):
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(
                total=total * steps_per_epoch,
                initial=initial * steps_per_epoch + initial_step,
                postfix=[self._description(), ""],
                unit=unit,
                file=stream,
                ncols=ncols,
                dynamic_ncols=ncols is None,
                bar_format=_BAR_FORMAT,
                leave=False,
            )

    @property
    def enabled(self) -> bool:
        return self._bar is not None

    def _description(self) -> str:
        if self._label is not None:
            return self._label
        return f"epoch {min(self._epoch + 1, self._total_epochs)}/{self._total_epochs}"

    def advance(self, steps: int = 1) -> None:
        """``steps`` minibatch steps (or images, chunks: whatever ``unit`` names) done."""
        if self._bar is not None:
            self._bar.update(steps)

    def update(self, metrics: Mapping[str, float]) -> None:
        """An epoch ended: move to its end and show ``metrics`` (the keys of the loop's history)."""
        self._epoch += 1
        if self._bar is None:
            return
        self._bar.postfix = [self._description(), format_metrics(metrics)]
        self._bar.update(self._epoch * self._steps_per_epoch - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write(line: str) -> None:
    """Print ``line`` to stdout without tearing a progress bar that is being drawn."""
    try:
        from tqdm import tqdm
    except ImportError:
        print(line, flush=True)
        return
    tqdm.write(line, file=sys.stdout)
    sys.stdout.flush()


def _is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())
