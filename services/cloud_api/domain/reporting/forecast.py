"""When consumption reaches the purchased seats at the recent trend (SPEC 7.2).

The method (docs/decisions.md, "Forecast"): the figure is a step function of time, one
step per history entry. It is sampled at the latest entry and at each whole week before
it, back at most twelve weeks and no further than the first entry; the trend is the
*median* of the week-over-week changes. A one-off step (an acquisition imported in one
go) is one change among many and moves the median little; steady growth moves every week.
With fewer than three weeks observed, a flat or falling trend, or a date more than ten
years out, there is no date. When consumption is already at or over the seats, the date is
the day it got there.

Everything is relative to the latest entry, never to today: the answer changes only when
the history or the seats do, which the summary cache's signature already follows.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import HistoryPoint

WINDOW_WEEKS = 12
MIN_WEEKS = 3
HORIZON = timedelta(days=3653)
WEEK = timedelta(weeks=1)


@dataclass(frozen=True, slots=True)
class Forecast:
    seats_exhausted_on: date | None
    per_week: float | None
    """The trend, persons per week (None before a whole week of history)."""
    weeks_observed: int


def forecast(
    points: Sequence[tuple[datetime, int]],
    seats: int,
    first_at: datetime,
    reached_at: datetime | None = None,
) -> Forecast:
    """``points``: ``(time, figure)`` oldest first, ending with the latest entry and
    starting at or before the window (the entry in force at its start); ``first_at``: the
    first entry's time; ``reached_at``: when the figure last rose to the seats, if it is
    at or over them now."""
    last_at, total = points[-1]
    weeks = min(WINDOW_WEEKS, int((last_at - first_at) / WEEK))
    per_week = None
    if weeks >= 1:
        samples = [_value_at(points, last_at - WEEK * back) for back in range(weeks, -1, -1)]
        changes = [after - before for before, after in itertools.pairwise(samples)]
        per_week = round(float(statistics.median(changes)), 2)
    if total >= seats:
        return Forecast(reached_at.date() if reached_at else None, per_week, weeks)
    if per_week is None or weeks < MIN_WEEKS or per_week <= 0:
        return Forecast(None, per_week, weeks)
    to_go = WEEK * ((seats - total) / per_week)
    on = (last_at + to_go).date() if to_go <= HORIZON else None
    return Forecast(on, per_week, weeks)


def _value_at(points: Sequence[tuple[datetime, int]], when: datetime) -> int:
    """The figure in force at ``when``: the latest entry at or before it."""
    value = 0
    for at, total in points:
        if at > when:
            break
        value = total
    return value


def load_forecast(session: Session, enterprise_id: int, seats: int) -> Forecast:
    """Reads the entries of the window only (a few per instance and week), by index."""
    last = _latest(session, enterprise_id)
    if last is None:
        return Forecast(None, None, 0)
    start = last.recorded_at - WEEK * WINDOW_WEEKS
    where = HistoryPoint.enterprise_id == enterprise_id
    rows = session.execute(
        select(HistoryPoint.recorded_at, HistoryPoint.total)
        .where(where, HistoryPoint.recorded_at > start)
        .order_by(HistoryPoint.recorded_at)
    ).all()
    before = session.execute(
        select(HistoryPoint.recorded_at, HistoryPoint.total)
        .where(where, HistoryPoint.recorded_at <= start)
        .order_by(HistoryPoint.recorded_at.desc())
        .limit(1)
    ).all()
    first_at = session.scalar(select(func.min(HistoryPoint.recorded_at)).where(where))
    assert first_at is not None  # there is a latest entry
    reached = _reached_at(session, enterprise_id, seats) if last.total >= seats else None
    points = [(at, total) for at, total in [*before, *rows]]
    return forecast(points, seats, first_at, reached)


def _latest(session: Session, enterprise_id: int) -> HistoryPoint | None:
    return session.scalar(
        select(HistoryPoint)
        .where(HistoryPoint.enterprise_id == enterprise_id)
        .order_by(HistoryPoint.recorded_at.desc())
        .limit(1)
    )


def _reached_at(session: Session, enterprise_id: int, seats: int) -> datetime | None:
    """The first entry after the last one below the seats."""
    where = HistoryPoint.enterprise_id == enterprise_id
    below = session.scalar(
        select(func.max(HistoryPoint.recorded_at)).where(where, HistoryPoint.total < seats)
    )
    query = select(HistoryPoint.recorded_at).where(where)
    if below is not None:
        query = query.where(HistoryPoint.recorded_at > below)
    return session.scalar(query.order_by(HistoryPoint.recorded_at).limit(1))
