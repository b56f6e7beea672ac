"""The JSON bodies of the events. Each has GitHub's shape where GitHub has one: an
``action`` word to route on (except ``ping``) and the ``enterprise`` it concerns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from services.cloud_api.db.models import Enterprise, Hook, ServerInstance
from services.common.clock import isoformat_z

ZEN = "Anything added dilutes everything else."  # one of GitHub's zen sayings


def encode(payload: dict[str, Any]) -> str:
    """The exact text sent and signed: compact JSON, UTF-8."""
    return orjson.dumps(payload).decode()


def enterprise_ref(enterprise: Enterprise) -> dict[str, Any]:
    return {"id": enterprise.id, "slug": enterprise.slug, "name": enterprise.name}


def instance_ref(instance: ServerInstance) -> dict[str, Any]:
    return {"server_id": instance.server_id, "hostname": instance.hostname}


def hook_ref(hook: Hook) -> dict[str, Any]:
    return {
        "type": "Enterprise",
        "id": hook.id,
        "name": "web",
        "active": hook.active,
        "events": list(hook.events),
        "config": {"url": hook.url, "content_type": "json", "insecure_ssl": "0"},
        "created_at": isoformat_z(hook.created_at),
        "updated_at": isoformat_z(hook.updated_at),
    }


def ping(hook: Hook, enterprise: Enterprise) -> dict[str, Any]:
    return {
        "zen": ZEN,
        "hook_id": hook.id,
        "hook": hook_ref(hook),
        "enterprise": enterprise_ref(enterprise),
    }


def threshold_crossed(
    enterprise: Enterprise, *, threshold: int, direction: str, consumed: int
) -> dict[str, Any]:
    seats = enterprise.seats_purchased
    return {
        "action": direction,
        "threshold": threshold,
        "total_seats_consumed": consumed,
        "total_seats_purchased": seats,
        "percent_consumed": round(consumed * 100 / seats, 2) if seats else None,
        "enterprise": enterprise_ref(enterprise),
    }


def instance_stale(
    enterprise: Enterprise,
    instance: ServerInstance,
    *,
    last_report_at: datetime | None,
    stale_after_days: float,
) -> dict[str, Any]:
    return {
        "action": "stale",
        "server_instance": {
            **instance_ref(instance),
            "last_report_at": isoformat_z(last_report_at) if last_report_at else None,
            "connected_at": isoformat_z(instance.created_at),
        },
        "stale_after_days": stale_after_days,
        "enterprise": enterprise_ref(enterprise),
    }


def usage_refused(
    enterprise: Enterprise,
    instance: dict[str, Any] | None,
    *,
    source: str,
    error: str,
    detail: str,
) -> dict[str, Any]:
    return {
        "action": "refused",
        "source": source,
        "error": error,
        "detail": detail,
        "server_instance": instance,
        "enterprise": enterprise_ref(enterprise),
    }
