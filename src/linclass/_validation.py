"""Argument checks shared by every layer.

Each check raises ``ValueError`` or ``TypeError`` whose message names the argument, what was
expected and what was found, so a user can fix the call from the message alone.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction={reduction!r} is not supported; expected one of {list(REDUCTIONS)}")
    return reduction


def check_scores(scores: ArrayLike, name: str = "scores", ndim: int = 2) -> np.ndarray:
    """Return ``scores`` as a floating array of ``ndim`` dimensions with no NaN or +inf.

    ``-inf`` is allowed: a class with score ``-inf`` simply has probability 0.
    """
    arr = np.asarray(scores)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {arr.shape}")
    if np.isnan(arr).any() or np.isposinf(arr).any():
        raise ValueError(f"{name} contains NaN or +inf values")
    return arr


def check_labels(
    y: ArrayLike,
    n_samples: int,
    n_classes: int | None,
    name: str = "y",
    ignore_index: int | None = None,
) -> np.ndarray:
    """Return class indices ``y`` as an int64 array of length ``n_samples`` in ``[0, n_classes)``.

    Entries equal to ``ignore_index`` are allowed anywhere.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D class indices, got an array of shape {arr.shape}")
    if arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels but scores has {n_samples} rows")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or inf; expected integer class indices")
        if (arr != np.round(arr)).any():
            raise ValueError(f"{name} contains fractional values; expected integer class indices")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    idx = arr.astype(np.int64)
    valid = idx if ignore_index is None else idx[idx != ignore_index]
    if valid.size and valid.min() < 0:
        raise ValueError(f"{name} contains negative label {valid.min()}; expected 0..{_top(n_classes)}")
    if n_classes is not None and valid.size and valid.max() >= n_classes:
        raise ValueError(
            f"{name} contains label {valid.max()} but there are only {n_classes} classes "
            f"(expected 0..{n_classes - 1})"
        )
    return idx


def _top(n_classes: int | None) -> str:
    return "C-1" if n_classes is None else str(n_classes - 1)


class Range(NamedTuple):
    """The numbers from ``low`` to ``high`` (None: unbounded), each end open or closed; whole
    numbers only with ``integer``.

    One description of what a numeric argument allows, used by the library's checks
    (:meth:`check`) and by the command line's (:meth:`holds`, ``str``).

        >>> Range(0, 1, high_open=True).check(1.0, "momentum")
        Traceback (most recent call last):
        ...
        ValueError: momentum must be in [0, 1), got 1.0
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def holds(self, value: float) -> bool:
        """Whether the number ``value`` lies in the range (NaN and infinities never do)."""
        if not isinstance(value, numbers.Integral) and not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.low_open else value >= self.low)
        below = self.high is None or (value < self.high if self.high_open else value <= self.high)
        return above and below

    def __str__(self) -> str:
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"

    def describe(self) -> str:
        """What the range allows, in words (``an integer >= 1``, ``a number in [0, 1]``)."""
        if self.integer:
            return f"an integer {self}"
        return f"a finite number {self}" if self.high is None else f"a number {self}"

    def check(self, value: Any, name: str) -> float:
        """``value`` (as ``int`` or ``float``) if it lies in the range; otherwise a TypeError or
        ValueError naming ``name``."""
        kind = numbers.Integral if self.integer else numbers.Real
        if isinstance(value, bool) or not isinstance(value, kind):
            kind_text = "an integer" if self.integer else "a real number"
            raise TypeError(f"{name} must be {kind_text}, got {value!r}")
        if not self.holds(value):
            what = self.describe().replace("a number ", "")
            raise ValueError(f"{name} must be {what}, got {value!r}")
        return int(value) if self.integer else float(value)


def check_positive(value: float, name: str, allow_zero: bool = False) -> float:
    """Check a finite real number that must be > 0 (or >= 0 with ``allow_zero``)."""
    return Range(0, low_open=not allow_zero).check(value, name)


def check_int(value: int, name: str, minimum: int = 1) -> int:
    """Check an integer ``>= minimum``."""
    return Range(minimum, integer=True).check(value, name)


def check_fraction(value: float, name: str, low_open: bool = False, high_open: bool = False) -> float:
    """Check a real number in [0, 1] (ends open on request)."""
    return Range(0, 1, low_open, high_open).check(value, name)


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``random_state`` (None, int or Generator) into a ``numpy.random.Generator``."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy.random.Generator, got {random_state!r}")
