"""Owner-managed hooks: what they point at, which events they want, their thresholds.

Input is checked before any transaction begins (``check_input``: the URL's host is
resolved, which may take a while); the checked input is then stored under the enterprise's
row lock, so that a hook's threshold state starts from the figure no concurrent change can
move in between.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise, Hook, HookDelivery
from services.cloud_api.domain.errors import InvalidInputError, NotFoundError
from services.cloud_api.domain.events import payloads
from services.cloud_api.domain.events.publishing import ALL_EVENTS, EVENTS, PENDING_KEY, publish
from services.cloud_api.domain.events.urls import check_hook_url
from services.common.clock import utcnow

DEFAULT_EVENTS = ("license.threshold_crossed", "server_instance.stale", "server_usage.refused")
DEFAULT_THRESHOLDS = (90, 100)
MAX_HOOKS = 20  # per enterprise, as GitHub limits hooks per organization


@dataclass(frozen=True, slots=True)
class HookInput:
    """Checked input; ``None`` leaves a field as it is (on update)."""

    url: str | None = None
    secret: str | None = None
    events: list[str] | None = None
    active: bool | None = None
    thresholds: list[int] | None = None


def check_input(
    *,
    url: str | None,
    secret: str | None,
    events: list[str] | None,
    active: bool | None,
    thresholds: list[int] | None,
    allow_private: bool,
) -> HookInput:
    return HookInput(
        url=None if url is None else check_hook_url(url, allow_private=allow_private),
        secret=None if secret is None else _check_secret(secret),
        events=None if events is None else _check_events(events),
        active=active,
        thresholds=None if thresholds is None else sorted(set(thresholds)),
    )


def _check_secret(secret: str) -> str:
    if not secret.strip():
        raise InvalidInputError(
            "secret: must not be empty; receivers verify each delivery's signature with it",
            code="invalid_secret",
        )
    return secret


def _check_events(events: list[str]) -> list[str]:
    if not events:
        raise InvalidInputError("events: name at least one event", code="invalid_events")
    for event in events:
        if event != ALL_EVENTS and event not in EVENTS:
            raise InvalidInputError(
                f"events: unknown event {event!r}; known: {', '.join(EVENTS)} (or '*')",
                code="invalid_events",
            )
    return list(dict.fromkeys(events))


def reached(thresholds: list[int], consumed: int, seats: int) -> list[int]:
    """The thresholds (percentages of purchased seats) the figure is at or above."""
    return [t for t in thresholds if consumed * 100 >= t * seats]


def lock_enterprise(session: Session, enterprise_id: int) -> Enterprise:
    enterprise = session.scalar(
        select(Enterprise).where(Enterprise.id == enterprise_id).with_for_update()
    )
    if enterprise is None:
        raise NotFoundError("enterprise not found")
    return enterprise


def create_hook(
    session: Session, enterprise: Enterprise, checked: HookInput, *, consumed: int
) -> Hook:
    """A new hook, which is sent a ``ping`` at once, as GitHub does. Its thresholds start
    from the current figure: a level already passed is not announced as a crossing."""
    if checked.url is None or checked.secret is None:
        raise InvalidInputError("url and secret are required")
    count = session.scalar(select(func.count()).where(Hook.enterprise_id == enterprise.id))
    if (count or 0) >= MAX_HOOKS:
        raise InvalidInputError(
            f"an enterprise has at most {MAX_HOOKS} hooks; delete one first",
            code="too_many_hooks",
        )
    now = utcnow()
    thresholds = checked.thresholds if checked.thresholds is not None else DEFAULT_THRESHOLDS
    hook = Hook(
        enterprise_id=enterprise.id,
        url=checked.url,
        secret=checked.secret,
        events=checked.events or list(DEFAULT_EVENTS),
        active=True if checked.active is None else checked.active,
        thresholds=list(thresholds),
        thresholds_reached=reached(list(thresholds), consumed, enterprise.seats_purchased),
        created_at=now,
        updated_at=now,
    )
    session.add(hook)
    session.flush()
    publish(session, enterprise.id, "ping", payloads.ping(hook, enterprise), hooks=[hook])
    return hook


def update_hook(
    session: Session, enterprise: Enterprise, hook_id: int, checked: HookInput, *, consumed: int
) -> Hook:
    hook = get_hook(session, enterprise.id, hook_id)
    if checked.url is not None:
        hook.url = checked.url
    if checked.secret is not None:
        hook.secret = checked.secret
    if checked.events is not None:
        hook.events = checked.events
    if checked.active is not None:
        if checked.active and not hook.active:
            session.info[PENDING_KEY] = True  # what waited while paused goes out now
        hook.active = checked.active
    if checked.thresholds is not None:
        hook.thresholds = checked.thresholds
        hook.thresholds_reached = reached(checked.thresholds, consumed, enterprise.seats_purchased)
    hook.updated_at = utcnow()
    session.flush()
    return hook


def get_hook(session: Session, enterprise_id: int, hook_id: int) -> Hook:
    hook = session.scalar(
        select(Hook).where(Hook.id == hook_id, Hook.enterprise_id == enterprise_id)
    )
    if hook is None:
        raise NotFoundError(f"hook {hook_id} not found")
    return hook


def list_hooks(session: Session, enterprise_id: int) -> list[Hook]:
    return list(
        session.scalars(select(Hook).where(Hook.enterprise_id == enterprise_id).order_by(Hook.id))
    )


def delete_hook(session: Session, enterprise_id: int, hook_id: int) -> Hook:
    """Its deliveries go with it (the foreign keys cascade), pending ones included."""
    hook = get_hook(session, enterprise_id, hook_id)
    session.delete(hook)
    return hook


def ping_hook(session: Session, enterprise: Enterprise, hook_id: int) -> HookDelivery:
    hook = get_hook(session, enterprise.id, hook_id)
    [delivery] = publish(
        session, enterprise.id, "ping", payloads.ping(hook, enterprise), hooks=[hook]
    )
    return delivery
