"""The stored deliveries: claimed by one sender at a time, every attempt recorded.

A sender claims due deliveries by a conditional UPDATE that writes its lease: another
replica's claim, evaluated after it, finds the lease and takes nothing, so no delivery is
sent by two replicas at once. A sender that dies mid-delivery leaves its lease to expire,
and another sends the delivery then: nothing is lost, and a receiver that did get the
first request sees the same ``X-GitHub-Delivery`` again (GitHub's advice: deduplicate by it).

The functions taking a ``sessionmaker`` open their own transactions: the sender works in
the background, and each step commits before its next network call (docs/decisions.md).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import Hook, HookDelivery, HookDeliveryAttempt
from services.common.clock import utcnow

KEEP_FOR = timedelta(days=30)  # as GitHub keeps deliveries viewable and redeliverable


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    retry_for: timedelta = timedelta(hours=72)
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempts: int) -> float:
        """Exponential, with half of it jittered so that replicas' retries spread out."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a sender needs, read in the claim's transaction."""

    id: int
    hook_id: int
    enterprise_id: int
    url: str
    secret: str = field(repr=False)  # never in a log line or a traceback's message
    guid: str
    event: str
    body: str
    attempts: int
    created_at: datetime
    lease_token: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: a response's status code, or an error and no code."""

    attempted_at: datetime
    duration: float
    status_code: int | None
    error: str | None = None
    retryable: bool = True
    """For attempts without a response: may it be tried again (a refused address may not)."""

    @property
    def outcome(self) -> str:
        """``delivered``, ``retry`` or ``failed`` (final)."""
        code = self.status_code
        if code is not None and 200 <= code < 300:
            return "delivered"
        if code is None:
            return "retry" if self.retryable else "failed"
        return "retry" if code >= 500 or code in (408, 429) else "failed"

    @property
    def status(self) -> str:
        if self.status_code is None:
            return self.error or "no response"
        if 200 <= self.status_code < 300:
            return "OK"
        return f"Invalid HTTP Response: {self.status_code}"


def claim_due(sessions: sessionmaker[Session], *, lease: timedelta, limit: int) -> list[Claimed]:
    now = utcnow()
    token = str(uuid.uuid4())
    claimable = (
        HookDelivery.state == "pending",
        HookDelivery.next_attempt_at <= now,
        or_(HookDelivery.lease_until.is_(None), HookDelivery.lease_until < now),
    )
    due = (
        select(HookDelivery.id)
        .join(Hook, Hook.id == HookDelivery.hook_id)
        .where(*claimable, Hook.active.is_(True))  # an inactive hook is paused
        .order_by(HookDelivery.next_attempt_at, HookDelivery.id)
        .limit(limit)
    )
    with sessions.begin() as session:
        # The conditions are repeated outside the subquery: PostgreSQL re-checks them on a
        # row another transaction just claimed, and then leaves it to that one.
        session.execute(
            update(HookDelivery)
            .where(HookDelivery.id.in_(due.scalar_subquery()), *claimable)
            .values(lease_until=now + lease, lease_token=token),
            execution_options={"synchronize_session": False},
        )
        rows = session.execute(
            select(HookDelivery, Hook.enterprise_id, Hook.url, Hook.secret)
            .join(Hook, Hook.id == HookDelivery.hook_id)
            .where(HookDelivery.lease_token == token)
            .order_by(HookDelivery.id)
        ).all()
        return [
            _claimed(delivery, enterprise_id, url, secret, token)
            for delivery, enterprise_id, url, secret in rows
        ]


def _claimed(
    delivery: HookDelivery, enterprise_id: int, url: str, secret: str, token: str
) -> Claimed:
    return Claimed(
        id=delivery.id,
        hook_id=delivery.hook_id,
        enterprise_id=enterprise_id,
        url=url,
        secret=secret,
        guid=delivery.guid,
        event=delivery.event,
        body=delivery.body,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        lease_token=token,
    )


def record_attempt(
    sessions: sessionmaker[Session], claimed: Claimed, attempt: Attempt, policy: RetryPolicy
) -> str:
    """Stores the attempt and the delivery's next state; returns the outcome, ``gave_up``
    when a retryable failure has been retried for long enough."""
    attempts = claimed.attempts + 1
    outcome = attempt.outcome
    next_attempt_at = None
    if outcome == "retry":
        next_attempt_at = attempt.attempted_at + timedelta(seconds=policy.delay(attempts))
        if next_attempt_at - claimed.created_at > policy.retry_for:
            outcome = "gave_up"
    state = {"delivered": "delivered", "retry": "pending"}.get(outcome, "failed")
    status = attempt.status if outcome != "gave_up" else f"{attempt.status}; gave up"
    with sessions.begin() as session:
        session.execute(
            update(HookDelivery)
            .where(HookDelivery.id == claimed.id, HookDelivery.lease_token == claimed.lease_token)
            .values(
                state=state,
                attempts=attempts,
                next_attempt_at=next_attempt_at or attempt.attempted_at,
                lease_until=None,
                lease_token=None,
                delivered_at=attempt.attempted_at,
                status_code=attempt.status_code,
                status=status[:200],
                duration=attempt.duration,
            )
        )
        if session.get(HookDelivery, claimed.id) is not None:  # not deleted with its hook
            session.add(
                HookDeliveryAttempt(
                    delivery_id=claimed.id,
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    duration=attempt.duration,
                    error=None if attempt.error is None else attempt.error[:500],
                )
            )
    return outcome


def release(sessions: sessionmaker[Session], tokens: list[str]) -> None:
    """Gives back claims a stopping sender will not finish, for another to send now."""
    if not tokens:
        return
    with sessions.begin() as session:
        session.execute(
            update(HookDelivery)
            .where(HookDelivery.lease_token.in_(tokens), HookDelivery.state == "pending")
            .values(lease_until=None, lease_token=None)
        )


def next_due(sessions: sessionmaker[Session]) -> datetime | None:
    """When the next pending delivery may be claimed (a claimed one: when its lease ends)."""
    when = case(
        (
            HookDelivery.lease_until > HookDelivery.next_attempt_at,
            HookDelivery.lease_until,
        ),
        else_=HookDelivery.next_attempt_at,
    )
    with sessions() as session:
        due: datetime | None = session.scalar(
            select(func.min(when))
            .join(Hook, Hook.id == HookDelivery.hook_id)
            .where(HookDelivery.state == "pending", Hook.active.is_(True))
        )
    return due


def prune(session: Session, now: datetime) -> None:
    """Deliveries are kept 30 days; a pending one stays until it is sent or given up."""
    session.execute(
        delete(HookDelivery).where(
            HookDelivery.created_at < now - KEEP_FOR, HookDelivery.state != "pending"
        )
    )
