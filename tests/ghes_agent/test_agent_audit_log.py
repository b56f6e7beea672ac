"""The agent's own audit log: each acting request of its admin token leaves one entry, in
the cloud's shape, read newest first at ``GET /audit-log``."""

from __future__ import annotations

import asyncio
import getpass
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from scripts.servers import ROOT
from services.common.db import make_engine
from services.ghes_agent.settings import AgentSettings
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.ghes_agent.conftest import wait_for_run

ACTION = "x-audit-action"


async def entries(agent: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await agent.get("/audit-log", params=params)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def test_a_sync_now_is_recorded_with_its_run(agent: httpx.AsyncClient) -> None:
    response = await agent.post("/sync/trigger", headers={"X-Request-Id": "req-sync-1"})
    assert response.status_code == 202
    await wait_for_run(agent, response.json()["id"])
    [entry] = await entries(agent)
    assert entry["action"] == "license_sync.trigger"
    assert (entry["actor"], entry["actor_kind"]) == ("admin", "admin_token")
    assert "token_prefix" not in entry  # a hand-chosen admin token is named by kind alone
    assert entry["request_id"] == "req-sync-1"
    assert (entry["run_id"], entry["started"]) == (response.json()["id"], True)
    assert entry["@timestamp"] == entry["created_at"] > 1_700_000_000_000  # milliseconds


async def test_an_export_is_recorded_with_its_report(agent: httpx.AsyncClient) -> None:
    first = await agent.get("/license/usage/export")
    second = await agent.get("/license/usage/export")
    newest, oldest = await entries(agent)
    assert newest["action"] == oldest["action"] == "license_usage.export"
    assert newest["report_id"] == second.headers["x-report-id"]
    assert oldest["report_id"] == first.headers["x-report-id"]
    assert (oldest["sequence"], newest["sequence"]) == (1, 2)
    assert newest["users"] == 3  # the suspended account is left out
    assert newest["request_id"] == second.headers["x-request-id"]


async def test_the_log_pages_and_filters_like_the_clouds(agent: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await agent.get("/license/usage/export")).status_code == 200
    page = await agent.get("/audit-log", params={"per_page": 2})
    assert len(page.json()) == 2
    rest = await agent.get(str(page.links["next"]["url"]))
    assert [e["sequence"] for e in page.json() + rest.json()] == [3, 2, 1]
    assert [e["sequence"] for e in await entries(agent, phrase="sequence:2")] == [2]
    assert await entries(agent, phrase="action:license_sync") == []
    bad = await agent.get("/audit-log", params={"phrase": "created:soon"})
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_phrase")
    anonymous = await agent.get("/audit-log", headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def _trigger(agent: httpx.AsyncClient) -> httpx.Response:
    response = await agent.post("/sync/trigger")
    await wait_for_run(agent, response.json()["id"])
    return response


async def _export(agent: httpx.AsyncClient) -> httpx.Response:
    return await agent.get("/license/usage/export")


CALLS: dict[tuple[str, str], Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]] = {
    ("post", "/sync/trigger"): _trigger,
    ("get", "/license/usage/export"): _export,  # a read that acts: it takes a sequence
}


async def test_every_acting_operation_leaves_exactly_one_entry_naming_it(
    agent: httpx.AsyncClient, agent_app: FastAPI
) -> None:
    paths = agent_app.openapi()["paths"]
    operations = {
        (method, path): operation
        for path, item in paths.items()
        for method, operation in item.items()
        if method != "get" or ACTION in operation
    }
    assert set(operations) == set(CALLS), "every acting operation needs a row in CALLS"
    for key, operation in operations.items():
        before = await entries(agent)
        response = await CALLS[key](agent)
        assert response.is_success, response.text
        new = [e for e in await entries(agent) if e not in before]
        assert [e["action"] for e in new] == [operation[ACTION]], key


async def test_a_command_line_export_is_recorded_with_the_local_account(
    agent: httpx.AsyncClient, agent_settings: AgentSettings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "GHES_AGENT_DATA_DIR": str(agent_settings.data_dir),
        "GHES_AGENT_DATABASE_URL": str(agent_settings.database_url),
        "GHES_AGENT_USERS_CSV": str(agent_settings.users_csv),
        "GHES_AGENT_HOSTNAME": "ghes.example.com",
        "GHES_AGENT_ADMIN_TOKEN": AGENT_ADMIN_TOKEN,
    }
    exported = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "services.ghes_agent.cli", "export", "--output", str(tmp_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    [entry] = await entries(agent)
    assert entry["action"] == "license_usage.export"
    assert (entry["actor"], entry["actor_kind"]) == (
        f"command-line:{getpass.getuser()}",
        "command_line",
    )
    assert entry["request_id"].startswith("cli-")


async def test_the_agents_entries_cannot_be_changed_or_deleted(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    assert (await agent.get("/license/usage/export")).status_code == 200
    before = await entries(agent)
    engine = make_engine(agent_settings.resolved_database_url())
    try:
        for statement in ("UPDATE audit_entries SET actor = 'x'", "DELETE FROM audit_entries"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    assert await entries(agent) == before
