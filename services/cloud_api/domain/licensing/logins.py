"""Every cloud account's login by account ID, as listings sort cloud persons by it: two
arrays and one text rather than a dictionary of strings. At 100,000 accounts the
dictionary and its strings held 11 MB; this holds about 2.5 MB."""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import accumulate, chain
from operator import itemgetter
from typing import Any


class Logins(Mapping[int, str]):
    """Read-only; a lookup is a binary search over the IDs and a slice of the text."""

    __slots__ = ("_ends", "_ids", "_text")

    def __init__(self, pairs: Iterable[Sequence[Any]]) -> None:
        """``pairs``: ``(account ID, login)``, each ID once; read in ID order, as the
        database hands them, they are not sorted again."""
        rows = list(pairs)
        ids = [row[0] for row in rows]
        if ids != sorted(ids):  # linear for IDs in order (C)
            rows.sort(key=itemgetter(0))
            ids = [row[0] for row in rows]
        logins = [row[1] for row in rows]
        self._ids = array("q", ids)
        self._ends = array("L", accumulate(map(len, logins)))
        self._text = "".join(logins)

    def to_dict(self) -> dict[int, str]:
        """Every login by ID as a dictionary, for a caller about to look up most of them
        (sorting a whole listing): 100,000 slices at once, dropped after."""
        text, ends = self._text, self._ends
        spans = map(slice, chain((0,), ends), ends)
        return dict(zip(self._ids, map(text.__getitem__, spans), strict=True))

    def __getitem__(self, account_id: int) -> str:
        ids = self._ids
        at = bisect_left(ids, account_id)
        if at == len(ids) or ids[at] != account_id:
            raise KeyError(account_id)
        return self._text[self._ends[at - 1] if at else 0 : self._ends[at]]

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def size(self) -> int:
        """Bytes held (the arrays and the text)."""
        return sys.getsizeof(self._ids) + sys.getsizeof(self._ends) + sys.getsizeof(self._text)
