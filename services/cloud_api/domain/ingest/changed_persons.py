"""The persons behind changed person keys, with their accounts and why they changed.

A key is a cloud account (``\\tc<id>``), a GHES primary e-mail no cloud account answers
to, or a GHES account without an e-mail (``\\tg<instance>:<user id>``); see
``licensing/index.py``. The accounts are copied into the change when it happens: the
report they came from is replaced a week later and the cloud accounts by the next import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.cloud_api.domain.ingest.history_points import ChangedPerson, Reason
from services.cloud_api.domain.licensing.index import (
    CLOUD_PREFIX,
    NO_EMAIL_PREFIX,
    AccountsIndex,
)
from services.cloud_api.domain.licensing.loaders import InstanceAccounts, raw_rows
from services.cloud_api.domain.licensing.transitions import KeyChanges

CloudInfo = Mapping[int, tuple[str, bool]]
"""Cloud account ID -> (login, consumes by itself)."""


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


def cloud_id(key: str) -> int | None:
    return int(key[len(CLOUD_PREFIX) :]) if key.startswith(CLOUD_PREFIX) else None


def person_key(instance_pk: int, user_id: int, email_key: str | None, index: AccountsIndex) -> str:
    if email_key is None:
        return f"{NO_EMAIL_PREFIX}{instance_pk}:{user_id}"
    return index.resolved.get(email_key, email_key)


def server_accounts_of(
    keys: AbstractSet[str], holders: Iterable[Holder], index: AccountsIndex
) -> dict[str, list[dict[str, Any]]]:
    """The GHES accounts of each of ``keys`` among ``holders`` (one pass over their users;
    callers pass only the instances that hold some of the keys)."""
    found: dict[str, list[dict[str, Any]]] = {}
    if not keys:
        return found
    resolved = index.resolved
    for holder in holders:
        where, accounts = holder.where, holder.accounts
        for user_id, email_key, email in zip(
            accounts.user_ids, accounts.email_keys, accounts.emails, strict=True
        ):
            if email_key is None:
                key = f"{NO_EMAIL_PREFIX}{where.instance_pk}:{user_id}"
            else:
                key = resolved.get(email_key, email_key)
            if key in keys:
                found.setdefault(key, []).append(
                    {
                        "server_id": where.server_id,
                        "hostname": where.hostname,
                        "user_id": user_id,
                        "email": email,
                    }
                )
    return found


def load_cloud_info(
    session: Session, enterprise_id: int, keys: Iterable[str]
) -> dict[int, tuple[str, bool]]:
    """Login and consumption of the cloud accounts among ``keys`` (as stored now)."""
    ids = sorted({i for i in map(cloud_id, keys) if i is not None})
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


def changed_person(
    key: str,
    delta: int,
    reason: Reason,
    server: list[dict[str, Any]],
    cloud: CloudInfo,
) -> ChangedPerson:
    account_id = cloud_id(key)
    cloud_account = None
    if account_id is not None:
        login, consuming = cloud.get(account_id, (f"#{account_id}", False))
        cloud_account = {"id": account_id, "login": login, "consuming": consuming}
        sort_key = f"0{login.lower()}\t{account_id:020d}"
    elif key.startswith(NO_EMAIL_PREFIX):
        instance, _, user_id = key[len(NO_EMAIL_PREFIX) :].partition(":")
        sort_key = f"2{int(instance):012d}:{int(user_id):020d}"
    else:
        sort_key = f"1{key}"
    accounts = {"cloud_account": cloud_account, "server_accounts": server}
    return ChangedPerson(key, delta, reason, sort_key, accounts)


def changed_persons(
    changes: KeyChanges,
    reasons: Mapping[str, Reason],
    started: tuple[Mapping[str, list[dict[str, Any]]], CloudInfo],
    stopped: tuple[Mapping[str, list[dict[str, Any]]], CloudInfo],
) -> list[ChangedPerson]:
    """Each started person with its accounts after the change, each stopped one with its
    accounts before it: ``(GHES accounts by key, cloud accounts)`` of each side."""
    (server_after, cloud_after), (server_before, cloud_before) = started, stopped
    persons = [
        changed_person(key, 1, reasons[key], server_after.get(key, []), cloud_after)
        for key in changes.started
    ]
    persons += [
        changed_person(key, -1, reasons[key], server_before.get(key, []), cloud_before)
        for key in changes.stopped
    ]
    return persons
