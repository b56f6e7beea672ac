"""The one bounded cache of the license engine: every kept structure, of every enterprise,
under one byte budget."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CacheStats:
    bytes: int
    """Estimated bytes held (``sizes.py``)."""
    limit: int
    entries: int
    evictions: int


class SizedLru:
    """Values by key, each with its estimated size in bytes; the least recently used are
    dropped first once the sizes add up to more than ``limit``. Not locked: the owner
    holds its lock."""

    def __init__(self, limit: int) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._limit = limit
        self._total = 0
        self._evictions = 0

    def get(self, key: Hashable) -> Any:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: object, size: int) -> None:
        """Keep ``value`` (replacing what ``key`` held). A value larger than the whole
        budget is not kept: computing it again is the price of the bound."""
        self.pop(key)
        if size > self._limit:
            self._evictions += 1
            return
        self._items[key] = (value, size)
        self._total += size
        while self._total > self._limit:
            _, (_, dropped) = self._items.popitem(last=False)
            self._total -= dropped
            self._evictions += 1

    def pop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._total -= item[1]

    def stats(self) -> CacheStats:
        return CacheStats(self._total, self._limit, len(self._items), self._evictions)
