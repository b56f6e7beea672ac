"""A cold process's figure (plain key reads and set arithmetic, no identity objects) equals
the person-by-person listing of the same enterprise, licenses and Advanced Security
committers alike (hypothesis, through the API). The figure the last change stored is
removed first, so the cold process counts (test_stored_figures.py covers the stored one);
the writer's own figure must agree with both."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from services.common.db import make_engine
from tests.builders import account, auth, connect, import_accounts, new_enterprise, push, report

POOL = [f"p{n}@example.com" for n in range(10)]


@st.composite
def enterprises(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[tuple[int, str | None]]]]:
    verified = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=6))
    cloud = []
    for n, email in enumerate(verified):
        emails: list[str | tuple[str, bool]] = [email]
        if draw(st.booleans()):
            emails.append((draw(st.sampled_from(POOL)), False))  # unverified: never matches
        role = draw(st.sampled_from(["member", "owner", "billing_manager", None]))
        committer = draw(st.booleans())
        cloud.append(
            account(100 + n, f"c{n}", emails, role=role, advanced_security_committer=committer)
        )
    users = st.lists(
        st.tuples(st.integers(1, 40), st.one_of(st.none(), st.sampled_from(POOL))),
        max_size=12,
        unique_by=lambda user: user[0],
    )
    return cloud, draw(st.lists(users, min_size=1, max_size=3))


@pytest.fixture
async def replica(cloud_app: FastAPI, cloud_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second process on the database ``cloud_app`` migrated, with caches of its own. Each
    example makes an enterprise of its own, so the replica has never seen it when asked."""
    app = create_app(cloud_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica.test") as client:
            yield client


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(world=enterprises())
async def test_a_cold_figure_equals_the_person_by_person_listing(
    cloud: httpx.AsyncClient,
    replica: httpx.AsyncClient,
    cloud_settings: Settings,
    world: tuple[list[dict[str, Any]], list[list[tuple[int, str | None]]]],
) -> None:
    accounts, instances = world
    slug = f"e{uuid.uuid4().hex[:12]}"
    owner = await new_enterprise(cloud, slug)
    assert (await import_accounts(cloud, owner, accounts, slug=slug)).status_code == 200
    for n, users in enumerate(instances):
        server_id = f"{slug}-{n}"
        token = await connect(cloud, owner, slug=slug, hostname=f"h{n}", server_id=server_id)
        # Every third user an Advanced Security committer; the first instance reports none
        # (a schema version 1 report).
        committers = None if n == 0 else [u for u, _ in users if u % 3 == 0]
        body = report(users, server_id=server_id, committers=committers)
        assert (await push(cloud, token, body)).status_code == 201

    written = (await cloud.get("/enterprise/licenses", headers=auth(owner))).json()
    engine = make_engine(cloud_settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM enterprise_figures"))
    engine.dispose()
    cold = (await replica.get("/enterprise/licenses", headers=auth(owner))).json()
    for part in ("total_seats_consumed", "breakdown", "advanced_security", "server_instances"):
        assert cold[part] == written[part]

    persons: list[dict[str, Any]] = []
    page = 1
    while True:
        listed = await cloud.get(
            "/enterprise/licenses",
            params={"include": "users", "per_page": 100, "page": page},
            headers=auth(owner),
        )
        persons += listed.json()["users"]
        if len(persons) >= listed.json()["total_persons"]:
            break
        page += 1
    assert cold["total_seats_consumed"] == len(persons)
    assert cold["breakdown"] == {
        "cloud_only": sum(1 for p in persons if p["cloud_account"] and not p["server_accounts"]),
        "server_only": sum(1 for p in persons if not p["cloud_account"]),
        "both": sum(1 for p in persons if p["cloud_account"] and p["server_accounts"]),
    }
    where = [
        (
            bool(p["cloud_account"] and p["cloud_account"]["advanced_security_committer"]),
            any(a["advanced_security_committer"] for a in p["server_accounts"]),
        )
        for p in persons
    ]
    assert cold["advanced_security"] == {
        "total_committers": sum(1 for c, s in where if c or s),
        "cloud_only": where.count((True, False)),
        "server_only": where.count((False, True)),
        "both": where.count((True, True)),
    }
    assert [p["advanced_security_committer"] for p in persons] == [c or s for c, s in where]


async def test_a_cold_listing_pairs_each_user_with_its_own_address(
    cloud: httpx.AsyncClient, replica: httpx.AsyncClient, cloud_settings: Settings
) -> None:
    """The keys, the IDs and the addresses are read as texts aggregated by the database in
    user ID order and paired by position: a report stored in another order (its users as
    sent, the highest ID first) must still give each account its own address."""
    slug = f"e{uuid.uuid4().hex[:12]}"
    owner = await new_enterprise(cloud, slug)
    token = await connect(cloud, owner, slug=slug, hostname="h0", server_id=f"{slug}-0")
    # Most addresses as their keys (the stored key is shown), some not (the address is).
    expected = {
        n: None if n % 7 == 0 else f"User{n}@Example.com" if n % 5 == 0 else f"user{n}@example.com"
        for n in range(300, 0, -1)
    }
    assert (
        await push(cloud, token, report(expected.items(), server_id=f"{slug}-0"))
    ).status_code == 201
    engine = make_engine(cloud_settings.database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM enterprise_figures"))  # the replica counts
    engine.dispose()

    seen: dict[int, str | None] = {}
    for page in (1, 2, 3):
        listed = await replica.get(
            "/enterprise/licenses",
            params={"include": "users", "per_page": 100, "page": page},
            headers=auth(owner),
        )
        for person in listed.json()["users"]:
            (server_account,) = person["server_accounts"]
            seen[server_account["user_id"]] = server_account["email"]
    assert seen == expected
    found = await replica.get(
        "/enterprise/licenses",
        params={"include": "users", "q": "user123@"},
        headers=auth(owner),
    )
    assert [p["server_accounts"][0]["user_id"] for p in found.json()["users"]] == [123]
