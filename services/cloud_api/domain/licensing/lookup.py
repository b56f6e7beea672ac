"""Finding accounts in one stored report without a dictionary per account: positions
sorted by e-mail key (binary search, and walks in listing order), and the report's
searchable text as one string (``str.find`` runs in C over it).

Built on first use and kept with the report: a report never changes once stored.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import cast

from services.cloud_api.domain.licensing.loaders import InstanceAccounts
from services.cloud_api.domain.licensing.sizes import STR_OVERHEAD, container


class ReportLookup:
    def __init__(self, accounts: InstanceAccounts) -> None:
        self.accounts = accounts
        keys = accounts.email_keys
        # The list's own __getitem__: a C call per comparison, not a Python frame.
        key_of = cast("Callable[[int], str]", keys.__getitem__)
        if None in keys:
            with_key = [i for i, key in enumerate(keys) if key is not None]
            with_key.sort(key=key_of)
        else:
            with_key = sorted(range(len(keys)), key=key_of)
        self.by_key = array("I", with_key)
        """Positions of the accounts with an e-mail, by key (stable: then by user ID)."""
        self._key_of = key_of
        bare = [i for i, key in enumerate(keys) if key is None] if None in keys else []
        self.bare_ids = array("q", [accounts.user_ids[i] for i in bare])
        """User IDs of the accounts without an e-mail, ascending (users are in ID order)."""
        self.bare_positions = array("I", bare)
        self._text: SearchText | None = None
        self._lock = threading.Lock()

    def with_key(self, key: str) -> range:
        """Indexes into ``by_key`` of the accounts whose e-mail key is ``key``."""
        start = bisect_left(self.by_key, key, key=self._key_of)
        return range(start, bisect_right(self.by_key, key, lo=start, key=self._key_of))

    def from_key(self, key: str) -> int:
        """The index into ``by_key`` of the first account whose key is ``key`` or after."""
        return bisect_left(self.by_key, key, key=self._key_of)

    def after_key(self, key: str) -> int:
        """The index into ``by_key`` past the last account whose key is ``key`` or before."""
        return bisect_right(self.by_key, key, key=self._key_of)

    def bare(self, user_id: int) -> int | None:
        """The position of the account without an e-mail that has ``user_id``."""
        at = bisect_left(self.bare_ids, user_id)
        if at < len(self.bare_ids) and self.bare_ids[at] == user_id:
            return self.bare_positions[at]
        return None

    @property
    def searched(self) -> bool:
        return self._text is not None

    def text(self) -> SearchText:
        with self._lock:
            if self._text is None:
                self._text = SearchText.of_report(self.accounts)
            return self._text

    def size(self) -> int:
        text = self._text.size() if self._text is not None else 0
        return container(self.by_key) + container(self.bare_ids) * 2 + text


class SearchText:
    """Records of lower-cased searchable texts, one text a line, in one string; a match's
    position tells its record by binary search over where the records start."""

    def __init__(self, text: str, starts: array[int]) -> None:
        self.text = text
        self.starts = starts

    @classmethod
    def of_records(cls, records: list[str]) -> SearchText:
        """``records``: each one or more lines, each line ending in a line break."""
        # Offsets of 32 bits: a report's text stays far below 4 GB (500,000 users at 254
        # characters at most are 130 MB).
        starts = array("I", accumulate(map(len, records), initial=0))
        return cls("".join(records), starts)

    @classmethod
    def of_report(cls, accounts: InstanceAccounts) -> SearchText:
        records = [
            f"{'' if email is None else email.casefold()}\n{user_id}\n"
            for email, user_id in zip(accounts.emails, accounts.user_ids, strict=True)
        ]
        return cls.of_records(records)

    def find(self, needle: str) -> Iterator[int]:
        """The records that contain ``needle`` (lower-cased, without a line break) in one
        of their lines, each once, in order."""
        starts, find = self.starts, self.text.find
        at = find(needle)
        while at >= 0:
            record = bisect_right(starts, at) - 1
            yield record
            at = find(needle, starts[record + 1])

    def size(self) -> int:
        return STR_OVERHEAD + len(self.text) + container(self.starts)
