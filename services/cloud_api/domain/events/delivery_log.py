"""Reading the delivery log: a hook's deliveries newest first, each with every attempt.

Paged by cursor (the last id seen) on the ``(hook_id, id)`` index, so a page costs the same
however many deliveries a hook has."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import HookDelivery, HookDeliveryAttempt
from services.cloud_api.domain.errors import NotFoundError


@dataclass(frozen=True, slots=True)
class LoggedDelivery:
    delivery: HookDelivery
    attempts: list[HookDeliveryAttempt]


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[LoggedDelivery]
    next_cursor: int | None


def list_deliveries(
    session: Session, hook_id: int, *, cursor: int | None, per_page: int
) -> DeliveryPage:
    query = select(HookDelivery).where(HookDelivery.hook_id == hook_id)
    if cursor is not None:
        query = query.where(HookDelivery.id < cursor)
    rows = list(session.scalars(query.order_by(HookDelivery.id.desc()).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    attempts = attempts_of(session, [row.id for row in rows])
    return DeliveryPage(
        [LoggedDelivery(row, attempts.get(row.id, [])) for row in rows],
        rows[-1].id if more else None,
    )


def get_delivery(session: Session, hook_id: int, delivery_id: int) -> LoggedDelivery:
    delivery = session.scalar(
        select(HookDelivery).where(HookDelivery.id == delivery_id, HookDelivery.hook_id == hook_id)
    )
    if delivery is None:
        raise NotFoundError(f"delivery {delivery_id} of hook {hook_id} not found")
    return LoggedDelivery(delivery, attempts_of(session, [delivery.id]).get(delivery.id, []))


def attempts_of(session: Session, ids: list[int]) -> dict[int, list[HookDeliveryAttempt]]:
    found: dict[int, list[HookDeliveryAttempt]] = defaultdict(list)
    if not ids:
        return found
    rows = session.scalars(
        select(HookDeliveryAttempt)
        .where(HookDeliveryAttempt.delivery_id.in_(ids))
        .order_by(HookDeliveryAttempt.delivery_id, HookDeliveryAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


def last_attempted(session: Session, hook_id: int) -> HookDelivery | None:
    """The hook's most recent delivery that was tried, for its ``last_response``."""
    return session.scalar(
        select(HookDelivery)
        .where(HookDelivery.hook_id == hook_id, HookDelivery.delivered_at.is_not(None))
        .order_by(HookDelivery.id.desc())
        .limit(1)
    )
