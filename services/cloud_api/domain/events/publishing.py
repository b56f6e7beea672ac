"""Publishing an event: one stored delivery per subscribed hook, in the transaction of the
event's cause. If that transaction rolls back, no delivery exists; once it commits, the
deliveries wait in the database for a sender (``worker.py``), whichever replica that is.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Hook, HookDelivery
from services.cloud_api.domain.events import payloads
from services.common.clock import utcnow

EVENTS = ("ping", "license.threshold_crossed", "server_instance.stale", "server_usage.refused")
ALL_EVENTS = "*"
PENDING_KEY = "license_sync_hook_deliveries"
"""Set in ``session.info`` when a transaction stored deliveries: the worker of this
process, told on commit, sends them at once instead of at its next look."""


def subscribed(hook: Hook, event: str) -> bool:
    return event == "ping" or ALL_EVENTS in hook.events or event in hook.events


def subscribed_hooks(session: Session, enterprise_id: int, event: str) -> list[Hook]:
    hooks = session.scalars(
        select(Hook).where(Hook.enterprise_id == enterprise_id, Hook.active.is_(True))
    )
    return [hook for hook in hooks if subscribed(hook, event)]


def publish(
    session: Session,
    enterprise_id: int,
    event: str,
    payload: dict[str, Any],
    *,
    hooks: Sequence[Hook] | None = None,
) -> list[HookDelivery]:
    """Stores the event for every active hook subscribed to it (or for ``hooks``). All its
    deliveries share one GUID, as GitHub's deliveries of one event do."""
    targets = subscribed_hooks(session, enterprise_id, event) if hooks is None else hooks
    body = payloads.encode(payload)
    guid = str(uuid.uuid4())
    action = payload.get("action")
    deliveries = [
        new_delivery(session, hook.id, guid=guid, event=event, action=action, body=body)
        for hook in targets
    ]
    return deliveries


def new_delivery(
    session: Session,
    hook_id: int,
    *,
    guid: str,
    event: str,
    action: str | None,
    body: str,
    redelivery: bool = False,
) -> HookDelivery:
    now = utcnow()
    delivery = HookDelivery(
        hook_id=hook_id,
        guid=guid,
        event=event,
        action=action,
        body=body,
        redelivery=redelivery,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.info[PENDING_KEY] = True
    return delivery


def redeliver(session: Session, original: HookDelivery) -> HookDelivery:
    """The same event again, as a new delivery with the same GUID (GitHub's redelivery)."""
    delivery = new_delivery(
        session,
        original.hook_id,
        guid=original.guid,
        event=original.event,
        action=original.action,
        body=original.body,
        redelivery=True,
    )
    session.flush()
    return delivery
