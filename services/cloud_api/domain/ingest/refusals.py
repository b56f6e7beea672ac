"""Refused reports: a refusal changes no data, but the instance's last sync says why, and
the enterprise's audit log has a ``server_usage.refuse`` entry, and hooks are sent
``server_usage.refused``.

The rule: the ingest package records every refusal of a report or an upload after the
caller was authenticated, at its entry points (:func:`pushes.apply_push`,
:func:`uploads.apply_upload`), through :func:`refusals_recorded`. The one refusal it cannot
see is a body that HTTP refused before it was read (too large, not gzip, a malformed
multipart): the route hands that one to :func:`record_unread_refusal`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import ServerInstance
from services.cloud_api.domain.errors import DomainError
from services.cloud_api.domain.events.audit import record_refusal_entry
from services.cloud_api.domain.events.instance_events import usage_refused
from services.common.audit_log import AuditContext
from services.common.clock import utcnow


@dataclass(slots=True)
class Refused:
    """Who a refusal is recorded for: the enterprise, and the instance once known."""

    audit: AuditContext
    enterprise_id: int
    source: str
    """``connect`` (a push) or ``upload``."""
    instance_pk: int | None = None
    facts: dict[str, object] = field(default_factory=dict)
    """What is known of the report when it is refused (server_id, report_id, ...)."""


@contextmanager
def refusals_recorded(sessions: sessionmaker[Session], refused: Refused) -> Iterator[Refused]:
    """Records a domain error raised inside, and re-raises it. The block fills in the
    instance and what it learns of the report as it goes. The record is a write of its
    own: the report's transaction, if any, rolled back."""
    try:
        yield refused
    except DomainError as error:
        record_unread_refusal(sessions, refused, error)
        raise


def record_unread_refusal(
    sessions: sessionmaker[Session], refused: Refused, error: DomainError
) -> None:
    """An ingest entry point: records the refusal in a write of its own (whatever the
    report's transaction did, it rolled back)."""
    with sessions.begin() as session:
        record_refusal(session, refused, error)


def record_refusal(session: Session, refused: Refused, error: DomainError) -> None:
    """A refused report changes no data, but the instance's last sync says why, the
    audit log has the refusal and the hooks hear of it, all in the caller's transaction."""
    fields = {"source": refused.source, **refused.facts}
    if refused.instance_pk is not None:
        session.execute(
            update(ServerInstance)
            .where(ServerInstance.id == refused.instance_pk)
            .values(
                last_sync_at=utcnow(),
                last_sync_status=error.error,
                last_sync_error=error.detail[:1000],
            )
        )
        instance = session.get(ServerInstance, refused.instance_pk)
        if instance is not None:
            fields.setdefault("server_id", instance.server_id)
            fields.setdefault("hostname", instance.hostname)
    record_refusal_entry(session, refused.audit, refused.enterprise_id, error, **fields)
    usage_refused(
        session,
        refused.enterprise_id,
        error,
        source=refused.source,
        server_id=fields.get("server_id"),
        hostname=fields.get("hostname"),
    )
