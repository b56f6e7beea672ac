"""``license.threshold_crossed``: once per crossing, up or down, not on every report.

Each hook keeps the thresholds the figure was at or above (``Hook.thresholds_reached``).
Whatever moves the figure or the purchased seats calls :func:`figure_changed` in its own
transaction, after the new figure is computed: the state and the deliveries it causes
commit or roll back with the change itself. Those transactions all write the enterprise's
row first, so they run one after the other and each compares against what the last left.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, Hook
from services.cloud_api.domain.events import payloads
from services.cloud_api.domain.events.publishing import publish, subscribed
from services.cloud_api.domain.events.webhooks import reached

EVENT = "license.threshold_crossed"


def figure_changed(session: Session, enterprise: Enterprise, consumed: int) -> int:
    """Publishes a crossing for each threshold passed since the last change; returns how
    many deliveries that stored. Inactive and unsubscribed hooks keep their state current
    too, so that switching them on later does not announce an old crossing."""
    stored = 0
    hooks = session.scalars(select(Hook).where(Hook.enterprise_id == enterprise.id))
    for hook in hooks:
        now = set(reached(hook.thresholds, consumed, enterprise.seats_purchased))
        before = set(hook.thresholds_reached)
        if now == before:
            continue
        hook.thresholds_reached = sorted(now)
        if not (hook.active and subscribed(hook, EVENT)):
            continue
        crossings = [(t, "up") for t in sorted(now - before)]
        crossings += [(t, "down") for t in sorted(before - now, reverse=True)]
        for threshold, direction in crossings:
            payload = payloads.threshold_crossed(
                enterprise, threshold=threshold, direction=direction, consumed=consumed
            )
            stored += len(publish(session, enterprise.id, EVENT, payload, hooks=[hook]))
    return stored
