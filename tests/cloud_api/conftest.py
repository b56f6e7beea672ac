"""Cloud apps set up for webhook tests: hooks may point at 127.0.0.1 (where the test's
receiver listens), and every delay is short so that retries happen within a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings

FAST_HOOKS: dict[str, Any] = {
    "hooks_delivery_enabled": True,
    "hooks_allow_private": True,
    # Generous enough for a receiver on a loaded machine: a timed-out attempt is retried,
    # which a test counting arrivals would see as a second delivery.
    "hooks_timeout_seconds": 2.0,
    "hooks_retry_base_seconds": 0.1,
    "hooks_retry_cap_seconds": 0.4,
    "hooks_poll_seconds": 0.2,
    "hooks_lease_seconds": 2.0,
}


@pytest.fixture
def hooks_settings(cloud_settings: Settings) -> Settings:
    return cloud_settings.model_copy(update=FAST_HOOKS)


@pytest.fixture
async def hooks_cloud(hooks_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(create_app(hooks_settings)):
        yield client


@pytest.fixture
async def quiet_cloud(cloud_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Private addresses refused, and nothing sent: hooks to public addresses can be made
    without any traffic leaving the machine."""
    settings = cloud_settings.model_copy(update={"hooks_delivery_enabled": False})
    async for client in _client(create_app(settings)):
        yield client


async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as client:
            yield client
