"""Named registries: the one place that lists the strategies, datasets and studies.

The module that defines a thing registers it (fast-reid's registry, timm's `register_model`):

    STRATEGIES = Registry("method")

    @STRATEGIES.register("lwf")
    class LwfStrategy(Strategy): ...

Every list a user sees (CLI choices, report labels, the schema enums checked by a test) is read
from a registry, and an unknown name is refused in one line that lists the registered names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from reid.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object mapping filled by decorators; `get` refuses unknown names clearly."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering its target under `name` (a second registration is an error)."""

        def add(obj: T) -> T:
            self.add(name, obj)
            return obj

        return add

    def add(self, name: str, obj: T) -> None:
        """Register `obj` under `name`."""
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """The object registered as `name`, or a ConfigError listing every registered name."""
        if name not in self._items:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; registered {self.kind} names: "
                f"{', '.join(self.names())}"
            )
        return self._items[name]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(name, object) pairs in registration order."""
        return list(self._items.items())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
