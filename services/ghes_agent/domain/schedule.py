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


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def describe_cron(expression: str) -> str:
    """The schedule in words, for the forms a weekly or daily sync is written in
    (``37 14 * * tue``: "every Tuesday at 14:37 UTC"); any other form is quoted as is."""
    as_is = f"cron {expression} (UTC)"
    fields = expression.split()
    if len(fields) != 5 or fields[2:4] != ["*", "*"]:
        return as_is
    minute, hour, _, _, weekday = fields
    if not (minute.isdigit() and hour.isdigit()):
        return as_is
    at = f"at {int(hour):02}:{int(minute):02} UTC"
    if weekday == "*":
        return f"every day {at}"
    days = [_day_name(day) for day in weekday.lower().split(",")]
    names = [day for day in days if day is not None]
    if len(names) != len(days):
        return as_is
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"every {listed} {at}"


def _day_name(day: str) -> str | None:
    """``mon``..``sun``, or cron's numbers (0 and 7 are Sunday)."""
    if day in DAYS:
        return _WEEKDAYS[DAYS.index(day)]
    if day.isdigit() and int(day) <= 7:
        return _WEEKDAYS[(int(day) - 1) % 7]
    return None
