"""Checks that run on a clock, once across all replicas: each replica wakes every period,
and the one whose ``UPDATE periodic_checks ... WHERE last_slot_at < slot`` changes the row
runs that slot; the others find it taken and wait for the next. Each claim is a
transaction of its own (the worker's clock has no request around it), committed before
the slot's work begins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import PeriodicCheck
from services.cloud_api.domain.events.deliveries import prune
from services.cloud_api.domain.events.instance_events import publish_stale_instances

CHECK = "hook_events"


def slot_of(now: datetime, period: timedelta) -> datetime:
    """The start of the period ``now`` falls in (periods counted from the epoch)."""
    seconds = period.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)


def claim_slot(sessions: sessionmaker[Session], name: str, slot: datetime) -> bool:
    with sessions.begin() as session:
        claimed = session.execute(
            update(PeriodicCheck)
            .where(PeriodicCheck.name == name, PeriodicCheck.last_slot_at < slot)
            .values(last_slot_at=slot)
        )
        if claimed.rowcount:  # type: ignore[attr-defined]
            return True
        if session.get(PeriodicCheck, name) is not None:
            return False  # another replica ran this slot
    try:  # the first run ever: whoever inserts the row runs the slot
        with sessions.begin() as session:
            session.add(PeriodicCheck(name=name, last_slot_at=slot))
    except IntegrityError:
        return False
    return True


def run_checks(
    sessions: sessionmaker[Session], now: datetime, *, period: timedelta, stale_after: timedelta
) -> bool:
    """Runs this period's checks unless another replica has; True when this one did."""
    if not claim_slot(sessions, CHECK, slot_of(now, period)):
        return False
    with sessions.begin() as session:
        prune(session, now)  # a write first: on SQLite it takes the write lock at once
        publish_stale_instances(session, now, stale_after)
    return True
