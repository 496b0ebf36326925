"""String-keyed registries: the extension seam for losses, penalties, optimizers and data sets.

Adding a family member is one function plus one ``REGISTRY.register("name")`` line. A registry
is a read-only ``Mapping`` (``registry[name]`` raises KeyError, ``registry.get(name, default)``);
:meth:`Registry.resolve` produces the ValueError a user sees for an unknown name, so validation
is derived from what is registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Mapping[str, T], Generic[T]):
    """A read-only mapping from names to entries, with a decorator to add entries.

    Args:
        param: the name of the argument users pass the key as (for example ``"loss"``);
            it appears in error messages.
    """

    def __init__(self, param: str) -> None:
        self.param = param
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T | None = None) -> Callable[[T], T] | T:
        """Register ``entry`` under ``name``; without ``entry``, return a decorator."""
        if entry is not None:
            self._add(name, entry)
            return entry

        def decorator(obj: T) -> T:
            self._add(name, obj)
            return obj

        return decorator

    def _add(self, name: str, entry: T) -> None:
        if name in self._entries:
            raise ValueError(f"{self.param} {name!r} is already registered")
        self._entries[name] = entry

    def resolve(self, name: object) -> T:
        """The entry for ``name``, or a ValueError naming the argument and listing the allowed names."""
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(f"{self.param}={name!r} is not supported; expected one of {self.names()}")
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __getitem__(self, name: str) -> T:
        """The entry for ``name``; KeyError when there is none (the ``Mapping`` contract)."""
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.param!r}, {self.names()})"
