"""A new replica answers the figure a change stored with its data version, without
counting the reports again, and counts again whenever the stored row is not for the
version it reads (a database from before figures were stored, an edit outside the
product) or was counted by other rules (a release that counts differently)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from services.common.db import make_engine
from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A new process on the same database: nothing of the enterprise in its caches."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica.test") as client:
            yield client


async def figure(client: httpx.AsyncClient, owner: str) -> dict[str, Any]:
    response = await client.get("/enterprise/licenses", headers=auth(owner))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def execute(settings: Settings, statement: str) -> None:
    engine = make_engine(settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


async def an_enterprise(cloud: httpx.AsyncClient) -> tuple[str, str]:
    """Two instances, cloud accounts, committers: every part of the figure non-zero."""
    owner = await new_enterprise(cloud)
    accounts = [
        account(100, "mona", ["mona@example.com"], advanced_security_committer=True),
        account(101, "hubot", ["hubot@example.com"]),
        account(102, "octo", ["octo@example.com"], role=None),
    ]
    assert (await import_accounts(cloud, owner, accounts)).status_code == 200
    first = await connect(cloud, owner, hostname="ghes1", server_id="srv-1")
    second = await connect(cloud, owner, hostname="ghes2", server_id="srv-2")
    users = [(1, "mona@example.com"), (2, "solo@example.com"), (3, None)]
    body = report(users, server_id="srv-1", committers=[1, 2])
    assert (await push(cloud, first, body)).status_code == 201
    body = report([(7, "solo@example.com"), (8, "two@example.com")], server_id="srv-2")
    assert (await push(cloud, second, body)).status_code == 201
    return owner, first


async def test_a_new_replica_answers_the_figure_the_last_change_stored(
    cloud: httpx.AsyncClient, cloud_settings: Settings
) -> None:
    owner, first = await an_enterprise(cloud)
    written = await figure(cloud, owner)
    assert written["total_seats_consumed"] == 5
    assert written["advanced_security"]["total_committers"] == 2
    async with replica(cloud_settings) as other:
        # The same instant of computation: the replica counted nothing itself.
        assert await figure(other, owner) == written
        # Its first persons page counts the keys; the figure and its time stay the same.
        listed = await other.get(
            "/enterprise/licenses", params={"include": "users"}, headers=auth(owner)
        )
        assert listed.json()["total_persons"] == 5
        assert listed.json()["computed_at"] == written["computed_at"]
        assert listed.json()["total_seats_consumed"] == written["total_seats_consumed"]

    # Each kind of change stores its figure: a newer report, an import, a disconnect.
    body = report([(1, "mona@example.com")], server_id="srv-1", sequence=2)
    assert (await push(cloud, first, body)).status_code == 201
    async with replica(cloud_settings) as other:
        moved = await figure(other, owner)
    assert moved == await figure(cloud, owner)
    assert moved["total_seats_consumed"] == 4
    assert moved["computed_at"] > written["computed_at"]

    imported = [account(100, "mona", ["mona@example.com"])]
    assert (await import_accounts(cloud, owner, imported)).status_code == 200
    deleted = await cloud.delete("/enterprises/acme/server-instances/srv-2", headers=auth(owner))
    assert deleted.status_code in (200, 204), deleted.text
    async with replica(cloud_settings) as other:
        last = await figure(other, owner)
    assert last == await figure(cloud, owner)
    assert last["total_seats_consumed"] == 1
    assert [i["server_id"] for i in last["server_instances"]] == ["srv-1"]


@pytest.mark.parametrize(
    "edit",
    [
        "DELETE FROM enterprise_figures",  # a database from before figures were stored
        "UPDATE enterprises SET data_version = data_version + 1",  # a change that stored none
        # Counted by other rules, and wrong by today's: must not be served.
        "UPDATE enterprise_figures SET rules = rules + 1, figure = REPLACE(figure, "
        "'\"consumed\"\\:5', '\"consumed\"\\:999')",
    ],
    ids=["missing", "older-version", "other-rules"],
)
async def test_a_figure_not_stored_for_this_version_and_rules_is_counted_again(
    cloud: httpx.AsyncClient, cloud_settings: Settings, edit: str
) -> None:
    owner, _ = await an_enterprise(cloud)
    written = await figure(cloud, owner)
    execute(cloud_settings, edit)
    async with replica(cloud_settings) as other:
        counted = await figure(other, owner)
        persons = await other.get(
            "/enterprise/licenses", params={"include": "users"}, headers=auth(owner)
        )
    assert counted["computed_at"] > written["computed_at"]  # counted by the replica
    assert counted["total_seats_consumed"] == written["total_seats_consumed"] == 5
    assert persons.json()["total_persons"] == 5
    for part in ("breakdown", "advanced_security", "server_instances"):
        assert counted[part] == written[part]
