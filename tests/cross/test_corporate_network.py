"""The agent in a corporate network: the cloud reached through a real forward proxy
(proxy.py) from ``HTTPS_PROXY``, over TLS from a private CA (``GHES_AGENT_CLOUD_CA_BUNDLE``).
The cloud app is served over HTTPS on a loopback port with a CA made for the test."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from scripts.servers import free_port
from services.cloud_api.main import create_app as create_cloud_app
from services.cloud_api.settings import Settings
from services.ghes_agent.main import create_app as create_agent_app
from services.ghes_agent.settings import AgentSettings
from tests.builders import connect, licenses, new_enterprise
from tests.conftest import AGENT_ADMIN_TOKEN, OPERATOR_TOKEN
from tests.cross.forward_proxy import ForwardProxy, forward_proxy
from tests.ghes_agent.conftest import client_for, sync_now, users_csv_text
from tests.ghes_agent.fake_ghes import Pki, make_pki, serve_https

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return new_pki(tmp_path / "pki")


def new_pki(directory: Path) -> Pki:
    directory.mkdir()
    return make_pki(directory)


@pytest.fixture
def cloud_url(new_database_url: Callable[[], str], pki: Pki) -> Iterator[str]:
    settings = Settings(database_url=new_database_url(), admin_token=SecretStr(OPERATOR_TOKEN))
    with serve_https(create_cloud_app(settings), pki, lifespan="on") as url:
        yield url


@pytest.fixture
async def cloud(cloud_url: str, pki: Pki) -> AsyncIterator[httpx.AsyncClient]:
    """The test's own client of the cloud: direct, whatever the proxy variables say."""
    trust = ssl.create_default_context(cafile=str(pki.ca_file))
    async with httpx.AsyncClient(base_url=cloud_url, verify=trust, trust_env=False) as client:
        yield client


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Sets the proxy variables the agent's process sees, clearing any from the machine."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    def set_env(**variables: str) -> None:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[ForwardProxy]:
    with forward_proxy(tmp_path / "proxy") as running:
        yield running


@pytest.fixture
async def owner(cloud: httpx.AsyncClient) -> str:
    return await new_enterprise(cloud, seats=10)


@pytest.fixture
async def agent_settings(
    cloud: httpx.AsyncClient,
    owner: str,
    cloud_url: str,
    pki: Pki,
    new_database_url: Callable[[], str],
    tmp_path: Path,
) -> AgentSettings:
    token = await connect(cloud, owner, hostname="ghes.example.com")
    users = tmp_path / "all_users.csv"
    users.write_text(users_csv_text([(1, "mona@example.com", False, False)]))
    return AgentSettings(
        data_dir=tmp_path / "agent",
        database_url=new_database_url(),
        cloud_url=cloud_url,
        instance_token=SecretStr(token),
        cloud_ca_bundle=pki.ca_file,
        users_csv=users,
        hostname="ghes.example.com",
        admin_token=SecretStr(AGENT_ADMIN_TOKEN),
        scheduler_enabled=False,
        retry_base_seconds=0.2,
        retry_cap_seconds=0.5,
    )


def authority(url: str) -> str:
    return url.removeprefix("https://")


async def sync_once(settings: AgentSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    app = create_agent_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        run = await sync_now(agent)
        status = (await agent.get("/sync/status")).json()
    return run, status


async def test_a_sync_goes_through_the_proxy_to_a_cloud_with_a_private_ca(
    cloud: httpx.AsyncClient,
    owner: str,
    cloud_url: str,
    agent_settings: AgentSettings,
    proxy: ForwardProxy,
    proxy_env: Callable[..., None],
) -> None:
    proxy_env(HTTPS_PROXY=proxy.url)
    run, status = await sync_once(agent_settings)
    assert run["status"] == "succeeded", run
    assert run["receipt"]["status"] == "applied"
    assert status["pending_reports"] == 0
    assert authority(cloud_url) in proxy.wait_for_connect(authority(cloud_url))
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 1


async def test_no_proxy_hosts_are_reached_directly(
    agent_settings: AgentSettings, proxy_env: Callable[..., None]
) -> None:
    # The proxy named is down: only a direct connection can deliver the report.
    proxy_env(HTTPS_PROXY=f"http://127.0.0.1:{free_port()}", NO_PROXY="127.0.0.1")
    run, _status = await sync_once(agent_settings)
    assert run["status"] == "succeeded", run


async def test_a_wrong_ca_fails_with_advice_in_sync_status(
    agent_settings: AgentSettings,
    proxy: ForwardProxy,
    proxy_env: Callable[..., None],
    tmp_path: Path,
) -> None:
    proxy_env(HTTPS_PROXY=proxy.url)
    other_ca = new_pki(tmp_path / "other-pki").ca_file
    run, status = await sync_once(agent_settings.model_copy(update={"cloud_ca_bundle": other_ca}))
    assert run["status"] == "failed"
    assert "TLS verification" in status["undelivered_error"]
    assert "GHES_AGENT_CLOUD_CA_BUNDLE" in status["undelivered_error"]
    assert status["pending_reports"] == 1  # kept, and sent again once the CA is right
    assert status["next_retry_at"] is not None


async def test_an_unreadable_ca_bundle_is_named_and_retried(
    agent_settings: AgentSettings, proxy_env: Callable[..., None], tmp_path: Path
) -> None:
    proxy_env()
    missing = agent_settings.model_copy(update={"cloud_ca_bundle": tmp_path / "missing.pem"})
    run, status = await sync_once(missing)
    assert run["status"] == "failed"
    assert "GHES_AGENT_CLOUD_CA_BUNDLE" in status["undelivered_error"]
    assert status["pending_reports"] == 1
    assert status["next_retry_at"] is not None


async def test_a_proxy_that_is_down_is_retried_until_it_is_back(
    cloud: httpx.AsyncClient,
    owner: str,
    agent_settings: AgentSettings,
    cloud_url: str,
    proxy_env: Callable[..., None],
    tmp_path: Path,
) -> None:
    port = free_port()
    proxy_env(HTTPS_PROXY=f"http://127.0.0.1:{port}")
    app = create_agent_app(agent_settings)
    async with app.router.lifespan_context(app), client_for(app) as agent:
        first = await sync_now(agent)
        status = (await agent.get("/sync/status")).json()
        assert first["status"] == "failed"
        assert "HTTPS_PROXY" in first["error"]
        assert status["pending_reports"] == 1
        assert status["next_retry_at"] is not None
        with forward_proxy(tmp_path / "late-proxy", port) as proxy:
            delivered = await wait_until_delivered(agent)
            assert authority(cloud_url) in proxy.wait_for_connect(authority(cloud_url))
    assert delivered["undelivered_error"] is None
    view = await licenses(cloud, owner)
    assert view["server_instances"][0]["last_sync"]["status"] == "success"


async def wait_until_delivered(agent: httpx.AsyncClient) -> dict[str, Any]:
    for _ in range(600):
        status: dict[str, Any] = (await agent.get("/sync/status")).json()
        if status["pending_reports"] == 0 and status["last_run_status"] == "succeeded":
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"never delivered: {status}")
