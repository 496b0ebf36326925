"""Field-by-field validation of the metadata of model files and checkpoints.

A bundle's checksum proves only that nobody changed it after it was written, not that whoever
wrote it was friendly: a validly signed file can still say ``batch_size: 0`` or
``n_samples: 1e400``. The loaders therefore read every metadata field through :class:`Fields`,
which checks its type and range (and the callers check it against the arrays), and refuse a
bad one with :class:`linclass.io.ModelFileError` naming the file and the field:

    ``model.npz: field n_iter is -3; expected an integer in 0..9223372036854775807``
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from linclass.io import ModelFileError

MAX_INT = 2**63 - 1
_MISSING = object()


class Fields:
    """Typed access to one JSON object of a bundle's metadata.

    Args:
        values: the JSON object.
        source: the file name for messages.
        prefix: the object's place in the metadata (``"state."``), prepended to field names.
    """

    def __init__(self, values: Any, source: str, prefix: str = "") -> None:
        if not isinstance(values, Mapping):
            where = f"field {prefix[:-1]}" if prefix else "the metadata"
            raise ModelFileError(f"{source}: {where} is {_show(values)}; expected a JSON object")
        self.values, self.source, self.prefix = values, source, prefix

    def fail(self, key: str, expected: str, value: Any = _MISSING) -> ModelFileError:
        """The error for field ``key`` (its current value unless ``value`` is given)."""
        value = self.values.get(key, _MISSING) if value is _MISSING else value
        found = "missing" if value is _MISSING else f"is {_show(value)}"
        return ModelFileError(f"{self.source}: field {self.prefix}{key} {found}; expected {expected}")

    def only(self, allowed: set[str], required: set[str] = frozenset()) -> None:
        """Refuse keys outside ``allowed`` and missing ``required`` ones."""
        unknown = sorted(set(self.values) - allowed)
        if unknown:
            where = "field " + self.prefix[:-1] if self.prefix else "the metadata"
            raise ModelFileError(
                f"{self.source}: {where} has unknown fields {reprlib.repr(unknown)}; "
                f"expected only {sorted(allowed)}"
            )
        for key in sorted(required):
            if key not in self.values:
                raise self.fail(key, "a value")

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self.values:
            if default is _MISSING:
                raise self.fail(key, "a value")
            return default
        return self.values[key]

    def sub(self, key: str) -> Fields:
        return Fields(self.get(key), self.source, f"{self.prefix}{key}.")

    def int(self, key: str, low: int = 0, high: int = MAX_INT, *, optional: bool = False) -> int | None:
        value = self.values.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"an integer in {low}..{high}" + (" or null" if optional else ""))
        return value

    def float(
        self, key: str, low: float = -math.inf, high: float = math.inf, *, finite: bool = True
    ) -> float:
        """A number (JSON ``NaN``/``Infinity`` or their ``repr`` strings when ``finite=False``)."""
        value = self.values.get(key, _MISSING)
        if isinstance(value, str) and not finite and value in ("nan", "inf", "-inf"):
            value = float(value)
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = ok and (not finite or math.isfinite(value)) and (math.isnan(value) or low <= value <= high)
        if not ok:
            bounds = "" if (low, high) == (-math.inf, math.inf) else f" in {low}..{high}"
            raise self.fail(key, f"a {'finite ' if finite else ''}number{bounds}")
        return float(value)

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def str(self, key: str, choices: tuple[str, ...] | None = None, *, optional: bool = False) -> str | None:
        value = self.values.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if not isinstance(value, str) or (choices is not None and value not in choices):
            raise self.fail(key, f"one of {list(choices)}" if choices else "a string")
        return value

    def list(self, key: str, *, length: int | None = None, optional: bool = False) -> list | None:
        value = self.values.get(key, None if optional else _MISSING)
        if value is None and optional:
            return None
        if not isinstance(value, list) or (length is not None and len(value) != length):
            raise self.fail(key, "a list" + (f" of {length} items" if length is not None else ""))
        return value

    def numbers(self, key: str) -> dict[str, list[float]]:
        """A JSON object of lists of numbers (a training history)."""
        history = self.sub(key)
        result = {}
        for name, values in history.values.items():
            if not isinstance(values, list) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
            ):
                raise history.fail(name, "a list of numbers")
            result[name] = [float(v) for v in values]
        return result


def check_array(
    source: str,
    name: str,
    array: np.ndarray | None,
    *,
    shape: tuple[int | None, ...],
    kinds: str = "f",
    finite: bool = True,
) -> np.ndarray:
    """Refuse a missing array, one of another rank/shape (``None`` = any size) or dtype kind,
    or (``finite=True``) one holding NaN or infinity."""
    if array is None:
        raise ModelFileError(f"{source}: array {name!r} is missing")
    ok = array.ndim == len(shape) and all(
        s is None or s == n for s, n in zip(shape, array.shape, strict=True)
    )
    if not ok or array.dtype.kind not in kinds:
        expected = (
            "("
            + ", ".join("N" if s is None else str(s) for s in shape)
            + ("," if len(shape) == 1 else "")
            + ")"
        )
        raise ModelFileError(
            f"{source}: array {name!r} has shape {array.shape} and dtype {array.dtype}; "
            f"expected shape {expected} of kind {kinds!r}"
        )
    if finite and array.dtype.kind in "fc" and not np.isfinite(array).all():
        raise ModelFileError(f"{source}: array {name!r} holds NaN or infinite values")
    return array


def _show(value: Any) -> str:
    return reprlib.repr(value)
