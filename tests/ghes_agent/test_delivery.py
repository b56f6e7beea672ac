"""Nothing is lost under faults: undelivered reports are kept and retried (issue 5).

The agent talks to the real cloud app through a transport that injects faults: error
answers, timeouts, connection resets, answers lost after the cloud committed, and a cloud
that is down for a whole window before it comes back."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from services.cloud_api.domain.ingest import usage_reports
from services.common.clock import utcnow
from services.ghes_agent.db.models import OutboxReport
from services.ghes_agent.domain.delivery import RetryPolicy, parse_retry_after
from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from tests.builders import auth, connect, licenses, new_enterprise
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.ghes_agent.conftest import CLOUD_URL, client_for, sync_now, users_csv_text
from tests.ghes_agent.test_sync_api import receipt_for

Fault = str | httpx.Response


class FaultyTransport(httpx.AsyncBaseTransport):
    """Plays ``plan`` one fault per request, then lets requests through to ``inner``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, plan: list[Fault]) -> None:
        self.inner = inner
        self.plan = list(plan)
        self.attempts = 0
        self.hanging = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.attempts += 1
        fault = self.plan.pop(0) if self.plan else None
        if isinstance(fault, httpx.Response):
            return fault
        if fault == "timeout":
            raise httpx.ReadTimeout("injected timeout", request=request)
        if fault == "reset":
            raise httpx.RemoteProtocolError("injected connection reset", request=request)
        if fault == "refused":
            raise httpx.ConnectError("injected connection refused", request=request)
        if fault == "hang":
            self.hanging.set()
            await asyncio.Event().wait()
        response = await self.inner.handle_async_request(request)
        if fault == "lost":
            await response.aread()
            raise httpx.ReadError("injected: the answer was lost after the cloud committed")
        return response


def test_retry_after_in_seconds_and_as_http_date() -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    later = format_datetime(now + timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(later, now) == 300
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
    policy = RetryPolicy(base_seconds=10, cap_seconds=600)
    assert policy.delay(1, "86400", now) == 600  # a Retry-After is honoured up to the cap


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base_seconds=10, cap_seconds=300, rng=random.Random(1))
    for attempts, ceiling in ((1, 10), (2, 20), (3, 40), (6, 300), (20, 300)):
        samples = [policy.backoff(attempts) for _ in range(200)]
        assert all(0 <= s <= ceiling for s in samples)
        assert max(samples) > ceiling * 0.8  # spread over the whole range: full jitter
        assert min(samples) < ceiling * 0.2


@pytest.fixture
async def enterprise(cloud: httpx.AsyncClient) -> tuple[str, str]:
    owner = await new_enterprise(cloud)
    return owner, await connect(cloud, owner, hostname="ghes.example.com")


@pytest.fixture
def make_settings(
    new_database_url: Callable[[], str], tmp_path: Path, enterprise: tuple[str, str]
) -> Callable[..., AgentSettings]:
    users = tmp_path / "all_users.csv"
    users.write_text(users_csv_text([(1, "a@example.com", False, False), (2, "", False, False)]))
    database = new_database_url()

    def make(**changes: Any) -> AgentSettings:
        base = AgentSettings(
            data_dir=tmp_path / "agent",
            database_url=database,
            cloud_url="http://cloud.test",
            instance_token=SecretStr(enterprise[1]),
            users_csv=users,
            hostname="ghes.example.com",
            admin_token=SecretStr(AGENT_ADMIN_TOKEN),
            scheduler_enabled=False,
            retry_base_seconds=0.01,
            retry_cap_seconds=0.05,
        )
        return base.model_copy(update=changes)

    return make


async def wait_until_delivered(client: httpx.AsyncClient) -> dict[str, Any]:
    for _ in range(1000):
        status: dict[str, Any] = (await client.get("/sync/status")).json()
        if status["pending_reports"] == 0 and status["last_run_status"] == "succeeded":
            return status
        await asyncio.sleep(0.01)
    raise AssertionError(f"never delivered: {status}")


async def history(cloud: httpx.AsyncClient, owner: str) -> list[dict[str, Any]]:
    response = await cloud.get("/enterprise/licenses/history", headers=auth(owner))
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


@pytest.mark.parametrize(
    "fault",
    [
        httpx.Response(500),
        httpx.Response(502, text="Bad Gateway"),
        httpx.Response(503, json={"error": "unavailable", "detail": "maintenance"}),
        httpx.Response(504),
        httpx.Response(429, headers={"Retry-After": "0"}),
        "timeout",
        "reset",
        "refused",
    ],
    ids=["500", "502", "503", "504", "429", "timeout", "reset", "refused"],
)
async def test_transient_failures_are_retried_until_delivered(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
    fault: Fault,
) -> None:
    owner, _token = enterprise
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), [fault])
    app = create_app(make_settings(), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        assert first["status"] == "failed"
        assert "will retry at" in first["error"]
        status = await wait_until_delivered(agent)
        runs = (await agent.get("/sync/runs")).json()["runs"]
    retry = runs[0]
    assert retry["trigger"] == "retry"
    assert retry["status"] == "succeeded"
    assert retry["report_id"] == first["report_id"]  # the same report, sent again
    assert status["undelivered_error"] is None
    assert [e["report_id"] for e in await history(cloud, owner)] == [first["report_id"]]
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 2


async def test_retry_after_is_honoured(
    cloud_app: FastAPI, make_settings: Callable[..., AgentSettings]
) -> None:
    busy = httpx.Response(429, headers={"Retry-After": "30"})
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), [busy])
    app = create_app(make_settings(retry_cap_seconds=3600), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        before = datetime.now(UTC)
        run = await sync_now(agent)
        status = (await agent.get("/sync/status")).json()
    assert run["status"] == "failed"
    retry_at = datetime.fromisoformat(status["next_retry_at"]).replace(tzinfo=UTC)
    assert timedelta(seconds=25) < retry_at - before < timedelta(seconds=35)
    assert status["pending_reports"] == 1
    assert "429" in status["undelivered_error"]


async def test_a_cloud_down_for_the_whole_window_gets_the_report_when_back(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
) -> None:
    owner, _ = enterprise
    outage: list[Fault] = ["refused", httpx.Response(503), "timeout"] * 4
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), outage)
    app = create_app(make_settings(), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        await wait_until_delivered(agent)
        runs = (await agent.get("/sync/runs")).json()["runs"]
    assert transport.attempts == len(outage) + 1
    assert sum(run["attempts"] for run in runs) == len(outage) + 1
    assert [e["report_id"] for e in await history(cloud, owner)] == [first["report_id"]]


async def test_an_answer_lost_after_commit_is_answered_from_the_stored_result(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
) -> None:
    owner, _ = enterprise
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), ["lost"])
    app = create_app(make_settings(), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        assert first["status"] == "failed"
        await wait_until_delivered(agent)
        retry = (await agent.get("/sync/runs")).json()["runs"][0]
    assert retry["receipt"]["status"] == "duplicate"
    assert retry["receipt"]["report_id"] == first["report_id"]
    assert len(await history(cloud, owner)) == 1


async def test_an_agent_killed_mid_request_resends_the_same_report_after_restart(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
) -> None:
    owner, _ = enterprise
    hanging = FaultyTransport(httpx.ASGITransport(app=cloud_app), ["hang"])
    app = create_app(make_settings(), cloud_transport=hanging)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        started = (await agent.post("/sync/trigger")).json()
        await asyncio.wait_for(hanging.hanging.wait(), timeout=10)
        report_id = (await agent.get(f"/sync/runs/{started['id']}")).json()["report_id"]
    # The process is gone mid-request. A new one starts on the same database.
    healthy = FaultyTransport(httpx.ASGITransport(app=cloud_app), [])
    app = create_app(make_settings(), cloud_transport=healthy)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        interrupted = (await agent.get(f"/sync/runs/{started['id']}")).json()
        assert interrupted["status"] == "failed"
        assert "stopped during the run" in interrupted["error"]
        await wait_until_delivered(agent)
    assert [e["report_id"] for e in await history(cloud, owner)] == [report_id]


async def test_a_refusal_is_final_and_shown(
    cloud_app: FastAPI, make_settings: Callable[..., AgentSettings]
) -> None:
    refusal = httpx.Response(422, json={"error": "invalid_report", "detail": "users[0].id: bad"})
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), [refusal])
    app = create_app(make_settings(), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        run = await sync_now(agent)
        status = (await agent.get("/sync/status")).json()
    assert run["status"] == "failed"
    assert "not sent again" in run["error"]
    assert status["pending_reports"] == 0
    assert status["next_retry_at"] is None
    assert "invalid_report" in status["undelivered_error"]
    assert transport.attempts == 1


async def test_a_report_undelivered_too_long_is_given_up(
    cloud_app: FastAPI, make_settings: Callable[..., AgentSettings]
) -> None:
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), [httpx.Response(503)])
    settings = make_settings(retry_give_up_days=1e-9)
    app = create_app(settings, cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        run = await sync_now(agent)
        status = (await agent.get("/sync/status")).json()
    assert "given up" in run["error"]
    assert status["pending_reports"] == 0
    assert "503" in status["undelivered_error"]


async def test_a_newer_report_supersedes_an_undelivered_one(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
) -> None:
    owner, _ = enterprise
    down = [httpx.Response(503)] * 2
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), down)
    app = create_app(
        make_settings(retry_base_seconds=3600, retry_cap_seconds=3600), cloud_transport=transport
    )
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        assert (await agent.get("/sync/status")).json()["pending_reports"] == 1
        second = await sync_now(agent)  # the cloud is still down
        assert (await agent.get("/sync/status")).json()["pending_reports"] == 1
        third = await sync_now(agent)  # the cloud is back
        assert third["status"] == "succeeded"
        assert (await agent.get("/sync/status")).json()["pending_reports"] == 0
    assert first["sequence"] < second["sequence"] < third["sequence"]
    assert [e["report_id"] for e in await history(cloud, owner)] == [third["report_id"]]


@respx.mock
async def test_an_idle_delivery_worker_starts_no_runs(
    agent_app: FastAPI, agent: httpx.AsyncClient
) -> None:
    # With nothing pending, a step of the worker (awaited to its end) starts no run and
    # sleeps for the idle interval: exactly the runs that were asked for exist.
    respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    worker = agent_app.state.agent.worker
    assert await worker.step() == worker.IDLE_CHECK_SECONDS
    assert (await agent.get("/sync/runs")).json()["runs"] == []
    run = await sync_now(agent)
    assert run["status"] == "succeeded"
    assert await worker.step() == worker.IDLE_CHECK_SECONDS
    assert [r["id"] for r in (await agent.get("/sync/runs")).json()["runs"]] == [run["id"]]


async def test_a_database_error_during_ingest_is_retried_and_nothing_is_lost(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    enterprise: tuple[str, str],
    make_settings: Callable[..., AgentSettings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner, _ = enterprise
    real_insert = usage_reports.bulk_insert_users
    failures = iter([True])

    def failing_once(*args: Any, **kwargs: Any) -> list[str | None]:
        keys = real_insert(*args, **kwargs)
        if next(failures, False):
            raise OperationalError("INSERT ...", {}, Exception("injected: server closed"))
        return keys

    monkeypatch.setattr(usage_reports, "bulk_insert_users", failing_once)
    transport = FaultyTransport(httpx.ASGITransport(app=cloud_app), [])
    app = create_app(make_settings(), cloud_transport=transport)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        assert first["status"] == "failed"
        assert "503 database_unavailable" in first["error"]
        await wait_until_delivered(agent)
    assert [e["report_id"] for e in await history(cloud, owner)] == [first["report_id"]]
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 2


async def test_an_agent_without_a_cloud_keeps_no_report_and_retries_nothing(
    agent_settings: AgentSettings,
) -> None:
    # An export-only agent (no cloud URL or token): a sync fails at once and says why; no
    # report is left pending, so the worker has nothing to retry (it used to claim the
    # report, fail "not connected", and start a failing run every step).
    settings = agent_settings.model_copy(update={"cloud_url": None, "instance_token": None})
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        run = await sync_now(agent)
        assert run["status"] == "failed"
        assert "not connected" in run["error"]
        assert run["report_id"] is None
        assert (await agent.get("/sync/status")).json()["pending_reports"] == 0
        worker = app.state.agent.worker
        assert await worker.step() == worker.IDLE_CHECK_SECONDS
        assert [r["id"] for r in (await agent.get("/sync/runs")).json()["runs"]] == [run["id"]]


@respx.mock
async def test_a_report_another_process_sends_is_not_retried_before_its_lease_ends(
    agent_app: FastAPI, agent: httpx.AsyncClient
) -> None:
    respx.post(f"{CLOUD_URL}/server-usage").mock(return_value=httpx.Response(503))
    failed = await sync_now(agent)
    assert failed["status"] == "failed"
    state = agent_app.state.agent
    with state.sessions.begin() as session:  # due now, and held by another process
        session.execute(
            update(OutboxReport)
            .where(OutboxReport.report_id == failed["report_id"])
            .values(next_attempt_at=utcnow(), lease_until=utcnow() + timedelta(minutes=5))
        )
    wait = await state.worker.step()
    assert 0 < wait <= state.worker.IDLE_CHECK_SECONDS
    assert [r["id"] for r in (await agent.get("/sync/runs")).json()["runs"]] == [failed["id"]]
