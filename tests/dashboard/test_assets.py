"""The dashboard's page and assets as HTTP answers: served locally, with a strict policy."""

from __future__ import annotations

import re

import httpx
import pytest


async def test_dashboard_page_forbids_everything_but_this_origin(cloud: httpx.AsyncClient) -> None:
    response = await cloud.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "form-action 'none'"):
        assert directive in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "unsafe-inline" not in policy


async def test_every_asset_the_page_names_is_served_here(cloud: httpx.AsyncClient) -> None:
    page = (await cloud.get("/dashboard")).text
    referenced = [u for u in re.findall(r'(?:src|href)="([^"]+)"', page) if u[0] != "#"]
    assert len(referenced) == 4
    for url in referenced:
        assert url.startswith("/dashboard/assets/"), f"{url} is not served by the service"
        response = await cloud.get(url)
        assert response.status_code == 200, url
        assert response.headers["x-content-type-options"] == "nosniff"
    kinds = {
        url.rsplit(".", 1)[1]: (await cloud.get(url)).headers["content-type"] for url in referenced
    }
    assert kinds["js"].startswith("text/javascript")
    assert kinds["css"].startswith("text/css")
    assert kinds["svg"].startswith("image/svg+xml")


@pytest.mark.parametrize("name", ["index.html", "__init__.py", "..%2F..%2Fsettings.py", "nope.js"])
async def test_only_the_dashboard_assets_are_served(cloud: httpx.AsyncClient, name: str) -> None:
    response = await cloud.get(f"/dashboard/assets/{name}")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_the_root_leads_to_the_dashboard(cloud: httpx.AsyncClient) -> None:
    response = await cloud.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/dashboard"
