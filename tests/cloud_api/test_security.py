"""Credentials: random, prefixed, shown once, stored as hashes, scoped, revocable; and no
personal data or secret in the logs."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from services.common.log_redaction import redact
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


async def test_tokens_are_prefixed_random_and_stored_only_as_hashes(
    cloud: httpx.AsyncClient, cloud_app: FastAPI
) -> None:
    owners = [await new_enterprise(cloud, f"e{n}") for n in range(3)]
    instance = await connect(cloud, owners[0], slug="e0")
    assert all(o.startswith("lso_") and len(o) > 40 for o in owners)
    assert instance.startswith("lsi_")
    assert len(set(owners)) == 3
    with cloud_app.state.cloud.engine.connect() as connection:
        stored = [tuple(row) for row in connection.execute(text("SELECT * FROM credentials"))]
    flat = " ".join(str(value) for row in stored for value in row)
    for token in [*owners, instance]:
        assert token not in flat
        assert hashlib.sha256(token.encode()).hexdigest() in flat


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/enterprise/licenses", None),
        ("GET", "/enterprises/acme/consumed-licenses", None),
        ("GET", "/enterprises/acme/license-sync-status", None),
        ("PUT", "/enterprises/acme/accounts", {"accounts": [account(1, "mona")]}),
        ("POST", "/enterprises/acme/server-instances", {"hostname": "second.example.com"}),
        ("POST", "/admin/enterprises", {"slug": "other", "name": "O", "seats_purchased": 1}),
    ],
)
async def test_an_instance_token_can_read_and_change_nothing(
    cloud: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    # Bodies an owner (or the operator) would be allowed to send: only the token is wrong.
    response = await cloud.request(method, path, json=body, headers=auth(token))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 0
    assert [i["hostname"] for i in view["server_instances"]] == ["ghes.example.com"]
    if path == "/admin/enterprises":
        again = await cloud.post("/admin/enterprises", json=body, headers=auth(OPERATOR_TOKEN))
        assert again.status_code == 201, again.text  # the slug is still free


async def test_an_instance_token_cannot_act_as_another_instance(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    one = await connect(cloud, owner, server_id="one", hostname="one.example.com")
    await connect(cloud, owner, server_id="two", hostname="two.example.com")
    unbound = await connect(cloud, owner, hostname="three.example.com")
    as_two = await push(cloud, one, report(server_id="two"))
    assert as_two.status_code == 403
    claimed = await push(cloud, unbound, report(server_id="two"))
    assert claimed.status_code == 409
    assert claimed.json()["error"] == "instance_exists"
    assert await consumed(cloud, owner) == 0


async def test_rotating_an_instance_token_stops_the_old_one(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    old = await connect(cloud, owner, server_id="srv")
    response = await cloud.post("/enterprises/acme/server-instances/srv/token", headers=auth(owner))
    assert response.status_code == 201
    new = response.json()["instance_token"]
    refused = await push(cloud, old, report(server_id="srv"))
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthorized"
    assert await consumed(cloud, owner) == 0
    assert (await push(cloud, new, report(server_id="srv"))).status_code == 201
    assert await consumed(cloud, owner) == 1


async def test_revoked_tokens_stop_working(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    instance = await connect(cloud, owner)
    second = await cloud.post("/admin/enterprises/acme/owner-tokens", headers=auth(OPERATOR_TOKEN))
    assert second.status_code == 201
    spare = second.json()["owner_token"]
    for token in (instance, owner):
        response = await cloud.post(
            "/enterprises/acme/tokens/revoke", json={"token": token}, headers=auth(spare)
        )
        assert response.status_code == 204
    pushed = await push(cloud, instance, report())
    assert pushed.status_code == 401
    assert pushed.json()["error"] == "unauthorized"
    read = await cloud.get("/enterprise/licenses", headers=auth(owner))
    assert read.status_code == 401
    assert read.json()["error"] == "unauthorized"
    assert await consumed(cloud, spare) == 0  # the revoked instance's report was not applied


async def test_another_enterprises_token_cannot_be_revoked_or_seen(
    cloud: httpx.AsyncClient,
) -> None:
    acme = await new_enterprise(cloud, "acme")
    globex = await new_enterprise(cloud, "globex")
    response = await cloud.post(
        "/enterprises/globex/tokens/revoke", json={"token": acme}, headers=auth(globex)
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    crossed = await cloud.post(
        "/enterprises/acme/tokens/revoke", json={"token": acme}, headers=auth(globex)
    )
    assert crossed.status_code == 404
    assert crossed.json()["error"] == "not_found"
    assert (await licenses(cloud, acme))["enterprise"] == "acme"  # still valid


def test_query_string_secrets_are_redacted() -> None:
    line = '127.0.0.1:5 - "GET /enterprise/licenses/explain?email=mona%40example.com&x=1 HTTP/1.1"'
    assert "mona" not in redact(line)
    assert "x=1" in redact(line)
    assert "[redacted]" in redact("/path?token=lso_abc")


async def test_no_email_token_or_signature_reaches_the_logs(
    cloud: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    secrets: list[str] = []
    with caplog.at_level(logging.DEBUG):
        owner = await new_enterprise(cloud)
        secrets.append(owner)
        await import_accounts(cloud, owner, [account(1, "mona", ["mona.secret@example.com"])])
        token = await connect(cloud, owner)
        secrets.append(token)
        emails = ["mona.secret@example.com", "hidden.person@example.com"]
        await push(cloud, token, report([(1, emails[0]), (2, emails[1])]))
        await push(cloud, token, report([(1, "not an address")], sequence=2))  # refused
        await cloud.get(
            "/enterprise/licenses/explain", params={"email": emails[1]}, headers=auth(owner)
        )
        await cloud.get("/enterprise/licenses", params={"include": "users"}, headers=auth(owner))
    logged = "\n".join(_rendered(record) for record in caplog.records)
    assert caplog.records  # something was logged (SQLAlchemy, httpx, ...), and it is clean
    for secret in [*secrets, *emails, "not an address"]:
        assert secret not in logged


def _rendered(record: logging.LogRecord) -> str:
    parts: list[Any] = [record.getMessage()]
    if record.exc_text:
        parts.append(record.exc_text)
    return " ".join(str(part) for part in parts)
