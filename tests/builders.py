"""Typed builders for test data: small, explicit, and close to the wire format."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from shared import public_key_text
from shared.push_signatures import sign_push
from tests.conftest import OPERATOR_TOKEN
from tests.webhook_receiver import SECRET


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A Prometheus text exposition as ``(name, sorted labels) -> value``."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def report(
    users: Iterable[tuple[int, str | None]] = ((1, "mona@example.com"),),
    *,
    server_id: str = "11111111-2222-3333-4444-555555555555",
    sequence: int = 1,
    report_id: str | None = None,
    hostname: str = "ghes.example.com",
    suspended: int = 0,
    committers: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Schema version 1, or 2 with ``committers`` (Advanced Security user IDs)."""
    body: dict[str, Any] = {
        "schema_version": 1 if committers is None else 2,
        "report_id": report_id or str(uuid.uuid4()),
        "server_id": server_id,
        "hostname": hostname,
        "ghes_version": "3.14.2",
        "sequence": sequence,
        "generated_at": "2026-11-27T12:00:00Z",
        "license": {"seats": 1400, "expires_at": "2027-06-30T00:00:00Z"},
        "excluded": {"suspended": suspended},
        "users": [{"id": user_id, "email": email} for user_id, email in users],
    }
    if committers is not None:
        body["advanced_security_user_ids"] = list(committers)
    return body


def account(
    account_id: int,
    login: str,
    emails: Sequence[str | tuple[str, bool]] = (),
    *,
    role: str | None = "member",
    **extra: Any,
) -> dict[str, Any]:
    """A cloud account; a bare e-mail is verified, ``(e-mail, False)`` is not."""
    body: dict[str, Any] = {
        "id": account_id,
        "login": login,
        "emails": [
            {"email": e, "verified": True}
            if isinstance(e, str)
            else {"email": e[0], "verified": e[1]}
            for e in emails
        ],
        "org_memberships": [{"org": "acme", "role": role}] if role else [],
    }
    body.update(extra)
    return body


async def new_enterprise(
    client: httpx.AsyncClient, slug: str = "acme", *, seats: int = 100, saml: bool = False
) -> str:
    response = await client.post(
        "/admin/enterprises",
        json={"slug": slug, "name": slug.title(), "seats_purchased": seats, "saml_enabled": saml},
        headers=auth(OPERATOR_TOKEN),
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["owner_token"]
    return token


async def connect(
    client: httpx.AsyncClient,
    owner: str,
    *,
    slug: str = "acme",
    hostname: str = "ghes.example.com",
    server_id: str | None = None,
) -> str:
    body: dict[str, Any] = {"hostname": hostname}
    if server_id is not None:
        body["server_id"] = server_id
    response = await client.post(
        f"/enterprises/{slug}/server-instances", json=body, headers=auth(owner)
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["instance_token"]
    return token


async def import_accounts(
    client: httpx.AsyncClient, owner: str, accounts: list[dict[str, Any]], slug: str = "acme"
) -> httpx.Response:
    return await client.put(
        f"/enterprises/{slug}/accounts", json={"accounts": accounts}, headers=auth(owner)
    )


async def push(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/server-usage", json=body, headers=auth(token))


def signed_push_request(
    client: httpx.AsyncClient,
    token: str,
    body: dict[str, Any],
    key: Ed25519PrivateKey,
    **options: Any,
) -> httpx.Request:
    """A push as the agent sends it: its key offered in ``X-Agent-Public-Key`` (``offer``:
    another key, or None for none) and signed with it (``created``: another time)."""
    content = orjson.dumps(body)
    offer = options.pop("offer", key)
    headers = {**auth(token), "Content-Type": "application/json"}
    if offer is not None:
        headers["X-Agent-Public-Key"] = public_key_text(offer)
    request = client.build_request("POST", "/server-usage", content=content, headers=headers)
    sign_push(request.method, str(request.url), request.headers, content, key, **options)
    return request


async def signed_push(
    client: httpx.AsyncClient,
    token: str,
    body: dict[str, Any],
    key: Ed25519PrivateKey,
    **options: Any,
) -> httpx.Response:
    return await client.send(signed_push_request(client, token, body, key, **options))


async def licenses(client: httpx.AsyncClient, owner: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/enterprise/licenses", headers=auth(owner), params=params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def consumed(client: httpx.AsyncClient, owner: str) -> int:
    return int((await licenses(client, owner))["total_seats_consumed"])


async def audit_log(
    client: httpx.AsyncClient, token: str, slug: str = "acme", **params: Any
) -> list[dict[str, Any]]:
    """One page of the enterprise's audit log, newest first."""
    response = await client.get(
        f"/enterprises/{slug}/audit-log", headers=auth(token), params=params
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def create_hook(
    client: httpx.AsyncClient, owner: str, url: str, *, slug: str = "acme", **fields: Any
) -> dict[str, Any]:
    body = {"url": url, "secret": SECRET, **fields}
    response = await client.post(f"/enterprises/{slug}/hooks", json=body, headers=auth(owner))
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    return hook


async def hook_deliveries(
    client: httpx.AsyncClient, owner: str, hook_id: int, *, slug: str = "acme"
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/enterprises/{slug}/hooks/{hook_id}/deliveries",
        params={"per_page": 100},
        headers=auth(owner),
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def settled_deliveries(
    client: httpx.AsyncClient, owner: str, hook_id: int, count: int, *, slug: str = "acme"
) -> list[dict[str, Any]]:
    """The hook's deliveries once ``count`` of them are no longer pending (oldest first)."""
    deadline = time.monotonic() + 30
    while True:
        found = await hook_deliveries(client, owner, hook_id, slug=slug)
        if sum(d["state"] != "pending" for d in found) >= count:
            return list(reversed(found))
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries did not settle: {found}")
        await asyncio.sleep(0.05)
