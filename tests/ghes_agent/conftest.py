from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from tests.conftest import AGENT_ADMIN_TOKEN

CLOUD_URL = "http://cloud.test"
INSTANCE_TOKEN = "lsi_test-instance-token"
HEADER = (
    "created_at,id,login,email,role,suspended?,last_logged_ip,repos,ssh_keys,"
    "org_memberships,dormant?,last_active,raw_login,2fa_enabled?"
)
UserRow = tuple[int, str, bool, bool]  # id, email ("" for none), suspended, dormant


def users_csv_text(rows: Sequence[UserRow]) -> str:
    lines = [HEADER]
    for user_id, email, suspended, dormant in rows:
        lines.append(
            f"2021-01-01 00:00:00 UTC,{user_id},user{user_id},{email},user,"
            f"{str(suspended).lower()},10.0.0.1,1,0,1,{str(dormant).lower()},"
            f"2026-11-01 00:00:00 UTC,user{user_id},false"
        )
    return "\n".join(lines) + "\n"


DEFAULT_USERS: list[UserRow] = [
    (1, "mona@example.com", False, False),
    (2, "Hubot@Example.com", False, True),
    (3, "", False, False),
    (4, "sus@example.com", True, False),
]


@pytest.fixture
def users_csv(tmp_path: Path) -> Path:
    path = tmp_path / "all_users.csv"
    path.write_text(users_csv_text(DEFAULT_USERS))
    return path


@pytest.fixture
def agent_settings(
    new_database_url: Callable[[], str], tmp_path: Path, users_csv: Path
) -> AgentSettings:
    return AgentSettings(
        data_dir=tmp_path / "agent-data",
        database_url=new_database_url(),
        cloud_url=CLOUD_URL,
        instance_token=SecretStr(INSTANCE_TOKEN),
        users_csv=users_csv,
        hostname="ghes.example.com",
        ghes_version="3.14.2",
        admin_token=SecretStr(AGENT_ADMIN_TOKEN),
        scheduler_enabled=False,
    )


@pytest.fixture
async def agent_app(agent_settings: AgentSettings) -> AsyncIterator[FastAPI]:
    app = create_app(agent_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def agent(agent_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(agent_app) as client:
        yield client


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://agent.test",
        headers={"Authorization": f"Bearer {AGENT_ADMIN_TOKEN}"},
    )


async def wait_for_run(client: httpx.AsyncClient, run_id: str) -> dict[str, Any]:
    """Poll until the run is over (bounded, so a hung run fails the test, not the suite)."""
    for _ in range(2000):
        run: dict[str, Any] = (await client.get(f"/sync/runs/{run_id}")).json()
        if run["status"] not in ("queued", "running"):
            return run
        await asyncio.sleep(0.005)
    raise AssertionError(f"run {run_id} did not finish: {run}")


async def sync_now(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.post("/sync/trigger")
    assert response.status_code == 202, response.text
    return await wait_for_run(client, response.json()["id"])
