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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, HistoryPoint, PersonChange
from services.cloud_api.domain.tenants.enterprises import touch
from services.common.clock import as_utc, utcnow


class Cause(enum.StrEnum):
    REPORT = "report"
    ACCOUNTS_IMPORT = "accounts_import"
    SAML_CHANGED = "saml_changed"
    INSTANCE_DISCONNECTED = "instance_disconnected"


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
    EMAIL_CHANGED = "email_changed"
    """A GHES account's primary e-mail changed and it is another person now, not merged
    into or split from anyone: the old person stops and the new one starts."""


@dataclass(frozen=True, slots=True)
class ChangedPerson:
    key: str
    delta: int
    """+1 started consuming, -1 stopped."""
    reason: Reason
    sort_key: str
    """Orders a listing as the persons listing does (cloud login, e-mail, account)."""
    accounts: dict[str, Any]
    """``cloud_account`` and ``server_accounts`` as they were at the change."""


@dataclass(frozen=True, slots=True)
class PointSubject:
    """What a point is about, for the history entry."""

    report_pk: int | None = None
    server_id: str | None = None
    hostname: str | None = None


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
        total=total,
        started=sum(1 for person in persons if person.delta > 0),
        stopped=sum(1 for person in persons if person.delta < 0),
    )
    session.add(point)
    session.flush()
    if persons:
        session.execute(
            insert(PersonChange),
            [
                {
                    "point_id": point.id,
                    "person_key": person.key,
                    "enterprise_id": enterprise_id,
                    "delta": person.delta,
                    "reason": person.reason.value,
                    "sort_key": person.sort_key,
                    "accounts": person.accounts,
                }
                for person in persons
            ],
        )
    return point


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
