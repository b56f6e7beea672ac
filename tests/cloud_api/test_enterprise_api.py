"""Enterprises, accounts import, instances and the licenses read (SPEC section 4)."""

from __future__ import annotations

import httpx
import pytest

from tests.builders import (
    account,
    auth,
    connect,
    consumed,
    import_accounts,
    licenses,
    new_enterprise,
    push,
    report,
)
from tests.conftest import OPERATOR_TOKEN


async def test_operator_creates_an_enterprise_with_a_one_time_owner_token(
    cloud: httpx.AsyncClient,
) -> None:
    response = await cloud.post(
        "/admin/enterprises",
        json={"slug": "acme", "name": "Acme", "seats_purchased": 10, "saml_enabled": True},
        headers=auth(OPERATOR_TOKEN),
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "acme"
    assert body["owner_token"].startswith("lso_")
    view = await licenses(cloud, body["owner_token"])
    assert (view["enterprise"], view["total_seats_purchased"]) == ("acme", 10)


@pytest.mark.parametrize("token", [None, "wrong", "lso_forged"])
async def test_creating_an_enterprise_needs_the_operator_token(
    cloud: httpx.AsyncClient, token: str | None
) -> None:
    headers = auth(token) if token else {}
    body = {"slug": "acme", "name": "Acme", "seats_purchased": 10}
    response = await cloud.post("/admin/enterprises", json=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_owner_token_cannot_create_enterprises(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    body = {"slug": "other", "name": "Other", "seats_purchased": 1}
    response = await cloud.post("/admin/enterprises", json=body, headers=auth(owner))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    # Nothing was created: the slug is still free for the operator.
    created = await cloud.post("/admin/enterprises", json=body, headers=auth(OPERATOR_TOKEN))
    assert created.status_code == 201, created.text


async def test_duplicate_slug_is_a_conflict(cloud: httpx.AsyncClient) -> None:
    await new_enterprise(cloud, "acme")
    body = {"slug": "acme", "name": "Again", "seats_purchased": 1}
    response = await cloud.post("/admin/enterprises", json=body, headers=auth(OPERATOR_TOKEN))
    assert response.status_code == 409
    assert response.json()["error"] == "slug_taken"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Bad Slug", "name": "x", "seats_purchased": 1}, "slug"),
        ({"slug": "ok", "name": "x", "seats_purchased": -1}, "seats_purchased"),
        ({"slug": "ok", "name": "x", "seats_purchased": "7"}, "seats_purchased"),
        ({"slug": "ok", "name": "x", "seats_purchased": 1, "color": "red"}, "color"),
    ],
)
async def test_bad_enterprise_bodies_name_the_field(
    cloud: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await cloud.post("/admin/enterprises", json=body, headers=auth(OPERATOR_TOKEN))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert field in response.json()["detail"]


async def test_accounts_import_replaces_the_whole_set(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    first = await import_accounts(cloud, owner, [account(1, "a"), account(2, "b")])
    assert first.status_code == 200
    assert first.json() == {"accounts": 2, "consuming": 2, "total_seats_consumed": 2}
    second = await import_accounts(cloud, owner, [account(3, "c", role="billing_manager")])
    assert second.json()["total_seats_consumed"] == 0
    assert await consumed(cloud, owner) == 0


async def test_verified_email_on_two_accounts_is_refused_and_nothing_changes(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "a", ["a@x.com"])])
    clash = [account(2, "b", ["shared@x.com"]), account(3, "c", ["SHARED@x.com"])]
    response = await import_accounts(cloud, owner, clash)
    assert response.status_code == 422
    assert response.json()["error"] == "verified_email_conflict"
    assert "account 2" in response.json()["detail"]
    assert await consumed(cloud, owner) == 1


async def test_an_unverified_email_may_repeat(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    shared = [account(2, "b", [("s@x.com", False)]), account(3, "c", ["s@x.com"])]
    response = await import_accounts(cloud, owner, shared)
    assert response.status_code == 200, response.text
    assert response.json() == {"accounts": 2, "consuming": 2, "total_seats_consumed": 2}
    # Kept apart: the address is verified for c only, so a GHES user with it merges with c.
    token = await connect(cloud, owner)
    await push(cloud, token, report([(1, "s@x.com")]))
    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 2
    merged = {u["cloud_account"]["login"]: len(u["server_accounts"]) for u in view["users"]}
    assert merged == {"b": 0, "c": 1}


@pytest.mark.parametrize(
    ("accounts", "problem"),
    [
        ([account(1, "a"), account(1, "b")], "duplicate account id"),
        ([account(1, "a"), account(2, "A")], "login"),
        ([account(1, "a", ["nope"])], "emails[0].email"),
        ([{**account(1, "a"), "org_memberships": [{"org": "o", "role": "admin"}]}], "role"),
    ],
)
async def test_bad_account_imports_name_the_problem(
    cloud: httpx.AsyncClient, accounts: list[dict[str, object]], problem: str
) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(9, "kept")])
    response = await import_accounts(cloud, owner, accounts)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"
    assert problem in response.json()["detail"]
    assert await consumed(cloud, owner) == 1  # the previous set stands


async def test_another_enterprises_data_answers_404_and_changes_nothing(
    cloud: httpx.AsyncClient,
) -> None:
    acme = await new_enterprise(cloud, "acme")
    other = await new_enterprise(cloud, "globex")
    await import_accounts(cloud, acme, [account(1, "a")])
    attempts = [
        cloud.put("/enterprises/acme/accounts", json={"accounts": []}, headers=auth(other)),
        cloud.post(
            "/enterprises/acme/server-instances", json={"hostname": "h"}, headers=auth(other)
        ),
        cloud.delete("/enterprises/acme/server-instances/x", headers=auth(other)),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "enterprise 'acme' not found"}
    assert await consumed(cloud, acme) == 1
    assert (await licenses(cloud, acme))["server_instances"] == []


async def test_connecting_with_a_server_id_binds_the_token(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.post(
        "/enterprises/acme/server-instances",
        json={"hostname": "ghes.example.com", "server_id": "srv-1"},
        headers=auth(owner),
    )
    assert response.status_code == 201
    assert response.json()["server_id"] == "srv-1"
    assert response.json()["instance_token"].startswith("lsi_")
    token = response.json()["instance_token"]
    refused = await push(cloud, token, report(server_id="srv-2"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "server_id_mismatch"
    assert await consumed(cloud, owner) == 0
    assert (await push(cloud, token, report(server_id="srv-1"))).status_code == 201


async def test_connect_answers_null_server_id_until_the_first_report(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.post(
        "/enterprises/acme/server-instances", json={"hostname": "h"}, headers=auth(owner)
    )
    assert response.json()["server_id"] is None
    view = await licenses(cloud, owner)
    assert view["server_instances"][0]["source"] is None
    assert view["server_instances"][0]["last_sync"] is None


async def test_disconnecting_stops_the_token_and_the_count(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id="srv-1")
    await push(cloud, token, report([(1, "a@x.com"), (2, "b@x.com")], server_id="srv-1"))
    assert await consumed(cloud, owner) == 2
    response = await cloud.delete("/enterprises/acme/server-instances/srv-1", headers=auth(owner))
    assert response.status_code == 204
    assert await consumed(cloud, owner) == 0
    again = await push(cloud, token, report(server_id="srv-1", sequence=2))
    assert again.status_code == 401
    assert again.json()["error"] == "unauthorized"
    assert (await licenses(cloud, owner))["server_instances"] == []
    missing = await cloud.delete("/enterprises/acme/server-instances/srv-1", headers=auth(owner))
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_licenses_view_has_breakdown_and_instance_status(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud, seats=10)
    await import_accounts(
        cloud, owner, [account(1, "mona", ["mona@x.com"]), account(2, "cloudy", ["c@x.com"])]
    )
    one = await connect(cloud, owner, hostname="one.example.com", server_id="one")
    two = await connect(cloud, owner, hostname="two.example.com", server_id="two")
    users_one = [(1, "mona@x.com"), (2, "s@x.com")]
    users_two = [(5, "s@x.com"), (6, "t@x.com")]
    await push(cloud, one, report(users_one, server_id="one", hostname="one.example.com"))
    await push(
        cloud, two, report(users_two, server_id="two", hostname="two.example.com", suspended=3)
    )
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 4  # mona, cloudy, s@, t@
    assert view["breakdown"] == {"cloud_only": 1, "server_only": 2, "both": 1}
    by_host = {i["hostname"]: i for i in view["server_instances"]}
    assert by_host["one.example.com"]["persons_only_here"] == 0
    assert by_host["two.example.com"]["persons_only_here"] == 1
    assert by_host["two.example.com"]["accounts_reported"] == 2
    assert by_host["two.example.com"]["suspended_excluded"] == 3
    assert by_host["two.example.com"]["source"] == "connect"
    assert by_host["two.example.com"]["last_sync"]["status"] == "success"
    assert by_host["two.example.com"]["last_sync"]["error"] == ""


async def test_licenses_users_are_paginated_with_their_merges(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "mona", ["mona@x.com"])])
    token = await connect(cloud, owner)
    users = [(1, "MONA@x.com")] + [(i, f"user{i:02}@x.com") for i in range(2, 6)]
    await push(cloud, token, report(users))
    first = await licenses(cloud, owner, include="users", per_page=2)
    assert first["total_persons"] == 5
    mona = first["users"][0]
    assert mona["cloud_account"]["login"] == "mona"
    assert mona["match_rule"] == "verified_email"
    assert mona["total_user_accounts"] == 2
    assert [u["server_accounts"][0]["email"] for u in first["users"][1:]] == ["user02@x.com"]
    last = await licenses(cloud, owner, include="users", per_page=2, page=3)
    assert [u["server_accounts"][0]["email"] for u in last["users"]] == ["user05@x.com"]
    past = await licenses(cloud, owner, include="users", per_page=2, page=9)
    assert past["users"] == []


async def test_licenses_users_search_by_login_email_or_id(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await import_accounts(
        cloud, owner, [account(1, "mona", ["mona@x.com"]), account(2, "hubot", ["robot@x.com"])]
    )
    token = await connect(cloud, owner)
    users = [(1, "MONA@x.com"), (77, "Alice@X.com"), (78, "alice+ci@x.com"), (79, "bob@x.com")]
    await push(cloud, token, report(users))

    async def found(q: str, **paging: object) -> list[object]:
        view = await licenses(cloud, owner, include="users", q=q, **paging)
        return [
            (u["cloud_account"] or {}).get("login") or u["server_accounts"][0]["email"]
            for u in view["users"]
        ] + [view["total_persons"]]

    assert await found("MON") == ["mona", 1]  # cloud login, case-insensitive
    assert await found("robot@") == ["hubot", 1]  # a verified e-mail of the cloud account
    assert await found("alice") == ["alice+ci@x.com", "Alice@X.com", 2]  # listing order
    assert await found("alice", per_page=1, page=2) == ["Alice@X.com", 2]
    assert await found("79") == ["bob@x.com", 1]  # the GHES user ID
    assert await found("nobody") == [0]
    summary = await licenses(cloud, owner)
    assert summary["total_seats_consumed"] == 5  # the search never changes the figures


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"per_page": 101}, {"per_page": "x"}, {"q": ""}, {"q": "x" * 321}]
)
async def test_bad_paging_is_422(cloud: httpx.AsyncClient, params: dict[str, object]) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get(
        "/enterprise/licenses", params={"include": "users", **params}, headers=auth(owner)
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_input"


async def test_github_style_token_header_is_accepted(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get("/enterprise/licenses", headers={"Authorization": f"token {owner}"})
    assert response.status_code == 200
    assert response.json()["enterprise"] == "acme"


async def test_healthz(cloud: httpx.AsyncClient) -> None:
    response = await cloud.get("/healthz")
    assert response.json() == {"status": "ok"}
