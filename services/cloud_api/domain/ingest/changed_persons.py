"""The persons behind changed person keys, with their accounts and why they changed.

A key is a cloud account (``\\tc<id>``), a GHES primary e-mail no cloud account answers
to, or a GHES account without an e-mail (``\\tg<instance>:<user id>``); see
``licensing/index.py``. The accounts are copied into the change when it happens: the
report they came from is replaced a week later and the cloud accounts by the next import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import is_
from typing import cast

from sqlalchemy.orm import Session

from services.cloud_api.domain.ingest.history_points import ChangedPerson, Reason
from services.cloud_api.domain.licensing.index import (
    CLOUD_PREFIX,
    NO_EMAIL_PREFIX,
    AccountsIndex,
    cloud_key,
)
from services.cloud_api.domain.licensing.loaders import InstanceAccounts, raw_rows
from services.cloud_api.domain.licensing.transitions import KeyChanges

CloudInfo = Mapping[int, tuple[str, bool]]
"""Cloud account ID -> (login, consumes by itself)."""
ServerAccountAt = tuple[int, int, str | None]
"""A GHES account: (instance, user ID, e-mail as reported)."""


@dataclass(frozen=True, slots=True)
class Where:
    """An instance as a changed person's accounts name it."""

    instance_pk: int
    server_id: str | None
    hostname: str


@dataclass(frozen=True, slots=True)
class Holder:
    where: Where
    accounts: InstanceAccounts
    links: Mapping[int, int | None] = field(default_factory=dict)
    """The identity links naming its accounts: user ID -> cloud account, None: separate."""


def cloud_id(key: str) -> int | None:
    return int(key[len(CLOUD_PREFIX) :]) if key.startswith(CLOUD_PREFIX) else None


def person_key(
    instance_pk: int,
    user_id: int,
    email_key: str | None,
    index: AccountsIndex,
    links: Mapping[int, int | None] | None = None,
) -> str:
    """``links``: the instance's identity links (user ID -> cloud account, None: kept
    separate); one naming a cloud account that is gone is not applied."""
    if links and user_id in links:
        target = links[user_id]
        if target is None:
            return f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}"
        if cloud_key(target) in index.cloud_keys:
            return cloud_key(target)
    if email_key is None:
        return f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}"
    return index.resolved.get(email_key, email_key)


def server_accounts_of(
    keys: AbstractSet[str], holders: Iterable[Holder], index: AccountsIndex
) -> dict[str, list[ServerAccountAt]]:
    """The GHES accounts of each of ``keys`` among ``holders``. The users that can be
    among them are picked out first with C loops (a report's few changes should not cost
    a Python step per user)."""
    found: dict[str, list[ServerAccountAt]] = {}
    if not keys:
        return found
    resolved = index.resolved
    # Set operations, not a pass over the keys in Python: a first report changes 100,000.
    # The keys of accounts without an e-mail stay among the addresses, where they match
    # nothing (an e-mail key never holds a tab).
    clouds = keys & index.cloud_keys
    addresses = set(keys) - clouds
    if clouds:
        addresses.update(address for address, owner in resolved.items() if owner in clouds)
    for holder in holders:
        where, accounts = holder.where, holder.accounts
        user_ids, email_keys, emails = accounts.user_ids, accounts.email_keys, accounts.emails
        positions = range(len(user_ids))
        picked = list(compress(positions, map(addresses.__contains__, email_keys)))
        prefix = f"{NO_EMAIL_PREFIX}{where.instance_pk}:"
        bare = compress(user_ids, map(is_, email_keys, repeat(None)))
        no_email = {user_id for user_id in bare if f"{prefix}{user_id}" in keys}
        if holder.links:
            linked = no_email | holder.links.keys()
            picked += compress(positions, map(linked.__contains__, user_ids))
            _add_linked(found, keys, sorted(set(picked)), holder, index)
            continue
        # A first report picks every one of its users: its keys are made with map() over
        # C functions, and only the grouping by person is a Python step per user.
        picked_keys = cast("list[str]", [email_keys[p] for p in picked])  # each in addresses
        person_of = list(map(resolved.get, picked_keys, picked_keys))
        rows = zip(
            person_of,
            map(user_ids.__getitem__, picked),
            map(emails.__getitem__, picked),
            strict=True,
        )
        instance_pk, add = where.instance_pk, found.setdefault
        for key, user_id, email in compress(rows, map(keys.__contains__, person_of)):
            add(key, []).append((instance_pk, user_id, email))
        matches = compress(positions, map(no_email.__contains__, user_ids)) if no_email else ()
        for position in matches:
            user_id = user_ids[position]  # one without an e-mail: no_email holds only those
            add(f"{prefix}{user_id}", []).append((instance_pk, user_id, emails[position]))
    return found


def _add_linked(
    found: dict[str, list[ServerAccountAt]],
    keys: AbstractSet[str],
    positions: list[int],
    holder: Holder,
    index: AccountsIndex,
) -> None:
    """The accounts at ``positions`` of an instance with identity links, key by key."""
    accounts, instance_pk = holder.accounts, holder.where.instance_pk
    for position in positions:
        user_id = accounts.user_ids[position]
        key = person_key(instance_pk, user_id, accounts.email_keys[position], index, holder.links)
        if key in keys:
            found.setdefault(key, []).append((instance_pk, user_id, accounts.emails[position]))


def load_cloud_info(
    session: Session, enterprise_id: int, keys: Iterable[str]
) -> dict[int, tuple[str, bool]]:
    """Login and consumption of the cloud accounts among ``keys`` (as stored now)."""
    # Inline, not cloud_id() per key: a first report passes 100,000 keys, none of a cloud account.
    prefix = len(CLOUD_PREFIX)
    ids = sorted({int(key[prefix:]) for key in keys if key.startswith(CLOUD_PREFIX)})
    info: dict[int, tuple[str, bool]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = raw_rows(
            session,
            "SELECT account_id, login, consuming FROM cloud_accounts "  # noqa: S608 (marks only)
            f"WHERE enterprise_id = ? AND account_id IN ({marks})",
            enterprise_id,
            *chunk,
        )
        info.update({account_id: (login, bool(consuming)) for account_id, login, consuming in rows})
    return info


def changed_persons(
    changes: KeyChanges,
    reasons: Mapping[str, Reason],
    started: tuple[Mapping[str, list[ServerAccountAt]], CloudInfo],
    stopped: tuple[Mapping[str, list[ServerAccountAt]], CloudInfo],
) -> list[ChangedPerson]:
    """Each started person with its accounts after the change, each stopped one with its
    accounts before it: ``(GHES accounts by key, cloud accounts)`` of each side."""
    (server_after, cloud_after), (server_before, cloud_before) = started, stopped
    return _persons(changes.started, 1, reasons, server_after, cloud_after) + _persons(
        changes.stopped, -1, reasons, server_before, cloud_before
    )


def _persons(
    keys: Iterable[str],
    delta: int,
    reasons: Mapping[str, Reason],
    server: Mapping[str, list[ServerAccountAt]],
    cloud: CloudInfo,
) -> list[ChangedPerson]:
    """One short Python step per person: an accounts import starts 100,000 at once."""
    persons: list[ChangedPerson] = []
    append = persons.append
    accounts_of = server.get
    prefix = len(CLOUD_PREFIX)
    for key in keys:
        cloud_account = None
        if key.startswith(CLOUD_PREFIX):
            account_id = int(key[prefix:])
            found = cloud.get(account_id)
            login, consuming = found if found is not None else (f"#{account_id}", False)
            cloud_account = (account_id, login, consuming)
        append(ChangedPerson(key, delta, reasons[key], cloud_account, accounts_of(key) or []))
    return persons
