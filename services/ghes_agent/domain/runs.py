"""Sync runs and the agent's identity, as stored in its database."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_log import AuditContext
from services.common.clock import utcnow
from services.ghes_agent.db.models import AgentState, SyncRun
from services.ghes_agent.domain.audit import record_entry
from services.ghes_agent.domain.errors import NotFoundError

ACTIVE_STATUSES = ("queued", "running")


class RunNotFoundError(NotFoundError):
    """No sync run has that id."""


def ensure_identity(session: Session) -> AgentState:
    """The server_id is made once and kept for the instance's lifetime."""
    state = session.get(AgentState, 1)
    if state is None:
        state = AgentState(id=1, server_id=str(uuid.uuid4()), last_sequence=0, created_at=utcnow())
        session.add(state)
    return state


def lock_state(session: Session) -> AgentState:
    """Serializes agents sharing one database (row lock on PostgreSQL, write lock on SQLite)."""
    session.execute(update(AgentState).where(AgentState.id == 1).values(id=1))
    return session.get_one(AgentState, 1)


def start_run(
    sessions: sessionmaker[Session], trigger: str, audit: AuditContext | None = None
) -> tuple[SyncRun, bool]:
    """A new queued run, or the active one: ``(run, created)``. A step of a run in the
    background, so a transaction of its own (docs/decisions.md, "Transactions"); with
    ``audit`` (a request asked for it), the audit entry is written in it too."""
    with sessions.begin() as session:
        lock_state(session)
        run = session.scalar(
            select(SyncRun)
            .where(SyncRun.status.in_(ACTIVE_STATUSES))
            .order_by(SyncRun.created_at.desc())
            .limit(1)
        )
        created = run is None
        if run is None:
            run = SyncRun(
                id=str(uuid.uuid4()),
                trigger=trigger,
                status="queued",
                created_at=utcnow(),
                attempts=0,
            )
            session.add(run)
        if audit is not None:
            record_entry(session, audit, run_id=run.id, started=created)
        return run, created


def update_run(sessions: sessionmaker[Session], run_id: str, **values: Any) -> None:
    """A step of a run in the background: committed at once, so that GET /sync/runs shows
    it while the run goes on and a crash does not lose it."""
    with sessions.begin() as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(**values))


def get_run(session: Session, run_id: str) -> SyncRun:
    run = session.get(SyncRun, run_id)
    if run is None:
        raise RunNotFoundError(f"no sync run {run_id}")
    return run


def list_runs(session: Session, limit: int = 50) -> list[SyncRun]:
    return list(session.scalars(select(SyncRun).order_by(SyncRun.created_at.desc()).limit(limit)))


def abandon_interrupted_runs(session: Session) -> int:
    """Runs left active by a process that stopped: their report, if one was generated,
    stays in the outbox for delivery."""
    result = session.execute(
        update(SyncRun)
        .where(SyncRun.status.in_(ACTIVE_STATUSES))
        .values(
            status="failed",
            finished_at=utcnow(),
            error="the agent stopped during the run",
            error_code="interrupted",
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
