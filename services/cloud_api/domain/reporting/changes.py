"""``GET /enterprise/licenses/changes``: who started and who stopped consuming between two
times, paged from the stored person changes of the history points in between.

A time names the last history point at or before it (``history_points.recorded_at`` is
strictly increasing per enterprise). Over one point the listing pages that point's rows by
index; over several, each person's +1/-1 changes are summed (a person alternates between
starting and stopping, so the sum is +1, -1 or 0: consuming at the end and not at the
start, the reverse, or the same at both). Either way a page costs the changes in the range,
never the enterprise's persons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import HistoryPoint
from services.cloud_api.domain.errors import ConflictError, InvalidInputError
from services.cloud_api.domain.licensing.loaders import raw_rows
from services.cloud_api.schemas import (
    ChangesView,
    CloudAccountRef,
    PersonChangeView,
    ServerAccountRef,
)
from services.common.clock import as_utc, utcnow


@dataclass(frozen=True, slots=True)
class ChangesQuery:
    since: datetime | None = None
    until: datetime | None = None
    page: int = 1
    per_page: int = 30


@dataclass(frozen=True, slots=True)
class _Range:
    after: HistoryPoint | None
    """The point ``since`` names (excluded); None before the first."""
    last: HistoryPoint | None
    """The point ``until`` names (included)."""
    since: datetime | None
    until: datetime


def license_changes(session: Session, enterprise_id: int, query: ChangesQuery) -> ChangesView:
    span = _resolve(session, enterprise_id, query)
    first_id = span.after.id if span.after else 0
    last_id = span.last.id if span.last else 0
    entries, unrecorded = _entries(session, enterprise_id, first_id, last_id)
    if unrecorded:
        raise ConflictError(
            f"{unrecorded} history entries in this range are from before changes were "
            "recorded; choose a since after them",
            code="history_not_recorded",
        )
    offset = (query.page - 1) * query.per_page
    if entries == 1 and span.last is not None:  # one point: its rows and counts as stored
        counts = (span.last.started or 0, span.last.stopped or 0)
        pages = [_one_point(session, last_id, delta, offset, query.per_page) for delta in (1, -1)]
    elif entries:
        counts = _net_counts(session, enterprise_id, first_id, last_id)
        pages = [
            _net_page(session, enterprise_id, (first_id, last_id), delta, offset, query.per_page)
            for delta in (1, -1)
        ]
    else:
        counts, pages = (0, 0), [[], []]
    return ChangesView(
        since=span.since,
        until=span.until,
        from_total=span.after.total if span.after else 0,
        to_total=span.last.total if span.last else 0,
        entries=entries,
        total_started=counts[0],
        total_stopped=counts[1],
        started=pages[0],
        stopped=pages[1],
        page=query.page,
        per_page=query.per_page,
    )


def _resolve(session: Session, enterprise_id: int, query: ChangesQuery) -> _Range:
    until = _aware("until", query.until) if query.until else utcnow()
    last = _point_at(session, enterprise_id, until)
    if query.since is None:  # the entry before the latest: the latest entry's changes
        after = _point_before(session, enterprise_id, last) if last else None
        return _Range(after, last, after.recorded_at if after else None, until)
    since = _aware("since", query.since)
    if since > until:
        raise InvalidInputError(
            f"since ({since.isoformat()}) is after until ({until.isoformat()})",
            code="invalid_range",
        )
    return _Range(_point_at(session, enterprise_id, since), last, since, until)


def _aware(name: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidInputError(
            f"{name}: an RFC 3339 time with its offset, such as 2026-11-27T12:00:00Z",
            code="invalid_time",
        )
    try:
        return as_utc(value)
    except OverflowError:  # year 1 with an offset east of UTC
        raise InvalidInputError(f"{name}: out of range", code="invalid_time") from None


def _point_at(session: Session, enterprise_id: int, when: datetime) -> HistoryPoint | None:
    return session.scalar(
        select(HistoryPoint)
        .where(HistoryPoint.enterprise_id == enterprise_id, HistoryPoint.recorded_at <= when)
        .order_by(HistoryPoint.recorded_at.desc())
        .limit(1)
    )


def _point_before(session: Session, enterprise_id: int, point: HistoryPoint) -> HistoryPoint | None:
    return session.scalar(
        select(HistoryPoint)
        .where(
            HistoryPoint.enterprise_id == enterprise_id,
            HistoryPoint.recorded_at < point.recorded_at,
        )
        .order_by(HistoryPoint.recorded_at.desc())
        .limit(1)
    )


def _entries(session: Session, enterprise_id: int, first_id: int, last_id: int) -> tuple[int, int]:
    """How many points the range holds, and how many of them recorded no changes."""
    row = session.execute(
        select(
            func.count(HistoryPoint.id),
            func.count(HistoryPoint.id).filter(HistoryPoint.started.is_(None)),
        ).where(
            HistoryPoint.enterprise_id == enterprise_id,
            HistoryPoint.id > first_id,
            HistoryPoint.id <= last_id,
        )
    ).one()
    return int(row[0]), int(row[1])


# The point was found by enterprise: its rows are that enterprise's.
_ONE_POINT = """
    SELECT c.accounts, c.reason, p.recorded_at, p.instances FROM person_changes c
    JOIN history_points p ON p.id = c.point_id
    WHERE c.point_id = ? AND c.delta = ?
    ORDER BY c.person LIMIT ? OFFSET ?
"""


def _one_point(
    session: Session, point_id: int, delta: int, offset: int, limit: int
) -> list[PersonChangeView]:
    rows = raw_rows(session, _ONE_POINT, point_id, delta, limit, offset)
    return [_view(*row) for row in rows]


_NET = """
    SELECT c.person, SUM(c.delta) AS net
    FROM person_changes c JOIN history_points p ON p.id = c.point_id
    WHERE p.enterprise_id = ? AND p.id > ? AND p.id <= ?
    GROUP BY c.person
"""
_NET_COUNTS = f"SELECT net, COUNT(*) FROM ({_NET}) AS n WHERE net <> 0 GROUP BY net"  # noqa: S608
_NET_PAGE = f"""
    SELECT person FROM ({_NET}) AS n WHERE net = ?
    ORDER BY person LIMIT ? OFFSET ?
"""  # noqa: S608 (constant text)


def _net_counts(
    session: Session, enterprise_id: int, first_id: int, last_id: int
) -> tuple[int, int]:
    counts = dict(raw_rows(session, _NET_COUNTS, enterprise_id, first_id, last_id))
    return int(counts.get(1, 0)), int(counts.get(-1, 0))


def _net_page(
    session: Session,
    enterprise_id: int,
    ids: tuple[int, int],
    delta: int,
    offset: int,
    limit: int,
) -> list[PersonChangeView]:
    keys = [
        row[0] for row in raw_rows(session, _NET_PAGE, enterprise_id, *ids, delta, limit, offset)
    ]
    if not keys:
        return []
    marks = ", ".join("?" for _ in keys)
    rows = raw_rows(
        session,
        "SELECT c.person, c.accounts, c.reason, p.recorded_at, p.instances "  # noqa: S608
        "FROM person_changes c JOIN history_points p ON p.id = c.point_id "
        "WHERE p.enterprise_id = ? AND p.id > ? AND p.id <= ? "
        f"AND c.person IN ({marks}) ORDER BY p.id",
        enterprise_id,
        *ids,
        *keys,
    )
    last = {row[0]: row[1:] for row in rows}  # the latest change of each wins
    return [_view(*last[key]) for key in keys]


def _view(accounts: str, reason: str, at: Any, instances: Any) -> PersonChangeView:
    """A stored row as the API shows it (drivers hand back JSON as text or as data, and
    times as text or datetimes)."""
    cloud, server = json.loads(accounts)
    names = json.loads(instances) if isinstance(instances, str) else instances
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return PersonChangeView(
        cloud_account=(
            CloudAccountRef(id=cloud[0], login=cloud[1], consuming=cloud[2]) if cloud else None
        ),
        server_accounts=[
            ServerAccountRef(
                server_id=names[number][0], hostname=names[number][1], user_id=user, email=email
            )
            for number, user, email in server
        ],
        reason=reason,
        changed_at=as_utc(when),
    )
