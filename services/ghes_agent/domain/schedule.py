"""When the weekly sync runs, and which schedule slot a run belongs to."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from services.common.clock import as_utc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_cron(server_id: str) -> str:
    """A weekly slot derived from the server_id, so that thousands of agents installed the
    same day do not all call the cloud in the same minute."""
    spread = int.from_bytes(hashlib.sha256(server_id.encode()).digest()[:8], "big")
    minute, hour, day = spread % 60, (spread // 60) % 24, (spread // 1440) % 7
    return f"{minute} {hour} * * {DAYS[day]}"


def cron_trigger(expression: str) -> CronTrigger:
    """Standard five-field cron, in UTC. Raises ValueError for a malformed expression."""
    return CronTrigger.from_crontab(expression, timezone="UTC")


def latest_slot(trigger: CronTrigger, now: datetime, horizon: timedelta) -> datetime | None:
    """The most recent fire time at or before ``now``, looking back ``horizon`` at most."""
    now = as_utc(now)
    cursor: datetime | None = trigger.get_next_fire_time(None, now - horizon)
    latest = None
    while cursor is not None and cursor <= now:
        latest = cursor
        cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(seconds=1))
    return as_utc(latest) if latest is not None else None
