from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.cloud_api.main import create_app as create_cloud_app
from services.cloud_api.settings import Settings
from tests.databases import postgres_database

OPERATOR_TOKEN = "lsop_test-operator-token"
AGENT_ADMIN_TOKEN = "lsa_test-agent-admin"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_database_url(db_backend: str, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes as many fresh databases of the test's back-end as it asks for."""
    with ExitStack() as stack:
        counter = iter(range(1_000))

        def make() -> str:
            if db_backend == "sqlite":
                return f"sqlite:///{tmp_path / f'db{next(counter)}.sqlite'}"
            return stack.enter_context(postgres_database())

        yield make


@pytest.fixture
def cloud_settings(new_database_url: Callable[[], str]) -> Settings:
    # No hook deliveries unless a test asks for them (tests/cloud_api/conftest.py): a hook
    # made with a public address must never be sent to from a test.
    return Settings(
        database_url=new_database_url(),
        admin_token=SecretStr(OPERATOR_TOKEN),
        hooks_delivery_enabled=False,
    )


@pytest.fixture
async def cloud_app(cloud_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_cloud_app(cloud_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def cloud(cloud_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=cloud_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as client:
        yield client
