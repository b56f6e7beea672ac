"""The one bounded cache type of the license engine."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class SizedLru(Generic[K, V]):
    """Values by key, least recently used dropped first once their sizes add up to more
    than ``limit`` (the newest always stays). Not locked: the owner holds its lock."""

    def __init__(self, limit: int, size: Callable[[V], int]) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._limit = limit
        self._size = size
        self._total = 0

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self._total += self._size(value)
        while self._total > self._limit and len(self._items) > 1:
            _, evicted = self._items.popitem(last=False)
            self._total -= self._size(evicted)
