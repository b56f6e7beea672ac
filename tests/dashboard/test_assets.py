"""Both services' pages and assets as HTTP answers: served locally, with a strict policy,
and every script module a page imports served by the same service."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from tests.conftest import AGENT_ADMIN_TOKEN
from tests.ghes_agent.conftest import client_for


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = AgentSettings(
        data_dir=tmp_path / "agent",
        admin_token=SecretStr(AGENT_ADMIN_TOKEN),
        scheduler_enabled=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        yield client


@pytest.fixture(params=["cloud_api", "ghes_agent"])
def service(
    request: pytest.FixtureRequest, cloud: httpx.AsyncClient, agent: httpx.AsyncClient
) -> httpx.AsyncClient:
    return cloud if request.param == "cloud_api" else agent


async def test_the_page_forbids_everything_but_this_origin(service: httpx.AsyncClient) -> None:
    response = await service.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "form-action 'none'"):
        assert directive in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "unsafe-inline" not in policy


async def test_every_asset_and_module_the_page_names_is_served_here(
    service: httpx.AsyncClient,
) -> None:
    page = (await service.get("/dashboard")).text
    pending = [u for u in re.findall(r'(?:src|href)="([^"]+)"', page) if u[0] != "#"]
    seen: dict[str, str] = {}
    while pending:
        url = pending.pop()
        assert url.startswith("/dashboard/assets/"), f"{url} is not served by the service"
        response = await service.get(url)
        assert response.status_code == 200, url
        assert response.headers["x-content-type-options"] == "nosniff"
        seen[url.rsplit("/", 1)[1]] = response.headers["content-type"]
        if url.endswith(".js"):
            imports = re.findall(r'from "\./([^"]+)"', response.text)
            pending += [f"/dashboard/assets/{name}" for name in imports if name not in seen]
    assert {"common.js", "common.css", "icon.svg"} <= set(seen)
    for name, kind in seen.items():
        expected = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
        assert kind.startswith(expected[name.rsplit(".", 1)[1]]), name


@pytest.mark.parametrize("name", ["index.html", "__init__.py", "..%2F..%2Fsettings.py", "nope.js"])
async def test_only_the_page_assets_are_served(service: httpx.AsyncClient, name: str) -> None:
    response = await service.get(f"/dashboard/assets/{name}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_the_root_leads_to_the_page(service: httpx.AsyncClient) -> None:
    response = await service.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard"


async def test_the_agent_page_needs_no_token_but_its_data_does(
    agent: httpx.AsyncClient,
) -> None:
    anonymous = {"Authorization": ""}
    assert (await agent.get("/dashboard", headers=anonymous)).status_code == 200
    assert (await agent.get("/sync/status", headers=anonymous)).status_code == 401
