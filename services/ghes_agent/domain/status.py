"""What ``/sync/status`` shows: the latest runs, and the reports the cloud does not have."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.ghes_agent.db.models import OutboxReport, SyncRun
from services.ghes_agent.domain.outbox import UNDELIVERED, ReportState


@dataclass(frozen=True, slots=True)
class SyncStatus:
    last_success: datetime | None
    last_attempt: datetime | None
    last_error: str | None
    last_error_code: str | None
    last_run_status: str | None
    pending_reports: int
    next_retry_at: datetime | None
    undelivered_error: str | None
    """Why the newest kept report has not been delivered yet (or was refused)."""


def sync_status(session: Session) -> SyncStatus:
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
        select(func.count())
        .select_from(OutboxReport)
        .where(OutboxReport.state == ReportState.PENDING)
    )
    next_retry = session.scalar(
        select(func.min(OutboxReport.next_attempt_at)).where(
            OutboxReport.state == ReportState.PENDING
        )
    )
    newest = session.scalar(
        select(OutboxReport)
        .where(OutboxReport.state != ReportState.EXPORTED)
        .order_by(OutboxReport.sequence.desc())
        .limit(1)
    )
    return SyncStatus(
        last_success=last_success,
        last_attempt=latest.started_at if latest else None,
        last_error=latest.error if latest and latest.status == "failed" else None,
        last_error_code=latest.error_code if latest and latest.status == "failed" else None,
        last_run_status=latest.status if latest else None,
        pending_reports=int(pending or 0),
        next_retry_at=next_retry,
        undelivered_error=(
            newest.last_error if newest is not None and newest.state in UNDELIVERED else None
        ),
    )
