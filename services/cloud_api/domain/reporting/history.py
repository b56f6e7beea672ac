"""The trend: one entry per applied report, with the enterprise's figure after it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Report
from services.cloud_api.schemas import HistoryEntry


def report_history(session: Session, enterprise_id: int, limit: int) -> list[HistoryEntry]:
    rows = session.scalars(
        select(Report)
        .where(Report.enterprise_id == enterprise_id)
        .order_by(Report.received_at.desc(), Report.id.desc())
        .limit(limit)
    )
    entries = [
        HistoryEntry(
            received_at=row.received_at,
            report_id=row.report_id,
            server_id=row.server_id,
            hostname=row.hostname,
            sequence=row.sequence,
            source=row.source,
            users_reported=row.user_count,
            suspended_excluded=row.suspended_excluded,
            total_seats_consumed=row.consumed_after,
        )
        for row in rows
    ]
    entries.reverse()  # oldest first, as a chart reads
    return entries
