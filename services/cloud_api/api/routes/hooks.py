"""Owner-managed webhooks (SPEC 7.3), in the shape of GitHub's hooks API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.api.hook_views import (
    attempt_view,
    delivery_detail,
    delivery_view,
    hook_view,
    hooks_url,
)
from services.cloud_api.db.models import Hook
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.events import webhooks
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.events.delivery_log import (
    LoggedDelivery,
    get_delivery,
    list_deliveries,
)
from services.cloud_api.domain.events.publishing import redeliver
from services.cloud_api.domain.events.webhooks import HookInput, check_input
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.hook_schemas import (
    AttemptView,
    DeliveryDetail,
    DeliveryView,
    HookCreate,
    HookUpdate,
    HookView,
)
from services.cloud_api.settings import Settings
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared.errors import error_responses

router = APIRouter(tags=["hooks"], responses=error_responses())
HOOK = "/enterprises/{enterprise}/hooks/{hook_id}"
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("/enterprises/{enterprise}/hooks", status_code=status.HTTP_201_CREATED)
def create_hook(
    enterprise: str,
    body: HookCreate,
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("hook.create")],
) -> HookView:
    """A new hook; it is sent a ``ping`` at once."""
    require_enterprise(owner, enterprise)
    checked = _checked(body, state.settings)
    with state.sessions.begin() as session:
        target = webhooks.lock_enterprise(session, owner.enterprise_id)
        consumed = state.cache.figures(session, target).figures.consumed
        hook = webhooks.create_hook(session, target, checked, consumed=consumed)
        record_entry(session, audit, target.id, **hook_fields(hook))
        return hook_view(session, hook, hooks_url(request, enterprise))


@router.get("/enterprises/{enterprise}/hooks")
def list_hooks(
    enterprise: str, request: Request, owner: OwnerDep, state: StateDep
) -> list[HookView]:
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        hooks = webhooks.list_hooks(session, owner.enterprise_id)
        return [hook_view(session, hook, hooks_url(request, enterprise)) for hook in hooks]


@router.get(HOOK)
def get_hook(
    enterprise: str, hook_id: Id, request: Request, owner: OwnerDep, state: StateDep
) -> HookView:
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        hook = webhooks.get_hook(session, owner.enterprise_id, hook_id)
        return hook_view(session, hook, hooks_url(request, enterprise))


@router.patch(HOOK)
def update_hook(
    enterprise: str,
    hook_id: Id,
    body: HookUpdate,
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("hook.update")],
) -> HookView:
    """Change any of the fields; new thresholds start from the current figure."""
    require_enterprise(owner, enterprise)
    checked = _checked(body, state.settings)
    with state.sessions.begin() as session:
        target = webhooks.lock_enterprise(session, owner.enterprise_id)
        consumed = state.cache.figures(session, target).figures.consumed
        hook = webhooks.update_hook(session, target, hook_id, checked, consumed=consumed)
        changed = sorted(body.model_fields_set)  # which fields; a secret's value never
        record_entry(session, audit, target.id, **hook_fields(hook), changed=changed)
        return hook_view(session, hook, hooks_url(request, enterprise))


@router.delete(HOOK, status_code=status.HTTP_204_NO_CONTENT)
def delete_hook(
    enterprise: str,
    hook_id: Id,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("hook.delete")],
) -> Response:
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        gone = webhooks.delete_hook(session, owner.enterprise_id, hook_id)
        record_entry(session, audit, owner.enterprise_id, **hook_fields(gone))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(f"{HOOK}/pings", status_code=status.HTTP_204_NO_CONTENT)
def ping_hook(
    enterprise: str,
    hook_id: Id,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("hook.ping")],
) -> Response:
    """Sends the hook a ``ping`` event."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        delivery = webhooks.ping_hook(session, target, hook_id)
        record_entry(session, audit, target.id, hook_id=hook_id, guid=delivery.guid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(f"{HOOK}/deliveries")
def list_hook_deliveries(
    enterprise: str,
    hook_id: Id,
    request: Request,
    response: Response,
    owner: OwnerDep,
    state: StateDep,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
    cursor: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[DeliveryView]:
    """Newest first, each with every attempt; the ``Link`` header's ``next`` has the
    cursor of the next page."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        webhooks.get_hook(session, owner.enterprise_id, hook_id)
        page = list_deliveries(session, hook_id, cursor=cursor, per_page=per_page)
    if page.next_cursor is not None:
        following = request.url.include_query_params(cursor=page.next_cursor, per_page=per_page)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return [delivery_view(logged) for logged in page.deliveries]


@router.get(f"{HOOK}/deliveries/{{delivery_id}}")
def get_hook_delivery(
    enterprise: str, hook_id: Id, delivery_id: Id, owner: OwnerDep, state: StateDep
) -> DeliveryDetail:
    """One delivery with its request (headers and payload as sent) and every attempt."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        hook = webhooks.get_hook(session, owner.enterprise_id, hook_id)
        return delivery_detail(hook, get_delivery(session, hook_id, delivery_id))


@router.get(f"{HOOK}/deliveries/{{delivery_id}}/attempts")
def list_delivery_attempts(
    enterprise: str, hook_id: Id, delivery_id: Id, owner: OwnerDep, state: StateDep
) -> list[AttemptView]:
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        webhooks.get_hook(session, owner.enterprise_id, hook_id)
        logged = get_delivery(session, hook_id, delivery_id)
        return [attempt_view(attempt) for attempt in logged.attempts]


@router.post(f"{HOOK}/deliveries/{{delivery_id}}/attempts", status_code=status.HTTP_202_ACCEPTED)
def redeliver_hook_delivery(
    enterprise: str,
    hook_id: Id,
    delivery_id: Id,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("hook.redeliver")],
) -> DeliveryView:
    """Redelivers: a new delivery of the same event, with the same GUID."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        webhooks.get_hook(session, owner.enterprise_id, hook_id)
        original = get_delivery(session, hook_id, delivery_id).delivery
        delivery = redeliver(session, original)
        record_entry(
            session,
            audit,
            owner.enterprise_id,
            hook_id=hook_id,
            delivery_id=original.id,
            guid=original.guid,
            event=original.event,
        )
        return delivery_view(LoggedDelivery(delivery, []))


def hook_fields(hook: Hook) -> dict[str, object]:
    """What the audit log says of a hook (never its secret)."""
    return {"hook_id": hook.id, "url": hook.url, "events": list(hook.events), "active": hook.active}


def _checked(body: HookCreate | HookUpdate, settings: Settings) -> HookInput:
    return check_input(
        url=body.url,
        secret=body.secret,
        events=body.events,
        active=body.active,
        thresholds=body.config.thresholds if body.config is not None else None,
        allow_private=settings.hooks_allow_private,
    )
