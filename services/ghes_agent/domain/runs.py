"""Sync runs and the agent's identity, as stored in its database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import utcnow
from services.ghes_agent.db.models import AgentState, OutboxReport, SyncRun

ACTIVE_STATUSES = ("queued", "running")


class RunNotFoundError(LookupError):
    """No sync run has that id."""


def ensure_identity(sessions: sessionmaker[Session]) -> AgentState:
    """The server_id is made once and kept for the instance's lifetime."""
    with sessions.begin() as session:
        state = session.get(AgentState, 1)
        if state is None:
            state = AgentState(
                id=1, server_id=str(uuid.uuid4()), last_sequence=0, created_at=utcnow()
            )
            session.add(state)
        return state


def lock_state(session: Session) -> AgentState:
    """Serializes agents sharing one database (row lock on PostgreSQL, write lock on SQLite)."""
    session.execute(update(AgentState).where(AgentState.id == 1).values(id=1))
    return session.get_one(AgentState, 1)


def start_run(sessions: sessionmaker[Session], trigger: str) -> tuple[SyncRun, bool]:
    """A new queued run, or the active one: ``(run, created)``."""
    with sessions.begin() as session:
        lock_state(session)
        active = session.scalar(
            select(SyncRun)
            .where(SyncRun.status.in_(ACTIVE_STATUSES))
            .order_by(SyncRun.created_at.desc())
            .limit(1)
        )
        if active is not None:
            return active, False
        run = SyncRun(
            id=str(uuid.uuid4()), trigger=trigger, status="queued", created_at=utcnow(), attempts=0
        )
        session.add(run)
        return run, True


def update_run(sessions: sessionmaker[Session], run_id: str, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))


def get_run(sessions: sessionmaker[Session], run_id: str) -> SyncRun:
    with sessions() as session:
        run = session.get(SyncRun, run_id)
        if run is None:
            raise RunNotFoundError(run_id)
        return run


def list_runs(sessions: sessionmaker[Session], limit: int = 50) -> list[SyncRun]:
    with sessions() as session:
        return list(
            session.scalars(select(SyncRun).order_by(SyncRun.created_at.desc()).limit(limit))
        )


def abandon_interrupted_runs(sessions: sessionmaker[Session]) -> int:
    """Runs left active by a process that stopped: their report, if one was generated,
    stays in the outbox for delivery."""
    with sessions.begin() as session:
        result = session.execute(
            update(SyncRun)
            .where(SyncRun.status.in_(ACTIVE_STATUSES))
            .values(status="failed", finished_at=utcnow(), error="the agent stopped during the run")
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class SyncStatus:
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None
    last_run_status: str | None
    pending_reports: int
    next_retry_at: datetime | None
    undelivered_error: str | None
    """Why the newest kept report has not been delivered yet (or was refused)."""


def sync_status(sessions: sessionmaker[Session]) -> SyncStatus:
    with sessions() as session:
        last_success = session.scalar(
            select(func.max(SyncRun.finished_at)).where(SyncRun.status == "succeeded")
        )
        latest = session.scalar(
            select(SyncRun)
            .where(SyncRun.started_at.is_not(None))
            .order_by(SyncRun.started_at.desc())
            .limit(1)
        )
        pending = session.scalar(
            select(func.count()).select_from(OutboxReport).where(OutboxReport.state == "pending")
        )
        next_retry = session.scalar(
            select(func.min(OutboxReport.next_attempt_at)).where(OutboxReport.state == "pending")
        )
        newest = session.scalar(
            select(OutboxReport)
            .where(OutboxReport.state != "exported")
            .order_by(OutboxReport.sequence.desc())
            .limit(1)
        )
    return SyncStatus(
        last_success=last_success,
        last_attempt=latest.started_at if latest else None,
        last_error=latest.error if latest and latest.status == "failed" else None,
        last_run_status=latest.status if latest else None,
        pending_reports=int(pending or 0),
        next_retry_at=next_retry,
        undelivered_error=(
            newest.last_error
            if newest is not None and newest.state in ("pending", "refused", "expired")
            else None
        ),
    )
