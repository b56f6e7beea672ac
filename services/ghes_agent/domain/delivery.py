"""Delivering kept reports to the cloud, and retrying those that could not be delivered.

5xx answers, 408, 429, timeouts and connection failures are retried with exponential
backoff and full jitter, honouring ``Retry-After`` (seconds or an HTTP date, capped), until
the report is delivered, superseded by a newer one, or given up after ``give_up`` (more
than a week). Other 4xx answers are final: the report is ``refused`` and the reason shows
in ``/sync/status``.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import as_utc, utcnow
from services.ghes_agent.clients.cloud import CloudError
from services.ghes_agent.db.models import OutboxReport, SyncRun

if TYPE_CHECKING:
    from services.ghes_agent.domain.sync import SyncContext

LEASE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 60.0
    cap_seconds: float = 3600.0
    give_up: timedelta = timedelta(days=8)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def backoff(self, attempts: int) -> float:
        """Full jitter: uniform over [0, min(cap, base * 2**(attempts - 1))]."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return self.rng.uniform(0, ceiling)

    def delay(self, attempts: int, retry_after: str | None, now: datetime) -> float:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            return min(asked, self.cap_seconds)
        return self.backoff(attempts)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (``120``) or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (as_utc(when) - as_utc(now)).total_seconds())


class DeliveryError(Exception):
    """The cloud did not take the report; ``retry_at`` is set when it will be sent again."""

    def __init__(self, cloud: CloudError, retry_at: datetime | None, note: str) -> None:
        super().__init__(f"{cloud}{note}")
        self.cloud = cloud
        self.retry_at = retry_at


async def deliver(ctx: SyncContext, run_id: str, report_id: str) -> dict[str, Any]:
    with ctx.sessions() as session:
        report = session.get_one(OutboxReport, report_id)
        body, attempts, created_at = report.body_gzip, report.attempts + 1, report.created_at
    _count_attempt(ctx.sessions, run_id, report_id)
    try:
        async with ctx.cloud_client() as client:
            receipt = await client.push_report(body, public_key=ctx.public_key)
    except CloudError as error:
        raise _after_failure(ctx, report_id, error, attempts, as_utc(created_at)) from None
    _delivered(ctx.sessions, report_id)
    return receipt


def _after_failure(
    ctx: SyncContext, report_id: str, error: CloudError, attempts: int, created_at: datetime
) -> DeliveryError:
    now = utcnow()
    message = str(error)[:1900]
    if not error.retryable:
        _set(ctx.sessions, report_id, state="refused", last_error=message, lease_until=None)
        return DeliveryError(error, None, "; the cloud refused it, so it is not sent again")
    retry_at = now + timedelta(seconds=ctx.retry.delay(attempts, error.retry_after, now))
    if retry_at - created_at > ctx.retry.give_up:
        _set(ctx.sessions, report_id, state="expired", last_error=message, lease_until=None)
        return DeliveryError(error, None, "; undelivered for too long, given up")
    _set(
        ctx.sessions,
        report_id,
        state="pending",
        last_error=message,
        next_attempt_at=retry_at,
        lease_until=None,
    )
    return DeliveryError(error, retry_at, f"; will retry at {retry_at.isoformat()}")


def next_due(sessions: sessionmaker[Session]) -> tuple[str, datetime] | None:
    """The newest pending report and when it is due. Older pending ones are superseded."""
    with sessions() as session:
        row = session.execute(
            select(OutboxReport.report_id, OutboxReport.next_attempt_at, OutboxReport.created_at)
            .where(OutboxReport.state == "pending")
            .order_by(OutboxReport.sequence.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    report_id, next_attempt_at, created_at = row
    return report_id, as_utc(next_attempt_at or created_at)


def claim(sessions: sessionmaker[Session], report_id: str) -> bool:
    """Take the report for sending, unless another process holds it."""
    now = utcnow()
    with sessions.begin() as session:
        claimed = session.execute(
            update(OutboxReport)
            .where(
                OutboxReport.report_id == report_id,
                OutboxReport.state == "pending",
                or_(OutboxReport.lease_until.is_(None), OutboxReport.lease_until < now),
            )
            .values(lease_until=now + LEASE)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def supersede_older(session: Session, sequence: int) -> None:
    """A newer report makes older undelivered ones pointless: the cloud keeps the newest."""
    session.execute(
        update(OutboxReport)
        .where(OutboxReport.state == "pending", OutboxReport.sequence < sequence)
        .values(state="superseded", lease_until=None)
    )


def _count_attempt(sessions: sessionmaker[Session], run_id: str, report_id: str) -> None:
    with sessions.begin() as session:
        session.execute(
            update(SyncRun).where(SyncRun.id == run_id).values(attempts=SyncRun.attempts + 1)
        )
        session.execute(
            update(OutboxReport)
            .where(OutboxReport.report_id == report_id)
            .values(attempts=OutboxReport.attempts + 1)
        )


def _set(sessions: sessionmaker[Session], report_id: str, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(
            update(OutboxReport).where(OutboxReport.report_id == report_id).values(**values)
        )


def _delivered(sessions: sessionmaker[Session], report_id: str) -> None:
    with sessions.begin() as session:
        delivered = session.get_one(OutboxReport, report_id)
        delivered.state, delivered.delivered_at = "delivered", utcnow()
        delivered.last_error, delivered.lease_until = None, None
        supersede_older(session, delivered.sequence)


def supersede(sessions: sessionmaker[Session], report_id: str) -> None:
    _set(sessions, report_id, state="superseded", lease_until=None)
