"""The estimated size of each kind of entry the license engine keeps (``sizes.py``).

Lazily built parts (a report's search text, the cloud accounts' one) are counted from the
start, so an entry never outgrows what the cache budgeted for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.cloud_api.domain.licensing.index import AccountsIndex
from services.cloud_api.domain.licensing.loaders import InstanceAccounts, InstanceKeys
from services.cloud_api.domain.licensing.logins import Logins
from services.cloud_api.domain.licensing.lookup import ReportLookup
from services.cloud_api.domain.licensing.sizes import (
    STR_OVERHEAD,
    container,
    containers,
    shared_strings,
    string_set,
    strings,
)

if TYPE_CHECKING:
    from services.cloud_api.domain.licensing.engine import FigureState
    from services.cloud_api.domain.licensing.listing import Listing

CLOUD_TEXT_PER = 80
"""Bytes of searchable text per cloud account: login, ID, addresses, ID and offset."""
IDENTITY = 400
"""A cloud identity with its tuples, and its entries in the matcher's dictionaries."""
ENTRY = 100
"""A dictionary entry with a small key and value."""
SEARCH_ID = 8 + 8
"""A user ID in search text (digits and a line break) and a record's offset."""


def accounts_size(accounts: InstanceAccounts) -> int:
    lists = containers(
        {id(c): c for c in (accounts.user_ids, accounts.email_keys, accounts.emails)}.values()
    )
    own_emails = shared_strings(accounts.emails, accounts.email_keys)
    return lists + strings(accounts.email_keys) + own_emails


def keys_size(keys: InstanceKeys) -> int:
    return container(keys.email_keys) + strings(keys.email_keys) + 40 * len(keys.no_email_ids)


def lookup_size(lookup: ReportLookup) -> int:
    emails = lookup.accounts.email_keys
    text = strings(emails) - STR_OVERHEAD * len(emails) + SEARCH_ID * len(emails)
    return lookup.size() + max(text, 0)


def index_size(index: AccountsIndex) -> int:
    resolved = container(index.resolved) + strings(index.resolved.keys())
    sets = string_set(index.consuming) + string_set(index.cloud_keys)
    identities = IDENTITY * len(index.identities) if index.identities is not None else 0
    return resolved + ENTRY * len(index.resolved) + sets + identities


def figure_size(state: FigureState) -> int:
    tally = state.tally
    if tally is None:
        return ENTRY
    sets = containers(tally.keys.values()) + container(tally.everyone)
    counts = ENTRY * (len(tally.shared) + len(tally.alone))
    # A key on several instances is counted in each (errs high, as estimates here do).
    return sets + sum(map(strings, tally.keys.values())) + counts


def listing_size(listing: Listing) -> int:
    from services.cloud_api.domain.licensing.listing import KEPT_SEARCH_KEYS, KEPT_SEARCHES

    searches = KEPT_SEARCHES * 8 * min(listing.total, KEPT_SEARCH_KEYS)
    return listing.roster.size() + searches + ENTRY * len(listing.reports)


def logins_size(logins: Logins) -> int:
    return ENTRY + logins.size()
