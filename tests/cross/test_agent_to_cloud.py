"""The agent's real client talking to the real cloud app, in one process."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from services.ghes_agent.main import create_app as create_agent_app
from services.ghes_agent.settings import AgentSettings
from tests.builders import account, connect, import_accounts, licenses, new_enterprise
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.ghes_agent.conftest import client_for, sync_now, users_csv_text


async def test_agent_sync_reaches_the_cloud_and_moves_the_figure(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    new_database_url: Callable[[], str],
    tmp_path: Path,
) -> None:
    owner = await new_enterprise(cloud, seats=10)
    await import_accounts(cloud, owner, [account(1, "mona", ["mona@example.com"])])
    token = await connect(cloud, owner, hostname="ghes.example.com")
    users = tmp_path / "all_users.csv"
    users.write_text(
        users_csv_text(
            [
                (1, "MONA@example.com", False, False),
                (2, "hubot@example.com", False, True),
                (3, "gone@example.com", True, False),
            ]
        )
    )
    settings = AgentSettings(
        data_dir=tmp_path / "agent",
        database_url=new_database_url(),
        cloud_url="http://cloud.test",
        instance_token=SecretStr(token),
        users_csv=users,
        hostname="ghes.example.com",
        admin_token=SecretStr(AGENT_ADMIN_TOKEN),
        scheduler_enabled=False,
    )
    agent_app = create_agent_app(settings, cloud_transport=httpx.ASGITransport(app=cloud_app))
    async with agent_app.router.lifespan_context(agent_app), client_for(agent_app) as agent:
        run = await sync_now(agent)
        assert run["status"] == "succeeded", run
        assert run["receipt"]["status"] == "applied"
        server_id = (await agent.get("/instance")).json()["server_id"]
        # Syncing again sends a newer report; the figure stays put.
        assert (await sync_now(agent))["receipt"]["sequence"] == 2
    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 2  # mona (merged) and hubot
    assert view["breakdown"] == {"cloud_only": 0, "server_only": 1, "both": 1}
    instance = view["server_instances"][0]
    assert instance["server_id"] == server_id  # bound by the first report
    assert instance["current_sequence"] == 2
    assert instance["suspended_excluded"] == 1
    assert instance["last_sync"]["status"] == "success"
    mona = view["users"][0]
    assert mona["server_accounts"][0]["hostname"] == "ghes.example.com"
    assert mona["total_user_accounts"] == 2


async def test_committers_read_by_the_agent_are_counted_by_the_cloud(
    cloud: httpx.AsyncClient,
    cloud_app: FastAPI,
    new_database_url: Callable[[], str],
    tmp_path: Path,
) -> None:
    owner = await new_enterprise(cloud, seats=10)
    await import_accounts(
        cloud,
        owner,
        [
            account(1, "mona", ["mona@example.com"], advanced_security_committer=True),
            account(2, "cleo", ["cleo@example.com"], advanced_security_committer=True),
        ],
    )
    token = await connect(cloud, owner, hostname="ghes.example.com")
    users = tmp_path / "all_users.csv"
    users.write_text(
        users_csv_text(
            [
                (1, "MONA@example.com", False, False),
                (2, "hubot@example.com", False, True),
                (3, "gone@example.com", True, False),
            ]
        )
    )
    committers = tmp_path / "ghas_active_committers.csv"
    committers.write_text(
        "User login,Organization / repository,Last pushed date,Last pushed email\n"
        "user1,acme/app,2026-11-20,mona@example.com\n"
        "user2,acme/app,2026-11-19,hubot@example.com\n"
        "user3,acme/app,2026-11-01,gone@example.com\n"
    )
    settings = AgentSettings(
        data_dir=tmp_path / "agent",
        database_url=new_database_url(),
        cloud_url="http://cloud.test",
        instance_token=SecretStr(token),
        users_csv=users,
        advanced_security_csv=committers,
        hostname="ghes.example.com",
        admin_token=SecretStr(AGENT_ADMIN_TOKEN),
        scheduler_enabled=False,
    )
    agent_app = create_agent_app(settings, cloud_transport=httpx.ASGITransport(app=cloud_app))
    async with agent_app.router.lifespan_context(agent_app), client_for(agent_app) as agent:
        run = await sync_now(agent)
        assert run["status"] == "succeeded", run
    view = await licenses(cloud, owner)
    # mona commits on both (one person), cleo on the cloud, hubot on GHES; user3 is
    # suspended, so neither reported nor a committer.
    assert view["advanced_security"] == {
        "total_committers": 3,
        "cloud_only": 1,
        "server_only": 1,
        "both": 1,
    }
    assert view["server_instances"][0]["advanced_security_committers"] == 2
