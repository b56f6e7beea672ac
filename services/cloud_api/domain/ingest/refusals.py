"""Refused reports: a refusal changes no data, but the instance's last sync says why.

The rule: the ingest package records every refusal of a report for a known instance, at
its entry points (:func:`pushes.apply_push`, :func:`uploads.apply_upload`), through
:func:`refusals_recorded`. The one refusal it cannot see is a push body that HTTP refused
before the report was read (too large, not gzip): the route records that one itself, with
:func:`record_refusal` in a write of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import ServerInstance
from services.cloud_api.domain.errors import DomainError
from services.common.clock import utcnow


@contextmanager
def refusals_recorded(sessions: sessionmaker[Session], instance_pk: int) -> Iterator[None]:
    """Records a domain error raised inside as the instance's last sync, and re-raises it.
    The record is a write of its own: the report's transaction, if any, rolled back."""
    try:
        yield
    except DomainError as error:
        with sessions.begin() as session:
            record_refusal(session, instance_pk, error)
        raise


def record_refusal(session: Session, instance_pk: int, error: DomainError) -> None:
    """A refused report changes no data, but the instance's last sync says why."""
    session.execute(
        update(ServerInstance)
        .where(ServerInstance.id == instance_pk)
        .values(
            last_sync_at=utcnow(),
            last_sync_status=error.error,
            last_sync_error=error.detail[:1000],
        )
    )
