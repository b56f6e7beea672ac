"""Reading what the license figure is computed from: the current reports' users and the
enterprise's cloud accounts, as plain tuples (a cold start reads a million rows: ORM or
Core row objects would cost seconds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Report, ServerInstance
from services.cloud_api.domain.accounts.importing import UNVERIFIED, VERIFIED
from services.cloud_api.domain.licensing.rules import CloudIdentity


@dataclass(frozen=True, slots=True)
class InstanceKeys:
    """What the figure needs of one stored report: its accounts' e-mail keys, and the IDs
    of its accounts without an e-mail (each of those is a person of its own)."""

    report_id: str
    email_keys: list[str]
    no_email_ids: list[int]


@dataclass(frozen=True, slots=True)
class InstanceAccounts:
    """The users of one stored report, as parallel lists (for listings and explanations)."""

    report_id: str
    user_ids: list[int]
    email_keys: list[str | None]
    emails: list[str | None]

    def keys(self) -> InstanceKeys:
        if None not in self.email_keys:  # the usual case: share the list, copy nothing
            return InstanceKeys(self.report_id, cast("list[str]", self.email_keys), [])
        with_email = [key for key in self.email_keys if key is not None]
        no_email = [u for u, k in zip(self.user_ids, self.email_keys, strict=True) if k is None]
        return InstanceKeys(self.report_id, with_email, no_email)


@dataclass(frozen=True, slots=True)
class CurrentReport:
    instance_pk: int
    report_pk: int
    report_id: str


def current_reports(session: Session, enterprise_id: int) -> list[CurrentReport]:
    rows = session.execute(
        select(ServerInstance.id, Report.id, Report.report_id)
        .join(Report, Report.id == ServerInstance.current_report_pk)
        .where(ServerInstance.enterprise_id == enterprise_id)
        .order_by(ServerInstance.id)
    )
    return [CurrentReport(*row) for row in rows]


def raw_rows(session: Session, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Plain DBAPI tuples for bulk reads (``?`` placeholders): a million ORM or Core rows
    would cost seconds on a cold start."""
    connection = session.connection()
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


def load_instance_accounts(session: Session, report: CurrentReport) -> InstanceAccounts:
    rows = raw_rows(
        session,
        "SELECT user_id, email_key, email FROM server_users WHERE report_pk = ? ORDER BY user_id",
        report.report_pk,
    )
    return InstanceAccounts(
        report.report_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    )


_KEYS_TEXT_POSTGRES = (
    "SELECT string_agg(email_key, E'\\n') FROM server_users "
    "WHERE report_pk = ? AND email_key IS NOT NULL"
)
_KEYS_TEXT_SQLITE = (
    "SELECT group_concat(email_key, char(10)) FROM server_users "
    "WHERE report_pk = ? AND email_key IS NOT NULL"
)


def load_instance_keys(session: Session, report: CurrentReport) -> InstanceKeys:
    """Only what the figure needs: on a cold start this is a million rows. The keys come
    back as one line-separated text per report, split in C, rather than as a row object
    per user (a normalized key never holds a line break: white space is refused)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    (text,) = raw_rows(
        session,
        _KEYS_TEXT_POSTGRES if postgres else _KEYS_TEXT_SQLITE,
        report.report_pk,
    )[0]
    no_email = raw_rows(
        session,
        "SELECT user_id FROM server_users WHERE report_pk = ? AND email_key IS NULL",
        report.report_pk,
    )
    keys = text.split("\n") if text else []
    return InstanceKeys(report.report_id, keys, [r[0] for r in no_email])


def load_cloud_identities(session: Session, enterprise_id: int) -> list[CloudIdentity]:
    verified: dict[int, list[str]] = {}
    identity: dict[int, list[tuple[str, str]]] = {}
    key_rows = raw_rows(
        session,
        "SELECT account_id, kind, key FROM cloud_account_keys WHERE enterprise_id = ?",
        enterprise_id,
    )
    for account_id, kind, key in key_rows:
        if kind == VERIFIED:
            verified.setdefault(account_id, []).append(key)
        elif kind != UNVERIFIED:
            identity.setdefault(account_id, []).append((kind, key))
    accounts = raw_rows(
        session,
        "SELECT account_id, login, consuming FROM cloud_accounts WHERE enterprise_id = ? "
        "ORDER BY account_id",
        enterprise_id,
    )
    return [
        CloudIdentity(
            account_id,
            login,
            bool(consuming),
            tuple(sorted(verified.get(account_id, ()))),
            tuple(sorted(identity.get(account_id, ()))),
        )
        for account_id, login, consuming in accounts
    ]


_VERIFIED_KEYS = (
    # Highest account first, so that the lowest wins in the dict built from the rows, as in
    # Matcher (the import already refuses an address verified by two accounts).
    "SELECT key, account_id FROM cloud_account_keys WHERE enterprise_id = ? AND kind = ? "
    "ORDER BY account_id DESC"
)


def load_verified_owners(session: Session, enterprise_id: int) -> list[tuple[str, int]]:
    """``(verified e-mail key, account_id)``, the lowest account last for each key."""
    return [
        (key, account_id)
        for key, account_id in raw_rows(session, _VERIFIED_KEYS, enterprise_id, VERIFIED)
    ]


def load_consumption(session: Session, enterprise_id: int) -> list[tuple[int, bool]]:
    """``(account_id, consumes a license by itself)`` of every cloud account."""
    rows = raw_rows(
        session,
        "SELECT account_id, consuming FROM cloud_accounts WHERE enterprise_id = ?",
        enterprise_id,
    )
    return [(account_id, bool(consuming)) for account_id, consuming in rows]
