"""The weekly schedule: spread by server_id, caught up once after downtime, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from services.ghes_agent import jobs
from services.ghes_agent.domain import runs
from services.ghes_agent.domain.schedule import (
    cron_trigger,
    default_cron,
    describe_cron,
    latest_slot,
)
from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from tests.ghes_agent.conftest import CLOUD_URL, client_for, wait_for_run
from tests.ghes_agent.test_sync_api import receipt_for

MONDAY_3AM = "0 3 * * mon"


def test_default_schedule_is_weekly_and_spread_by_server_id() -> None:
    crons = {default_cron(f"server-{n}") for n in range(50)}
    assert len(crons) > 40  # different servers, different minutes
    assert default_cron("server-1") == default_cron("server-1")
    trigger = cron_trigger(default_cron("server-1"))
    first = trigger.get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert second - first == timedelta(days=7)


def test_latest_slot_is_the_last_fire_time_not_after_now() -> None:
    trigger = cron_trigger(MONDAY_3AM)
    tuesday = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert latest_slot(trigger, tuesday, timedelta(days=8)) == datetime(
        2026, 11, 23, 3, 0, tzinfo=UTC
    )
    exactly = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    assert latest_slot(trigger, exactly, timedelta(days=8)) == exactly


def test_a_malformed_cron_is_refused() -> None:
    with pytest.raises(ValueError, match=r".*"):
        cron_trigger("every monday")


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("37 14 * * tue", "every Tuesday at 14:37 UTC"),
        ("0 3 * * MON", "every Monday at 03:00 UTC"),
        ("5 3 * * *", "every day at 03:05 UTC"),
        ("0 0 * * 0,3", "every Sunday and Wednesday at 00:00 UTC"),
        ("0 0 * * 1,5,7", "every Monday, Friday and Sunday at 00:00 UTC"),
        ("0 0 1 * *", "cron 0 0 1 * * (UTC)"),
        ("*/5 * * * *", "cron */5 * * * * (UTC)"),
        ("0 9 * * mon-fri", "cron 0 9 * * mon-fri (UTC)"),
    ],
)
def test_the_schedule_in_words(cron: str, words: str) -> None:
    assert describe_cron(cron) == words


def test_every_default_schedule_reads_as_a_weekday_and_time() -> None:
    for n in range(20):
        words = describe_cron(default_cron(f"server-{n}"))
        assert words.startswith("every ")
        assert words.endswith(" UTC")
        assert "cron" not in words


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))  # a Sunday
    monkeypatch.setattr(jobs, "utcnow", fake)
    monkeypatch.setattr(runs, "utcnow", fake)
    return fake


async def _start_and_list_scheduled(settings: AgentSettings, processes: int = 1) -> list[str]:
    """Start ``processes`` agents on one database, let catch-up happen, list scheduled runs."""
    apps = [create_app(settings) for _ in range(processes)]
    contexts = [app.router.lifespan_context(app) for app in apps]
    for context in contexts:
        await context.__aenter__()
    try:
        for app in apps:  # however often it restarts, each process registers the job once
            assert [job.id for job in app.state.agent.schedule.scheduler.get_jobs()] == [
                "weekly-license-sync"
            ]
        async with client_for(apps[0]) as client:
            listed = (await client.get("/sync/runs")).json()["runs"]
            for run in listed:
                await wait_for_run(client, run["id"])
            listed = (await client.get("/sync/runs")).json()["runs"]
    finally:
        for context in reversed(contexts):
            await context.__aexit__(None, None, None)
    return [run["id"] for run in listed if run["trigger"] == "scheduled"]


@respx.mock
async def test_slot_missed_while_down_runs_once_and_restarts_do_not_repeat_it(
    agent_settings: AgentSettings, clock: Clock
) -> None:
    respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    settings = agent_settings.model_copy(
        update={"scheduler_enabled": True, "sync_cron": MONDAY_3AM}
    )
    # Installed on Sunday: no slot has passed since, nothing to catch up.
    assert await _start_and_list_scheduled(settings) == []
    # Down over Monday 03:00, back on Tuesday: the missed slot runs once.
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    caught_up = await _start_and_list_scheduled(settings)
    assert len(caught_up) == 1
    # Restarted again (twice) the same week: the slot has run, nothing more.
    for hours in (1, 30):
        clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC) + timedelta(hours=hours)
        assert await _start_and_list_scheduled(settings) == caught_up


@respx.mock
async def test_two_agents_on_one_database_run_a_slot_once(
    agent_settings: AgentSettings, clock: Clock
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    settings = agent_settings.model_copy(
        update={"scheduler_enabled": True, "sync_cron": MONDAY_3AM}
    )
    await _start_and_list_scheduled(settings)  # installed on Sunday
    clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    scheduled = await _start_and_list_scheduled(settings, processes=2)
    assert len(scheduled) == 1
    assert route.call_count == 1


async def test_status_shows_the_next_scheduled_run(
    agent_settings: AgentSettings, clock: Clock
) -> None:
    settings = agent_settings.model_copy(
        update={"scheduler_enabled": True, "sync_cron": MONDAY_3AM}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        status = (await client.get("/sync/status")).json()
    assert status["schedule"] == MONDAY_3AM
    assert status["schedule_in_words"] == "every Monday at 03:00 UTC"
    next_run = datetime.fromisoformat(status["next_scheduled_run"])
    assert (next_run.weekday(), next_run.hour, next_run.minute) == (0, 3, 0)


async def test_agent_status_before_any_run(agent: httpx.AsyncClient) -> None:
    status = (await agent.get("/sync/status")).json()
    assert status["last_success"] is None
    assert status["last_attempt"] is None
    assert status["pending_reports"] == 0
