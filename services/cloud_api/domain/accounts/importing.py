"""Replacing an enterprise's cloud accounts in bulk.

The body is parsed by orjson and validated by pydantic into plain dictionaries (no model
per account), and the rows go in by the driver's bulk path (COPY on PostgreSQL, one
executemany on SQLite): an import of a hundred thousand accounts costs about what parsing
and storing its rows must cost.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, delete
from sqlalchemy.orm import Session

from services.cloud_api.db.models import CloudAccount, CloudAccountKey, Enterprise
from services.cloud_api.domain.accounts.consumption import consumes_license
from services.cloud_api.domain.accounts.input import ACCOUNTS_IMPORT, CloudAccountInput
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.tenants.enterprises import touch_accounts
from shared import InvalidEmailError, normalize_email
from shared.report import describe_validation_error

VERIFIED = "verified_email"
UNVERIFIED = "unverified_email"
IDENTITY_KINDS = ("saml_name_id", "scim_username", "scim_email", "name_claim", "email_claim")
"""The linked identity's attributes kept as keys (``identity_keys``)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    accounts: int
    consuming: int
    verified: dict[str, int]
    """Verified e-mail key -> the account that verified it (one each: enforced)."""
    consumption: list[tuple[int, bool]]
    """``(account_id, consumes by itself)`` of every account."""


def parse_accounts(body: bytes) -> list[CloudAccountInput]:
    """Parsed and validated in one pass by pydantic's own JSON reader."""
    try:
        return ACCOUNTS_IMPORT.validate_json(body)["accounts"]
    except ValidationError as error:
        if error.errors()[0]["type"] == "json_invalid":
            raise InvalidInputError("body is not valid JSON") from None
        raise InvalidInputError(describe_validation_error(error)) from None


def replace_accounts(
    session: Session, enterprise: Enterprise, accounts: Sequence[CloudAccountInput]
) -> ImportResult:
    """Validate the whole import first, then swap it in: a refused import changes nothing."""
    keys, verified = _account_keys(accounts)
    consumption = [(account["id"], consumes_license(account)) for account in accounts]
    enterprise_id = enterprise.id  # an ORM attribute: read once, not per row
    rows = [
        (
            enterprise_id,
            account["id"],
            account["login"],
            consuming,
            account.get("advanced_security_committer", False),
            orjson.dumps(account).decode(),
        )
        for account, (_, consuming) in zip(accounts, consumption, strict=True)
    ]
    session.execute(delete(CloudAccountKey).where(CloudAccountKey.enterprise_id == enterprise.id))
    session.execute(delete(CloudAccount).where(CloudAccount.enterprise_id == enterprise.id))
    connection = session.connection()
    columns = (
        "enterprise_id",
        "account_id",
        "login",
        "consuming",
        "advanced_security_committer",
        "details",
    )
    bulk_insert(connection, "cloud_accounts", columns, rows)
    key_rows = ((enterprise_id, kind, key, account_id) for kind, key, account_id in keys)
    bulk_insert(
        connection, "cloud_account_keys", ("enterprise_id", "kind", "key", "account_id"), key_rows
    )
    if connection.dialect.name == "postgresql":
        # Fresh statistics for the planner, committed with the rows: with the ones from
        # before a bulk import, it read a piece of accounts by their keys with a scan of
        # the whole enterprise (the CSV's cloud rows took three times as long) until
        # autovacuum came by. ANALYZE counts this transaction's own rows.
        connection.exec_driver_sql("ANALYZE cloud_accounts, cloud_account_keys")
    touch_accounts(enterprise)
    consuming = sum(1 for _, flag in consumption if flag)
    return ImportResult(len(rows), consuming, verified, consumption)


def bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """The database's bulk path: COPY on PostgreSQL, one executemany on SQLite."""
    raw: Any = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 (names only)


def _account_keys(
    accounts: Sequence[CloudAccountInput],
) -> tuple[set[tuple[str, str, int]], dict[str, int]]:
    """Every address an account answers to, as ``(kind, key, account_id)``, and who
    verified each verified one. Whole-list checks in comprehensions first; the first
    failure goes through :func:`_explained_keys`, which names the first bad account."""
    ids = [account["id"] for account in accounts]
    logins = {account["login"].lower() for account in accounts}
    owners = [account["id"] for account in accounts for _ in account.get("emails", ())]
    entries = [entry for account in accounts for entry in account.get("emails", ())]
    try:
        if len(set(ids)) != len(ids) or len(logins) != len(ids):
            raise ValueError
        keys = list(map(normalize_email, [entry["email"] for entry in entries]))
    except (ValueError, InvalidEmailError):
        return _explained_keys(accounts)
    flags = [entry["verified"] for entry in entries]
    pairs = {(key, owner) for key, owner, flag in zip(keys, owners, flags, strict=True) if flag}
    verified = dict(pairs)
    if len(verified) != len(pairs):  # an address verified by two accounts
        return _explained_keys(accounts)
    found = {
        (VERIFIED if flag else UNVERIFIED, key, owner)
        for key, owner, flag in zip(keys, owners, flags, strict=True)
    }
    for account in accounts:
        if account.get("saml_identity") is not None:
            found.update((kind, key, account["id"]) for kind, key in identity_keys(account))
    return found, verified


def _explained_keys(
    accounts: Sequence[CloudAccountInput],
) -> tuple[set[tuple[str, str, int]], dict[str, int]]:
    """:func:`_account_keys` account by account: raises naming the first problem."""
    seen_ids: set[int] = set()
    seen_logins: dict[str, int] = {}
    verified_owner: dict[str, int] = {}
    keys: set[tuple[str, str, int]] = set()
    for index, account in enumerate(accounts):
        account_id = account["id"]
        if account_id in seen_ids:
            raise InvalidInputError(f"accounts[{index}].id: duplicate account id {account_id}")
        seen_ids.add(account_id)
        other = seen_logins.setdefault(account["login"].lower(), account_id)
        if other != account_id:
            raise InvalidInputError(
                f"accounts[{index}].login: login {account['login']!r} is also account {other}"
            )
        for position, entry in enumerate(account.get("emails", ())):
            where = f"accounts[{index}].emails[{position}].email"
            key = _email_key(entry["email"], where)
            if entry["verified"]:
                owner = verified_owner.setdefault(key, account_id)
                if owner != account_id:
                    raise InvalidInputError(
                        f"{where}: a verified e-mail belongs to one account only, and this "
                        f"one is already verified on account {owner}",
                        code="verified_email_conflict",
                    )
            keys.add((VERIFIED if entry["verified"] else UNVERIFIED, key, account_id))
        keys.update((kind, key, account_id) for kind, key in identity_keys(account))
    return keys, verified_owner


def identity_keys(account: CloudAccountInput) -> Iterator[tuple[str, str]]:
    """The linked identity attributes that are e-mail addresses, normalized. Others (a
    NameID such as ``monalisa``) can never equal a GHES primary e-mail, so they are not kept."""
    identity = account.get("saml_identity")
    if identity is None:
        return
    name_id, username, scim_email, name_claim, email_claim = IDENTITY_KINDS
    values = [
        (name_id, identity.get("name_id")),
        (username, identity.get("username")),
        *((scim_email, email) for email in identity.get("emails", ())),
        (name_claim, identity.get("name_claim")),
        (email_claim, identity.get("emailaddress_claim")),
    ]
    for attribute, value in values:
        if value:
            try:
                yield attribute, normalize_email(value)
            except InvalidEmailError:
                continue


def _email_key(email: str, where: str) -> str:
    try:
        return normalize_email(email)
    except InvalidEmailError as error:
        raise InvalidInputError(f"{where}: not a valid e-mail address: {error}") from None
