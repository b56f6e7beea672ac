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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.common.clock import as_utc, utcnow
from services.common.threads import in_thread
from services.ghes_agent.clients.cloud import CloudClient, CloudError
from services.ghes_agent.db.models import OutboxReport, SyncRun
from services.ghes_agent.domain import outbox
from services.ghes_agent.domain.errors import AgentError, NotConnectedError
from shared import UsageReceipt


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


class DeliveryError(AgentError):
    """The cloud did not take the report; ``retry_at`` is set when it will be sent again."""

    def __init__(self, cloud: CloudError, retry_at: datetime | None, note: str) -> None:
        super().__init__(f"{cloud}{note}", code=cloud.error)
        self.cloud = cloud
        self.retry_at = retry_at


@dataclass(frozen=True, slots=True)
class Delivery:
    """What sending a kept report needs."""

    sessions: sessionmaker[Session]
    cloud_client: Callable[[], CloudClient]
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connected: bool = True
    """False for an agent without a cloud URL or token: nothing is generated to be sent,
    and nothing kept is retried."""

    def ensure_connected(self) -> None:
        if not self.connected:
            raise NotConnectedError


async def deliver(delivery: Delivery, run_id: str, report_id: str) -> UsageReceipt:
    """Send a kept report once. On failure the outbox says what happens to it next (sent
    again when due, refused, or given up) and the DeliveryError says the same to the run."""
    # Database work in worker threads: on SQLite a write waits for the lock (busy
    # timeout), and the event loop must not wait with it.
    body, attempts, created_at = await in_thread(
        _start_attempt, delivery.sessions, run_id, report_id
    )
    try:
        async with delivery.cloud_client() as client:
            receipt = await client.push_report(body)
    except CloudError as error:
        raise await in_thread(
            _after_failure, delivery, report_id, error, attempts, created_at
        ) from None
    await in_thread(outbox.mark_delivered, delivery.sessions, report_id)
    return receipt


def _after_failure(
    delivery: Delivery, report_id: str, error: CloudError, attempts: int, created_at: datetime
) -> DeliveryError:
    now, sessions, policy = utcnow(), delivery.sessions, delivery.retry
    reason = str(error)[:1900]
    if not error.retryable:
        outbox.mark_refused(sessions, report_id, reason)
        return DeliveryError(error, None, "; the cloud refused it, so it is not sent again")
    retry_at = now + timedelta(seconds=policy.delay(attempts, error.retry_after, now))
    if retry_at - created_at > policy.give_up:
        outbox.mark_expired(sessions, report_id, reason)
        return DeliveryError(error, None, "; undelivered for too long, given up")
    outbox.reschedule(sessions, report_id, reason, retry_at)
    return DeliveryError(error, retry_at, f"; will retry at {retry_at.isoformat()}")


def _start_attempt(
    sessions: sessionmaker[Session], run_id: str, report_id: str
) -> tuple[bytes, int, datetime]:
    """The report's body, this attempt's number and when the report was made, with the
    attempt counted on the run and the report."""
    with sessions.begin() as session:
        report = session.get_one(OutboxReport, report_id)
        body, attempts, created_at = report.body_gzip, report.attempts + 1, report.created_at
        session.execute(
            update(SyncRun).where(SyncRun.id == run_id).values(attempts=SyncRun.attempts + 1)
        )
        session.execute(
            update(OutboxReport)
            .where(OutboxReport.report_id == report_id)
            .values(attempts=OutboxReport.attempts + 1)
        )
    return body, attempts, as_utc(created_at)
