"""Hooks and deliveries as the API shows them. The secret is never part of a view."""

from __future__ import annotations

from typing import cast

import orjson
from fastapi import Request
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Hook, HookDeliveryAttempt
from services.cloud_api.domain.events.delivery_log import LoggedDelivery, last_attempted
from services.cloud_api.domain.events.signing import delivery_headers
from services.cloud_api.hook_schemas import (
    AttemptView,
    DeliveryDetail,
    DeliveryRequest,
    DeliveryState,
    DeliveryView,
    HookConfigView,
    HookLastResponse,
    HookView,
)

MASKED = "********"  # what GitHub shows in place of a hook's secret


def hooks_url(request: Request, enterprise: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/enterprises/{enterprise}/hooks"


def hook_view(session: Session, hook: Hook, hooks_api_url: str) -> HookView:
    api_url = f"{hooks_api_url}/{hook.id}"
    return HookView(
        id=hook.id,
        type="Enterprise",
        name="web",
        active=hook.active,
        events=list(hook.events),
        url=hook.url,
        config=HookConfigView(
            url=hook.url,
            content_type="json",
            insecure_ssl="0",
            secret=MASKED,
            thresholds=list(hook.thresholds),
        ),
        thresholds_reached=list(hook.thresholds_reached),
        created_at=hook.created_at,
        updated_at=hook.updated_at,
        last_response=_last_response(session, hook.id),
        ping_url=f"{api_url}/pings",
        deliveries_url=f"{api_url}/deliveries",
    )


def _last_response(session: Session, hook_id: int) -> HookLastResponse:
    last = last_attempted(session, hook_id)
    if last is None:
        return HookLastResponse(code=None, status="unused", message=None)
    ok = last.state == "delivered"
    return HookLastResponse(
        code=last.status_code, status="active" if ok else "failing", message=last.status
    )


def attempt_view(attempt: HookDeliveryAttempt) -> AttemptView:
    return AttemptView(
        attempted_at=attempt.attempted_at,
        status_code=attempt.status_code,
        duration=attempt.duration,
        error=attempt.error,
    )


def delivery_view(logged: LoggedDelivery) -> DeliveryView:
    delivery = logged.delivery
    state = delivery.state
    return DeliveryView(
        id=delivery.id,
        guid=delivery.guid,
        delivered_at=delivery.delivered_at,
        redelivery=delivery.redelivery,
        duration=delivery.duration,
        status=delivery.status or ("pending" if state == "pending" else state),
        status_code=delivery.status_code or 0,
        event=delivery.event,
        action=delivery.action,
        state=cast(DeliveryState, state),
        next_attempt_at=delivery.next_attempt_at if state == "pending" else None,
        attempts=[attempt_view(attempt) for attempt in logged.attempts],
    )


def delivery_detail(hook: Hook, logged: LoggedDelivery) -> DeliveryDetail:
    """With the request as it is sent now: signed with the hook's current secret."""
    delivery = logged.delivery
    body = delivery.body.encode()
    headers = delivery_headers(
        secret=hook.secret,
        body=body,
        event=delivery.event,
        guid=delivery.guid,
        hook_id=hook.id,
        enterprise_id=hook.enterprise_id,
    )
    return DeliveryDetail(
        **delivery_view(logged).model_dump(),
        url=hook.url,
        request=DeliveryRequest(headers=headers, payload=orjson.loads(body)),
    )
