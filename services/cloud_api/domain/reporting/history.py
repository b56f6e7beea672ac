"""The trend: one entry per change of what the figure is computed from (an applied report,
an accounts import, SAML switched, an instance disconnected), with the figure after it and
how many persons started and stopped consuming there."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import HistoryPoint, Report
from services.cloud_api.schemas import HistoryEntry


def report_history(session: Session, enterprise_id: int, limit: int) -> list[HistoryEntry]:
    rows = session.execute(
        select(HistoryPoint, Report)
        .outerjoin(Report, Report.id == HistoryPoint.report_pk)
        .where(HistoryPoint.enterprise_id == enterprise_id)
        .order_by(HistoryPoint.recorded_at.desc(), HistoryPoint.id.desc())
        .limit(limit)
    )
    entries = [_entry(point, report) for point, report in rows]
    entries.reverse()  # oldest first, as a chart reads
    return entries


def _entry(point: HistoryPoint, report: Report | None) -> HistoryEntry:
    return HistoryEntry(
        received_at=point.recorded_at,
        cause=point.cause,
        report_id=report.report_id if report else None,
        server_id=point.server_id,
        hostname=point.hostname,
        sequence=report.sequence if report else None,
        source=report.source if report else None,
        users_reported=report.user_count if report else None,
        suspended_excluded=report.suspended_excluded if report else None,
        total_seats_consumed=point.total,
        started=point.started,
        stopped=point.stopped,
    )
