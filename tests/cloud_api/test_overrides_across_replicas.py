"""Identity links and Visual Studio subscriptions reach every replica: one that has kept the
enterprise's figure, tally and listing answers with them as soon as another replica
commits a link or an import (what it kept is checked against the accounts version in the
database, never invalidated in its own process only)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from tests.builders import account, auth, connect, import_accounts, licenses, new_enterprise, push
from tests.builders import report as usage_report

SERVER = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
async def replica(cloud_app: FastAPI, cloud_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second process on the database ``cloud_app`` migrated, with caches of its own."""
    app = create_app(cloud_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica.test") as client:
            yield client


def persons(body: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            p["cloud_account"]["login"] if p["cloud_account"] else None,
            [a["user_id"] for a in p["server_accounts"]],
            p["match_rule"],
            p["license_type"],
        )
        for p in body["users"]
    ]


async def seen(client: httpx.AsyncClient, owner: str) -> tuple[int, list[tuple[Any, ...]]]:
    body = await licenses(client, owner, include="users", per_page=100)
    return body["total_seats_consumed"], persons(body)


async def test_a_replica_that_kept_the_listing_answers_with_links_and_subscriptions(
    cloud: httpx.AsyncClient, replica: httpx.AsyncClient
) -> None:
    owner = await new_enterprise(cloud)
    accounts = [
        account(1, "mona", ["mona@users.example.com"], role=None),  # consumes nothing alone
        account(2, "hubot", ["hubot@corp.example.com"]),
        account(3, "octo", ["octo@users.example.com"], role=None),
    ]
    assert (await import_accounts(cloud, owner, accounts)).status_code == 200
    token = await connect(cloud, owner, server_id=SERVER)
    users = [(7, "mona@corp.example.com"), (8, "hubot@corp.example.com")]
    assert (await push(cloud, token, usage_report(users, server_id=SERVER))).is_success
    # The replica computes and keeps the figure, its tally and the listing.
    assert await seen(replica, owner) == (
        2,
        [
            ("hubot", [8], "verified_email", "Enterprise"),
            (None, [7], "server_only", "Enterprise"),
        ],
    )

    links = "/enterprises/acme/identity-links"
    joined = {"server_id": SERVER, "user_id": 7, "cloud_account_id": 1}
    assert (await cloud.post(links, json=joined, headers=auth(owner))).status_code == 201
    assert await seen(replica, owner) == (
        2,
        [
            ("hubot", [8], "verified_email", "Enterprise"),
            ("mona", [7], "identity_link", "Enterprise"),
        ],
    )

    subscribers = {"subscribers": [{"upn": "octo@users.example.com", "subscription": "VS"}]}
    response = await cloud.put(
        "/enterprises/acme/visual-studio-subscriptions", json=subscribers, headers=auth(owner)
    )
    assert response.status_code == 200, response.text
    separate = {"server_id": SERVER, "user_id": 8, "separate": True}
    assert (await cloud.post(links, json=separate, headers=auth(owner))).status_code == 201
    assert await seen(replica, owner) == (
        4,
        [
            ("hubot", [], "cloud_only", "Enterprise"),
            ("mona", [7], "identity_link", "Enterprise"),
            ("octo", [], "cloud_only", "Visual Studio subscription"),
            (None, [8], "kept_separate", "Enterprise"),
        ],
    )


async def test_one_person_carries_a_link_a_subscription_and_advanced_security(
    cloud: httpx.AsyncClient,
) -> None:
    """An unaffiliated cloud account (a Visual Studio subscriber, imported as a committer)
    with a GHES committer account joined to it by a link: one person, one license of the
    subscription's type, one committer on both sides."""
    owner = await new_enterprise(cloud)
    accounts = [
        account(1, "mona", ["mona@users.example.com"], role=None, advanced_security_committer=True)
    ]
    assert (await import_accounts(cloud, owner, accounts)).status_code == 200
    token = await connect(cloud, owner, server_id=SERVER)
    users = [(7, "mona@corp.example.com"), (8, "hubot@corp.example.com")]
    body = usage_report(users, server_id=SERVER, committers=[7])
    assert (await push(cloud, token, body)).is_success
    subscribers = {"subscribers": [{"upn": "mona@users.example.com", "subscription": "VS"}]}
    response = await cloud.put(
        "/enterprises/acme/visual-studio-subscriptions", json=subscribers, headers=auth(owner)
    )
    assert response.status_code == 200, response.text
    joined = {"server_id": SERVER, "user_id": 7, "cloud_account_id": 1}
    response = await cloud.post(
        "/enterprises/acme/identity-links", json=joined, headers=auth(owner)
    )
    assert response.status_code == 201, response.text

    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 2  # mona (both accounts) and hubot
    assert view["advanced_security"] == {
        "total_committers": 1,
        "cloud_only": 0,
        "server_only": 0,
        "both": 1,
    }
    mona = view["users"][0]
    assert (mona["cloud_account"]["login"], mona["match_rule"]) == ("mona", "identity_link")
    assert mona["license_type"] == "Visual Studio subscription"
    assert mona["advanced_security_committer"] is True
    assert [a["advanced_security_committer"] for a in mona["server_accounts"]] == [True]

    csv_text = (
        await cloud.get("/enterprises/acme/consumed-licenses.csv", headers=auth(owner))
    ).text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [
        (
            r["github_com_login"],
            r["license_type"],
            r["github_com_advanced_security_license_user"],
            r["enterprise_server_advanced_security_user_ids"],
        )
        for r in rows
    ] == [
        ("mona", "Visual Studio subscription", "true", "ghes.example.com:7"),
        ("", "Enterprise", "false", ""),
    ]
