"""Events about server instances: a refused push or upload, and a stale instance."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, Report, ServerInstance
from services.cloud_api.domain.errors import DomainError
from services.cloud_api.domain.events import payloads
from services.cloud_api.domain.events.publishing import publish

REFUSED = "server_usage.refused"
STALE = "server_instance.stale"


def usage_refused(
    session: Session,
    enterprise_id: int,
    error: DomainError,
    *,
    source: str,
    server_id: object,
    hostname: object,
) -> None:
    """Called where ingest records a refusal, in that transaction. An upload for an
    instance that is not connected is named by the server_id its file gives."""
    enterprise = session.get_one(Enterprise, enterprise_id)
    instance = (
        {"server_id": server_id, "hostname": hostname} if isinstance(server_id, str) else None
    )
    payload = payloads.usage_refused(
        enterprise, instance, source=source, error=error.error, detail=error.detail[:1000]
    )
    publish(session, enterprise.id, REFUSED, payload)


def publish_stale_instances(session: Session, now: datetime, stale_after: timedelta) -> int:
    """Publishes ``server_instance.stale`` for each instance with no applied report (or,
    never synced, no report since it was connected) for longer than ``stale_after``, once
    per stale period: a period ends when a report is applied. Returns how many went stale.

    The conditional UPDATE marks each instance: a second check running at the same time,
    on another replica, finds it marked and publishes nothing."""
    last_report = func.coalesce(Report.received_at, ServerInstance.created_at)
    rows = session.execute(
        select(ServerInstance.id, last_report, Report.received_at)
        .outerjoin(Report, Report.id == ServerInstance.current_report_pk)
        .where(
            last_report < now - stale_after,
            or_(
                ServerInstance.stale_event_at.is_(None), ServerInstance.stale_event_at < last_report
            ),
        )
        .order_by(ServerInstance.id)
    ).all()
    published = 0
    for instance_pk, since, received_at in rows:
        marked = session.execute(
            update(ServerInstance)
            .where(
                ServerInstance.id == instance_pk,
                or_(ServerInstance.stale_event_at.is_(None), ServerInstance.stale_event_at < since),
            )
            .values(stale_event_at=now)
        )
        if not marked.rowcount:  # type: ignore[attr-defined]
            continue
        instance = session.get_one(ServerInstance, instance_pk)
        enterprise = session.get_one(Enterprise, instance.enterprise_id)
        payload = payloads.instance_stale(
            enterprise,
            instance,
            last_report_at=received_at,
            stale_after_days=stale_after.total_seconds() / 86400,
        )
        publish(session, enterprise.id, STALE, payload)
        published += 1
    return published
