"""Reading what the license figure is computed from: the current reports' users and the
enterprise's cloud accounts, as plain tuples (a cold start reads a million rows: ORM or
Core row objects would cost seconds)."""

from __future__ import annotations

import operator
from array import array
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, cast

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Report, ServerInstance
from services.cloud_api.domain.accounts.importing import UNVERIFIED, VERIFIED
from services.cloud_api.domain.licensing.rules import CloudIdentity, Subscriber


@dataclass(frozen=True, slots=True)
class InstanceKeys:
    """What the figure needs of one stored report: its accounts' e-mail keys, and the IDs
    of its accounts without an e-mail (each of those is a person of its own)."""

    report_id: str
    email_keys: list[str]
    no_email_ids: list[int]


@dataclass(frozen=True, slots=True)
class InstanceAccounts:
    """The users of one stored report, as parallel sequences (for listings and
    explanations), kept compact: the IDs in an array, an address equal to its key the
    same string object as the key."""

    report_id: str
    user_ids: Sequence[int]
    email_keys: list[str | None]
    emails: list[str | None]

    @classmethod
    def compact(
        cls,
        report_id: str,
        user_ids: Sequence[int],
        email_keys: list[str | None],
        emails: Sequence[str | None],
    ) -> InstanceAccounts:
        shared = [k if e == k else e for e, k in zip(emails, email_keys, strict=True)]
        if all(map(operator.is_, shared, email_keys)):  # the usual case: one list for both
            shared = email_keys
        return cls(report_id, array("q", user_ids), email_keys, shared)

    def in_user_order(self) -> InstanceAccounts:
        """The same users in user ID order, as they are read back from the database (a
        pushed report may list them in any order)."""
        ids = self.user_ids
        if all(a < b for a, b in zip(ids, islice(ids, 1, None), strict=False)):
            return self
        order = sorted(range(len(ids)), key=ids.__getitem__)
        keys = [self.email_keys[i] for i in order]
        emails = keys if self.emails is self.email_keys else [self.emails[i] for i in order]
        return InstanceAccounts(self.report_id, array("q", [ids[i] for i in order]), keys, emails)

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
    user_count: int | None = None


def current_reports(session: Session, enterprise_id: int) -> list[CurrentReport]:
    rows = session.execute(
        select(ServerInstance.id, Report.id, Report.report_id, Report.user_count)
        .join(Report, Report.id == ServerInstance.current_report_pk)
        .where(ServerInstance.enterprise_id == enterprise_id)
        .order_by(ServerInstance.id)
    )
    return [CurrentReport(*row) for row in rows]


Reader = Session | Connection
"""A session, or a connection of its own (``KeysAhead``)."""


def raw_rows(reader: Reader, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Plain DBAPI tuples for bulk reads (``?`` placeholders): a million ORM or Core rows
    would cost seconds on a cold start."""
    connection = reader.connection() if isinstance(reader, Session) else reader
    if connection.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
    finally:
        cursor.close()
    return rows


# Most addresses are stored exactly as their key: only the others are read.
_OWN_EMAILS = "SELECT user_id, email FROM server_users WHERE report_pk = ? AND email <> email_key"


def load_instance_accounts(
    session: Session, report: CurrentReport, keys: InstanceKeys
) -> InstanceAccounts:
    """The report's users in user ID order, their e-mail keys the very strings of ``keys``
    (which the figure's person keys already hold: one copy of each address in memory).
    The IDs come as one text split in C, not as a row object per user."""
    (text,) = aggregated(
        session,
        [("CAST(user_id AS TEXT)", ",", None)],
        "server_users WHERE report_pk = ?",
        "user_id: user_id",
        report.report_pk,
    )
    ids = array("q", map(int, text.split(","))) if text else array("q")
    if keys.no_email_ids:
        bare = set(keys.no_email_ids)
        next_key = iter(keys.email_keys).__next__
        email_keys: list[str | None] = [None if u in bare else next_key() for u in ids]
    else:
        email_keys = cast("list[str | None]", keys.email_keys)  # shared, not copied
    own = raw_rows(session, _OWN_EMAILS, report.report_pk)
    emails = list(email_keys) if own else email_keys  # the usual case: one list for both
    for user_id, email in own:
        emails[bisect_left(ids, user_id)] = email
    return InstanceAccounts(report.report_id, ids, email_keys, emails)


# In user ID order (the primary key's), as load_instance_accounts reads the users.
Part = tuple[str, str, str | None]
"""An aggregated column: an SQL expression giving text, the separator, and a condition
the rows it takes must meet (or None)."""
_SEPARATORS = {"\n": ("E'\\n'", "char(10)"), ",": ("','", "','"), "": ("''", "''")}


def aggregated(
    session: Reader, parts: Sequence[Part], source: str, order: str, *params: object
) -> list[str]:
    """``SELECT ... FROM source`` with each part's rows aggregated by the database into
    one text, in ``order``: a hundred thousand values split in C, not a row object each.
    ``source`` is ``table WHERE ...``; ``order`` is ``columns: ordering`` (the columns
    the parts use, and the order the rows come in).

    The rows come from an ordered subquery and are aggregated as they come, with no join
    or grouping between them and the aggregates that could reorder them (PostgreSQL's
    documentation on aggregate functions: "supplying the input values from a sorted
    subquery will usually work", failing where the outer query joins). All the parts see
    the one stream of rows, so parts pair up value by value. An ``ORDER BY`` inside each
    aggregate sorted a report's 100,000 rows again on PostgreSQL 15 where the primary
    key's index scan already gives them in order: 47 ms a report instead of 26 ms.
    """
    used, _, order = order.partition(": ")
    postgres = _dialect(session) == "postgresql"
    columns = []
    for expression, separator, condition in parts:
        glue = _SEPARATORS[separator][0 if postgres else 1]
        where = f" FILTER (WHERE {condition})" if condition else ""
        function = "string_agg" if postgres else "group_concat"
        columns.append(f"{function}({expression}, {glue}){where}")
    selected = ", ".join(columns)
    sql = f"SELECT {selected} FROM (SELECT {used} FROM {source} ORDER BY {order}) AS ordered"  # noqa: S608 (constant text of callers)
    (row,) = raw_rows(session, sql, *params)
    return [text or "" for text in row]


def _dialect(reader: Reader) -> str:
    return reader.get_bind().dialect.name if isinstance(reader, Session) else reader.dialect.name


def load_instance_keys(session: Reader, report: CurrentReport) -> InstanceKeys:
    """Only what the figure needs: on a cold start this is a million rows. The keys come
    back as one line-separated text per report (a normalized key never holds a line
    break: white space is refused), in user ID order as load_instance_accounts reads."""
    keys, bare = aggregated(
        session,
        [
            ("email_key", "\n", "email_key IS NOT NULL"),
            ("CAST(user_id AS TEXT)", ",", "email_key IS NULL"),
        ],
        "server_users WHERE report_pk = ?",
        "user_id, email_key: user_id",
        report.report_pk,
    )
    no_email = list(map(int, bare.split(","))) if bare else []
    return InstanceKeys(report.report_id, keys.split("\n") if keys else [], no_email)


def json_rows(
    session: Session, columns: str, source: str, order: str, *params: object
) -> list[list[Any]]:
    """``SELECT columns FROM source ORDER BY order`` aggregated by the database into one
    JSON text and parsed by orjson: a hundred thousand rows without a row object each."""
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            f"SELECT CAST(COALESCE(json_agg(json_build_array({columns}) ORDER BY {order}), "  # noqa: S608 (constant text of callers)
            f"'[]') AS TEXT) FROM {source}"
        )
    else:
        sql = (
            f"SELECT json_group_array(json_array({columns})) FROM "  # noqa: S608 (constant text of callers)
            f"(SELECT {columns} FROM {source} ORDER BY {order})"
        )
    ((text,),) = raw_rows(session, sql, *params)
    rows: list[list[Any]] = orjson.loads(text)
    return rows


def load_cloud_identities(session: Session, enterprise_id: int) -> list[CloudIdentity]:
    verified: dict[int, list[str]] = {}
    identity: dict[int, list[tuple[str, str]]] = {}
    where = "cloud_account_keys WHERE enterprise_id = ?"
    for account_id, kind, key in json_rows(
        session, "account_id, kind, key", where, "key", enterprise_id
    ):
        if kind == VERIFIED:
            verified.setdefault(account_id, []).append(key)
        elif kind != UNVERIFIED:
            identity.setdefault(account_id, []).append((kind, key))
    accounts = json_rows(
        session,
        "account_id, login, consuming",
        "cloud_accounts WHERE enterprise_id = ?",
        "account_id",
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


def load_verified_owners(session: Session, enterprise_id: int) -> list[tuple[str, int]]:
    """``(verified e-mail key, account_id)``, the lowest account last for each key
    (highest first, so that the lowest wins in a dict built from them, as in Matcher; the
    import already refuses an address verified by two accounts)."""
    keys, ids = aggregated(
        session,
        [("key", "\n", None), ("CAST(account_id AS TEXT)", ",", None)],
        "cloud_account_keys WHERE enterprise_id = ? AND kind = ?",
        "key, account_id: account_id DESC",
        enterprise_id,
        VERIFIED,
    )
    if not keys:
        return []
    return list(zip(keys.split("\n"), map(int, ids.split(",")), strict=True))


def load_consumption(session: Session, enterprise_id: int) -> list[tuple[int, bool]]:
    """``(account_id, consumes a license by itself)`` of every cloud account."""
    ids, flags = aggregated(
        session,
        [
            ("CAST(account_id AS TEXT)", ",", None),
            ("CASE WHEN consuming THEN '1' ELSE '0' END", "", None),
        ],
        "cloud_accounts WHERE enterprise_id = ?",
        "account_id, consuming: account_id",
        enterprise_id,
    )
    if not ids:
        return []
    return list(zip(map(int, ids.split(",")), map("1".__eq__, flags), strict=True))


_LINKED_ACCOUNTS = (
    "SELECT u.user_id, u.email_key, l.cloud_account_id FROM identity_links l "
    "JOIN server_instances i ON i.enterprise_id = l.enterprise_id AND i.server_id = l.server_id "
    "JOIN server_users u ON u.report_pk = ? AND u.user_id = l.user_id "
    "WHERE i.id = ? ORDER BY u.user_id"
)


def load_linked_accounts(
    session: Session, report: CurrentReport
) -> list[tuple[int, str | None, int | None]]:
    """The accounts of ``report`` that an identity link names: (user ID, e-mail key, the
    cloud account joined to or None when kept separate). Links name the instance by its
    server_id, so they apply to whichever report it sends."""
    return [
        (user_id, email_key, target)
        for user_id, email_key, target in raw_rows(
            session, _LINKED_ACCOUNTS, report.report_pk, report.instance_pk
        )
    ]


def has_links(session: Session, enterprise_id: int) -> bool:
    rows = raw_rows(
        session, "SELECT 1 FROM identity_links WHERE enterprise_id = ? LIMIT 1", enterprise_id
    )
    return bool(rows)


def load_links(session: Session, enterprise_id: int) -> dict[tuple[int, int], int | None]:
    """Every identity link of a connected instance: (instance, GHES user ID) -> the cloud
    account joined to, or None when kept separate (``rules.Links``)."""
    rows = raw_rows(
        session,
        "SELECT i.id, l.user_id, l.cloud_account_id FROM identity_links l "
        "JOIN server_instances i ON i.enterprise_id = l.enterprise_id "
        "AND i.server_id = l.server_id WHERE l.enterprise_id = ?",
        enterprise_id,
    )
    return {(instance_pk, user_id): target for instance_pk, user_id, target in rows}


def load_subscribers(session: Session, enterprise_id: int) -> list[Subscriber]:
    rows = raw_rows(
        session,
        "SELECT upn_key, upn, subscription FROM visual_studio_subscribers "
        "WHERE enterprise_id = ? ORDER BY upn_key",
        enterprise_id,
    )
    return [Subscriber(upn_key, upn, subscription) for upn_key, upn, subscription in rows]
