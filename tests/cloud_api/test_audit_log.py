"""The enterprise audit log over HTTP: who did what, newest first, filtered and paged like
GitHub's, and never a secret in it."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import httpx
import pytest

from tests.builders import (
    account,
    audit_log,
    auth,
    connect,
    import_accounts,
    new_enterprise,
    push,
    report,
)
from tests.conftest import OPERATOR_TOKEN

SERVER = "srv-audit-1"


def hashed(token: str) -> str:
    return base64.b64encode(hashlib.sha256(token.encode()).digest()).decode()


async def test_an_entry_names_the_token_the_request_and_the_action_fields(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.post(
        "/enterprises/acme/server-instances",
        json={"hostname": "ghes.example.com", "server_id": SERVER},
        headers={**auth(owner), "X-Request-Id": "req-connect-1"},
    )
    assert response.status_code == 201
    instance_token = response.json()["instance_token"]

    [entry, created] = await audit_log(cloud, owner)
    assert entry["action"] == "server_instance.connect"
    assert re.fullmatch(r"owner-token-\d+", entry["actor"])
    assert entry["actor_kind"] == "owner_token"
    assert entry["token_prefix"] == owner[:8]
    assert entry["hashed_token"] == hashed(owner)
    assert entry["request_id"] == "req-connect-1"
    assert entry["business"] == "acme"
    assert (entry["server_id"], entry["hostname"]) == (SERVER, "ghes.example.com")
    assert entry["issued_token_prefix"] == instance_token[:8]
    assert entry["@timestamp"] == entry["created_at"] >= created["created_at"]
    assert created["action"] == "enterprise.create"
    assert created["actor"] == "operator"
    assert "token_id" not in created  # the operator's token is named by kind alone
    assert created["owner_token_id"] == entry["token_id"]


async def test_no_secret_is_ever_in_the_log(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    instance = await connect(cloud, owner, server_id=SERVER)
    rotated = await cloud.post(
        f"/enterprises/acme/server-instances/{SERVER}/token", headers=auth(owner)
    )
    second = await cloud.post("/admin/enterprises/acme/owner-tokens", headers=auth(OPERATOR_TOKEN))
    revoked = await cloud.post(
        "/enterprises/acme/tokens/revoke",
        json={"token": second.json()["owner_token"]},
        headers=auth(owner),
    )
    assert (rotated.status_code, second.status_code, revoked.status_code) == (201, 201, 204)
    text = (await cloud.get("/enterprises/acme/audit-log", headers=auth(owner))).text
    secrets = [owner, instance, rotated.json()["instance_token"], second.json()["owner_token"]]
    for secret in [*secrets, OPERATOR_TOKEN]:
        assert secret not in text
        assert secret[:12] not in text  # more than the 8 characters an entry may show
    actions = [e["action"] for e in await audit_log(cloud, owner)]
    assert actions == [
        "token.revoke",
        "owner_token.issue",
        "server_instance.token_rotate",
        "server_instance.connect",
        "enterprise.create",
    ]


async def test_the_operator_change_of_seats_shows_before_and_after(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud, seats=50)
    response = await cloud.patch(
        "/admin/enterprises/acme",
        json={"seats_purchased": 60, "name": "Acme"},  # the name is unchanged
        headers=auth(OPERATOR_TOKEN),
    )
    assert response.status_code == 200
    [entry] = await audit_log(cloud, owner, phrase="action:enterprise.update")
    assert entry["actor"] == "operator"
    assert entry["changes"] == {"seats_purchased": {"from": 50, "to": 60}}


async def test_pages_follow_the_link_header_both_ways(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    for n in range(7):
        await connect(cloud, owner, hostname=f"ghes-{n}.example.com", server_id=f"srv-{n}")
    everything = await audit_log(cloud, owner, per_page=100)
    assert len(everything) == 8
    ids = [e["_document_id"] for e in everything]
    assert [e["created_at"] for e in everything] == sorted(
        (e["created_at"] for e in everything), reverse=True
    )

    pages, url = [], "/enterprises/acme/audit-log?per_page=3"
    while url:
        response = await cloud.get(url, headers=auth(owner))
        pages.append(response.json())
        url = response.links.get("next", {}).get("url")
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [e["_document_id"] for page in pages for e in page] == ids

    back = await cloud.get(
        str(response.links["prev"]["url"]), headers=auth(owner)
    )  # from the last page
    assert [e["_document_id"] for e in back.json()] == ids[3:6]
    assert set(back.links) == {"next", "prev", "first"}
    first = await cloud.get(str(back.links["first"]["url"]), headers=auth(owner))
    assert [e["_document_id"] for e in first.json()] == ids[:3]
    assert set(first.links) == {"next"}  # the newest page has nothing before it


async def test_a_single_page_has_no_link_header(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get("/enterprises/acme/audit-log", headers=auth(owner))
    assert len(response.json()) == 1
    assert "link" not in response.headers


async def _busy_enterprise(cloud: httpx.AsyncClient) -> str:
    owner = await new_enterprise(cloud)
    await import_accounts(cloud, owner, [account(1, "mona", ["mona@example.com"])])
    token = await connect(cloud, owner, hostname="ghes.example.com", server_id=SERVER)
    await connect(cloud, owner, hostname="build.example.com", server_id="srv-build")
    assert (await push(cloud, token, report(server_id=SERVER))).status_code == 201
    await cloud.delete("/enterprises/acme/server-instances/srv-build", headers=auth(owner))
    return owner


@pytest.mark.parametrize(
    ("phrase", "actions"),
    [
        ("action:server_instance.connect", ["server_instance.connect"] * 2),
        (
            "action:server_instance",  # a category: every action of it
            ["server_instance.disconnect", "server_instance.connect", "server_instance.connect"],
        ),
        ("action:server_instance -action:server_instance.connect", ["server_instance.disconnect"]),
        ("actor:operator", ["enterprise.create"]),
        ("build.example.com", ["server_instance.disconnect", "server_instance.connect"]),
        ("server_id:srv-build action:server_instance.disconnect", ["server_instance.disconnect"]),
        (
            "action:accounts.import OR action:server_usage.apply",
            ["server_usage.apply", "accounts.import"],
        ),
        ("AND action:accounts.import AND accounts:1", ["accounts.import"]),
        ('"ghes.example.com" source:connect', ["server_usage.apply"]),
        ("created:>2000-01-01 action:enterprise.create", ["enterprise.create"]),
        ("created:<2000-01-01", []),
        ("created:2000-01-01..2000-12-31", []),
        ("nothing-like-this", []),
    ],
)
async def test_the_phrase_filters_like_githubs_search(
    cloud: httpx.AsyncClient, phrase: str, actions: list[str]
) -> None:
    owner = await _busy_enterprise(cloud)
    found = await audit_log(cloud, owner, phrase=phrase)
    assert [e["action"] for e in found] == actions


async def test_actor_and_token_filters_find_what_one_token_did(cloud: httpx.AsyncClient) -> None:
    owner = await _busy_enterprise(cloud)
    mine = await audit_log(cloud, owner, phrase=f'hashed_token:"{hashed(owner)}"')
    assert len(mine) == 4  # import, two connects, disconnect: not the push, not the creation
    assert {e["actor"] for e in mine} == {mine[0]["actor"]}
    by_actor = await audit_log(cloud, owner, phrase=f"actor:{mine[0]['actor']}")
    assert by_actor == mine


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"phrase": "created:yesterday"}, "invalid_phrase"),
        ({"phrase": "action: server"}, "invalid_phrase"),
        ({"phrase": "OR action:x"}, "invalid_phrase"),
        ({"phrase": " ".join(["x"] * 31)}, "invalid_phrase"),
        ({"after": "not-a-cursor"}, "invalid_cursor"),
        ({"after": "YXVkaXQ6MQ", "before": "YXVkaXQ6MQ"}, "invalid_cursor"),
        ({"per_page": 101}, "invalid_input"),
    ],
)
async def test_a_bad_query_is_refused_naming_the_problem(
    cloud: httpx.AsyncClient, params: dict[str, Any], error: str
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get("/enterprises/acme/audit-log", params=params, headers=auth(owner))
    assert response.status_code == 422
    assert response.json()["error"] == error
    assert response.json()["detail"]


async def test_each_owner_reads_only_its_enterprise_and_the_operator_any(
    cloud: httpx.AsyncClient,
) -> None:
    acme = await new_enterprise(cloud, "acme")
    await new_enterprise(cloud, "globex")
    other = await cloud.get("/enterprises/globex/audit-log", headers=auth(acme))
    assert other.status_code == 404
    assert other.json()["error"] == "not_found"
    nobody = await cloud.get("/enterprises/acme/audit-log")
    assert nobody.status_code == 401
    assert nobody.json()["error"] == "unauthorized"
    for slug in ("acme", "globex"):
        entries = await audit_log(cloud, OPERATOR_TOKEN, slug)
        assert [(e["action"], e["business"]) for e in entries] == [("enterprise.create", slug)]
    missing = await cloud.get("/enterprises/initech/audit-log", headers=auth(OPERATOR_TOKEN))
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


async def test_refused_pushes_are_recorded_and_duplicates_are_not(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    body = report(server_id=SERVER, sequence=5)
    assert (await push(cloud, token, body)).status_code == 201
    assert (await push(cloud, token, body)).status_code == 200  # a retry: nothing new
    older = await push(cloud, token, report(server_id=SERVER, sequence=4))
    assert older.status_code == 409
    broken = await cloud.post(
        "/server-usage",
        content=b"\x1f\x8b not gzip",
        headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["error"] == "invalid_input"
    assert "gzip body is corrupt" in broken.json()["detail"]

    refusals = await audit_log(cloud, owner, phrase="action:server_usage")
    assert [e["action"] for e in refusals] == [
        "server_usage.refuse",
        "server_usage.refuse",
        "server_usage.apply",
    ]
    unreadable, conflict, applied = refusals
    assert unreadable["error"] == broken.json()["error"]
    assert conflict["error"] == "sequence_conflict"
    assert "sequence 4" in conflict["detail"]
    assert conflict["report_id"] != applied["report_id"]
    for entry in refusals:
        assert (entry["server_id"], entry["source"]) == (SERVER, "connect")
        assert entry["actor_kind"] == "instance_token"
        assert entry["token_prefix"] == token[:8]
    assert (applied["sequence"], applied["users"], applied["total_seats_consumed"]) == (5, 1, 1)


async def test_failed_owner_requests_leave_no_entry(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await connect(cloud, owner, server_id=SERVER)
    before = await audit_log(cloud, owner)
    again = await cloud.post(
        "/enterprises/acme/server-instances",
        json={"hostname": "ghes.example.com", "server_id": SERVER},
        headers=auth(owner),
    )
    assert again.status_code == 409
    assert again.json()["error"] == "instance_exists"
    bad = await import_accounts(cloud, owner, [account(1, "a"), account(1, "b")])
    assert bad.status_code == 422
    assert bad.json()["error"] == "invalid_input"
    gone = await cloud.delete("/enterprises/acme/server-instances/nope", headers=auth(owner))
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"
    assert await audit_log(cloud, owner) == before


async def test_the_log_has_no_route_that_changes_it(cloud_app: Any) -> None:
    paths = cloud_app.openapi()["paths"]
    audit_paths = {path: set(methods) for path, methods in paths.items() if "audit" in path}
    assert audit_paths == {"/enterprises/{enterprise}/audit-log": {"get"}}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"phrase": "created:9999-12-31..9999-12-31"}, "invalid_phrase"),
        ({"phrase": "server_id:a\x00b"}, "invalid_phrase"),
        ({"after": base64.urlsafe_b64encode(b"audit:" + b"9" * 30).decode()}, "invalid_cursor"),
        ({"before": base64.urlsafe_b64encode(b"audit:-1").decode()}, "invalid_cursor"),
    ],
)
async def test_out_of_range_queries_are_refused_not_failed(
    cloud: httpx.AsyncClient, params: dict[str, Any], error: str
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.get("/enterprises/acme/audit-log", params=params, headers=auth(owner))
    assert (response.status_code, response.json()["error"]) == (422, error)
