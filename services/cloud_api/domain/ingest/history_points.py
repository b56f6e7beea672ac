"""History points: every change of what the figure is computed from (an applied report,
an accounts import, SAML switched, an instance disconnected) is one point, with the figure
right after it and the persons who started or stopped consuming at it.

Every writer that can move the figure takes the enterprise's row lock first
(:func:`lock_enterprise`), computes the state before and after its change, and records one
point. Points are therefore written one at a time per enterprise, each against the state
the previous one left, which is what lets the changes between any two points add up to
the difference of their totals.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, HistoryPoint
from services.cloud_api.domain.licensing.index import CLOUD_PREFIX, NO_EMAIL_PREFIX
from services.cloud_api.domain.tenants.enterprises import touch
from services.common.clock import as_utc, utcnow


class Cause(enum.StrEnum):
    REPORT = "report"
    ACCOUNTS_IMPORT = "accounts_import"
    SAML_CHANGED = "saml_changed"
    INSTANCE_DISCONNECTED = "instance_disconnected"
    IDENTITY_LINK_CREATED = "identity_link_created"
    IDENTITY_LINK_DELETED = "identity_link_deleted"
    VISUAL_STUDIO_IMPORT = "visual_studio_import"


class Reason(enum.StrEnum):
    """Why one person started or stopped consuming, in a word (SPEC 7.2)."""

    SERVER_ACCOUNT_ADDED = "server_account_added"
    SERVER_ACCOUNT_REMOVED = "server_account_removed"
    CLOUD_ACCOUNT_ADDED = "cloud_account_added"
    CLOUD_ACCOUNT_REMOVED = "cloud_account_removed"
    ACCOUNTS_MERGED = "accounts_merged"
    ACCOUNTS_SPLIT = "accounts_split"
    AFFILIATION_CHANGED = "affiliation_changed"
    INSTANCE_DISCONNECTED = "instance_disconnected"
    SUBSCRIPTION_ADDED = "subscription_added"
    """A Visual Studio subscriber was matched to a cloud account consuming nothing else."""
    SUBSCRIPTION_REMOVED = "subscription_removed"
    EMAIL_CHANGED = "email_changed"
    """A GHES account's primary e-mail changed and it is another person now, not merged
    into or split from anyone: the old person stops and the new one starts."""


@dataclass(slots=True)  # not frozen: a frozen init costs three times as much, 100,000 at once
class ChangedPerson:
    key: str
    """The person key (``licensing/index.py``)."""
    delta: int
    """+1 started consuming, -1 stopped."""
    reason: Reason
    cloud: tuple[int, str, bool] | None
    """Its cloud account as it was at the change: (ID, login, consumes by itself)."""
    server: list[tuple[int, int, str | None]]
    """Its GHES accounts at the change: (instance, user ID, e-mail)."""


@dataclass(frozen=True, slots=True)
class PointSubject:
    """What a point is about, for the history entry; ``instances`` names every instance
    the changed persons' GHES accounts are on: instance -> (server_id, hostname)."""

    report_pk: int | None = None
    server_id: str | None = None
    hostname: str | None = None
    instances: Mapping[int, tuple[str | None, str]] = field(default_factory=dict)


def lock_enterprise(session: Session, enterprise: Enterprise) -> None:
    """Take the enterprise's row lock (by bumping its data version) and reload it, so that
    the state computed next counts everything committed before this transaction."""
    touch(enterprise)
    session.flush()
    session.refresh(enterprise)


def record_point(
    session: Session,
    enterprise_id: int,
    cause: Cause,
    total: int,
    persons: Sequence[ChangedPerson],
    subject: PointSubject = PointSubject(),
) -> HistoryPoint:
    """One history point and its changed persons. Call with the enterprise's lock held."""
    point = HistoryPoint(
        enterprise_id=enterprise_id,
        recorded_at=_next_time(session, enterprise_id),
        cause=cause.value,
        report_pk=subject.report_pk,
        server_id=subject.server_id,
        hostname=subject.hostname,
        instances=[list(names) for names in subject.instances.values()],
        total=total,
        started=sum(1 for person in persons if person.delta > 0),
        stopped=sum(1 for person in persons if person.delta < 0),
    )
    session.add(point)
    session.flush()
    if persons:
        _insert_persons(session.connection(), point.id, persons, subject.instances)
    return point


def stored_person(key: str, instances: Mapping[int, tuple[str | None, str]]) -> str:
    """A person key as stored: sortable, without the tab of the in-memory keys (so that
    every collation orders it alike: cloud accounts by ID, then addresses, then GHES
    accounts without an address), and naming an instance by its server_id, which outlives
    a disconnect and a reconnect, where the in-memory key names the connection's row."""
    if key.startswith(CLOUD_PREFIX):
        return f"c:{int(key[len(CLOUD_PREFIX) :]):020d}"
    if key.startswith(NO_EMAIL_PREFIX):
        instance, _, user_id = key[len(NO_EMAIL_PREFIX) :].partition(":")
        server_id = instances.get(int(instance), (None, ""))[0] or f"#{instance}"
        return f"g:{server_id}:{int(user_id):020d}"
    return f"e:{key}"


def _insert_persons(
    connection: Connection,
    point_id: int,
    persons: Sequence[ChangedPerson],
    instances: Mapping[int, tuple[str | None, str]],
) -> None:
    """The driver's bulk path (COPY on PostgreSQL, one executemany on SQLite): a first
    report starts every one of its persons. The accounts are one short JSON array each,
    ``[cloud or null, [[instance number, user ID, e-mail], ...]]``, the instances named
    once by the point."""
    dumps = orjson.dumps
    numbered = {instance: n for n, instance in enumerate(instances)}
    # An address or a cloud account inline: a function call per person was a tenth of the rows.
    stored = [
        f"e:{key}"
        if key[:1] != "\t"
        else f"c:{int(key[2:]):020d}"  # as stored_person() does, inline: an import's 100,000
        if key[:2] == CLOUD_PREFIX
        else stored_person(key, instances)
        for key in (person.key for person in persons)
    ]
    # In key order, the index is appended to, not split page by page. Sorted by position
    # with the stored keys' own __getitem__ (C), not as tuples of Python objects.
    order = [
        position
        for delta in (-1, 1)
        for position in sorted(
            (p for p, person in enumerate(persons) if person.delta == delta),
            key=stored.__getitem__,
        )
    ]

    def rows() -> Iterator[tuple[int, int, str, str, str]]:
        for position in order:
            person = persons[position]
            server = person.server
            if len(server) == 1:  # most persons: no list made by a comprehension's frame
                ((instance, user, email),) = server
                accounts = [(numbered[instance], user, email)]
            else:
                accounts = [(numbered[i], user, email) for i, user, email in server]
            yield (
                point_id,
                person.delta,
                stored[position],
                person.reason._value_,  # the plain attribute: .value is a descriptor call
                dumps([person.cloud, accounts]).decode(),
            )

    columns = "point_id, delta, person, reason, accounts"
    raw: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY person_changes ({columns}) FROM STDIN") as copy,
        ):
            for row in rows():
                copy.write_row(row)
    else:
        raw.executemany(
            f"INSERT INTO person_changes ({columns}) VALUES (?, ?, ?, ?, ?)",  # noqa: S608
            rows(),
        )


def _next_time(session: Session, enterprise_id: int) -> datetime:
    """Now, or just after the last point when another replica's clock ran ahead: a time
    then names one point, and times follow the order points were written in."""
    last = session.scalar(
        select(func.max(HistoryPoint.recorded_at)).where(
            HistoryPoint.enterprise_id == enterprise_id
        )
    )
    now = utcnow()
    if last is None:
        return now
    if isinstance(last, str):  # SQLite's max() hands back the stored text
        last = datetime.fromisoformat(last)
    return max(now, as_utc(last) + timedelta(microseconds=1))
