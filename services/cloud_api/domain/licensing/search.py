"""Searching a listing: which persons an owner means by a piece of a login, an address
or an ID. The texts are kept as one string per report and one per accounts version
(``lookup.SearchText``), scanned in C; matches map back to person keys."""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator
from typing import TYPE_CHECKING

from services.cloud_api.domain.licensing.cloud_reads import CloudReads
from services.cloud_api.domain.licensing.index import NO_EMAIL_PREFIX, cloud_key
from services.cloud_api.domain.licensing.lookup import SearchText

if TYPE_CHECKING:
    from services.cloud_api.domain.licensing.listing import Listing


class CloudText:
    """The cloud accounts' searchable texts: login, ID, verified e-mails and linked
    identity, a line each (read and built on the first search of an accounts version)."""

    def __init__(self) -> None:
        self._ids: array[int] = array("q")
        self._text: SearchText | None = None
        self._lock = threading.Lock()

    def find(self, needle: str, reads: CloudReads) -> Iterator[int]:
        """The IDs of the accounts ``needle`` finds."""
        with self._lock:
            if self._text is None:
                ids, records = array("q"), []
                for account_id, texts in reads.searchable():
                    ids.append(account_id)
                    records.append("".join(f"{text.casefold()}\n" for text in texts))
                self._ids, self._text = ids, SearchText.of_records(records)
            text, ids = self._text, self._ids
        return (ids[record] for record in text.find(needle))


def search_keys(listing: Listing, needle: str, reads: CloudReads) -> list[str]:
    """Unordered person keys of the listed persons that ``needle`` (casefolded) finds."""
    if "\n" in needle:  # the texts are lines: only a login could hold a line break
        keys = {cloud_key(i) for i, login in listing.logins.items() if needle in login.casefold()}
        return [key for key in keys if listing.listed(key)]
    found = {cloud_key(account_id) for account_id in listing.cloud_text.find(needle, reads)}
    found = {key for key in found if listing.listed(key)}
    resolved = listing.index.resolved
    overrides = listing.overrides
    for report in listing.reports:
        accounts = report.lookup.accounts
        linked = overrides.by_instance.get(report.instance_pk)
        for position in report.lookup.text().find(needle):
            key = accounts.email_keys[position]
            user_id = accounts.user_ids[position]
            # A link decides its account's person, whatever the address.
            by_link = overrides.key_of(report.instance_pk, user_id) if linked else None
            if by_link is not None:
                found.add(by_link)
            elif key is None:
                found.add(f"{NO_EMAIL_PREFIX}{report.instance_pk}:{user_id}")
            else:
                found.add(resolved.get(key, key))
    return list(found)
