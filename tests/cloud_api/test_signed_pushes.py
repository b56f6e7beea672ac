"""Signed pushes (SPEC 7.5): once the cloud knows an instance's key, a push needs an HTTP
message signature made with it; the token alone is refused with 401, the refusal is
recorded, and nothing else changes."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from http_message_signatures import ContentDigest

from shared import public_key_text
from shared.push_signatures import sign_push
from tests.builders import (
    auth,
    connect,
    licenses,
    new_enterprise,
    push,
    report,
    signed_push,
    signed_push_request,
)

SERVER = "signed-1"
KEY = Ed25519PrivateKey.generate()
THIEF_KEY = Ed25519PrivateKey.generate()
FIRST = [(1, "a@example.com")]
SECOND = [(1, "a@example.com"), (2, "b@example.com"), (3, "c@example.com")]


async def instance_with_known_key(cloud: httpx.AsyncClient) -> tuple[str, str]:
    """An owner and an instance token whose first (signed) push taught the cloud KEY."""
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    first = await signed_push(cloud, token, report(FIRST, server_id=SERVER), KEY)
    assert first.status_code == 201, first.text
    return owner, token


def body_swapped(request: httpx.Request, *, recompute_digest: bool) -> httpx.Request:
    """The signed request with another report as its body (and, if asked, a Content-Digest
    that matches the new body: the signature then no longer covers it)."""
    content = orjson.dumps(report(SECOND, server_id=SERVER, sequence=2))
    headers = {k: v for k, v in request.headers.items() if k != "content-length"}
    if recompute_digest:
        headers["content-digest"] = ContentDigest.create(content)
    return httpx.Request(request.method, request.url, headers=headers, content=content)


Attack = Callable[[httpx.AsyncClient, str], httpx.Request]
NEXT = report(SECOND, server_id=SERVER, sequence=2)


def token_only(cloud: httpx.AsyncClient, token: str) -> httpx.Request:
    return cloud.build_request(
        "POST",
        "/server-usage",
        json=NEXT,
        headers={**auth(token), "X-Agent-Public-Key": public_key_text(KEY)},
    )


ATTACKS: dict[str, tuple[Attack, str]] = {
    "token alone": (token_only, "signature_missing"),
    "another key": (
        lambda cloud, token: signed_push_request(cloud, token, NEXT, THIEF_KEY),
        "signature_invalid",
    ),
    "replayed": (
        lambda cloud, token: signed_push_request(
            cloud, token, NEXT, KEY, created=datetime.now(UTC) - timedelta(minutes=10)
        ),
        "signature_expired",
    ),
    "from the future": (
        lambda cloud, token: signed_push_request(
            cloud, token, NEXT, KEY, created=datetime.now(UTC) + timedelta(minutes=10)
        ),
        "signature_from_future",
    ),
    "body swapped": (
        lambda cloud, token: body_swapped(
            signed_push_request(cloud, token, report(FIRST, server_id=SERVER, sequence=2), KEY),
            recompute_digest=False,
        ),
        "content_digest_mismatch",
    ),
    "body and digest swapped": (
        lambda cloud, token: body_swapped(
            signed_push_request(cloud, token, report(FIRST, server_id=SERVER, sequence=2), KEY),
            recompute_digest=True,
        ),
        "signature_invalid",
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_once_the_key_is_known_a_push_without_a_valid_signature_is_refused(
    cloud: httpx.AsyncClient, attack: str
) -> None:
    owner, token = await instance_with_known_key(cloud)
    make, code = ATTACKS[attack]
    response = await cloud.send(make(cloud, token))
    assert response.status_code == 401, response.text
    assert response.json()["error"] == code
    # Recorded as the instance's last sync; nothing else changed.
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 1
    instance = view["server_instances"][0]
    assert instance["current_sequence"] == 1
    assert instance["last_sync"]["status"] == code
    # The genuine agent's push of that sequence still goes through.
    genuine = await signed_push(cloud, token, NEXT, KEY)
    assert genuine.status_code == 201, genuine.text
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 3


async def test_a_signed_gzip_push_is_checked_over_the_bytes_as_sent(
    cloud: httpx.AsyncClient,
) -> None:
    owner, token = await instance_with_known_key(cloud)
    content = gzip.compress(orjson.dumps(NEXT))
    request = cloud.build_request(
        "POST",
        "/server-usage",
        content=content,
        headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    sign_push(request.method, str(request.url), request.headers, content, KEY)
    response = await cloud.send(request)
    assert response.status_code == 201, response.text
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 3


async def test_pushes_work_as_before_while_the_key_is_unknown(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    # Neither a key nor a signature: taken, as before signed pushes.
    assert (await push(cloud, token, report(FIRST, server_id=SERVER))).status_code == 201
    # The first push offering a key teaches it...
    taught = await cloud.post(
        "/server-usage",
        json=report(FIRST, server_id=SERVER, sequence=2),
        headers={**auth(token), "X-Agent-Public-Key": public_key_text(KEY)},
    )
    assert taught.status_code == 201
    # ...and from then on the token alone is not enough.
    refused = await push(cloud, token, report(FIRST, server_id=SERVER, sequence=3))
    assert refused.status_code == 401
    assert refused.json()["error"] == "signature_missing"


async def test_a_signed_first_push_proves_the_key_it_teaches(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    forged = await signed_push(cloud, token, report(FIRST, server_id=SERVER), THIEF_KEY, offer=KEY)
    assert forged.status_code == 401
    assert forged.json()["error"] == "signature_invalid"
    # Not learned: an unsigned push is still taken as from an agent whose key is unknown.
    assert (await push(cloud, token, report(FIRST, server_id=SERVER))).status_code == 201


async def test_a_key_given_when_connecting_is_required_from_the_first_push(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    response = await cloud.post(
        "/enterprises/acme/server-instances",
        json={
            "hostname": "ghes.example.com",
            "server_id": SERVER,
            "public_key": public_key_text(KEY),
        },
        headers=auth(owner),
    )
    token = response.json()["instance_token"]
    unsigned = await push(cloud, token, report(FIRST, server_id=SERVER))
    assert unsigned.status_code == 401
    assert unsigned.json()["error"] == "signature_missing"
    signed = await signed_push(cloud, token, report(FIRST, server_id=SERVER), KEY)
    assert signed.status_code == 201, signed.text


async def test_the_window_is_configurable(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    _owner, token = await instance_with_known_key(cloud)
    monkeypatch.setattr(cloud_app.state.cloud.settings, "push_signature_max_age_seconds", 3600)
    late = datetime.now(UTC) - timedelta(minutes=10)
    response = await signed_push(cloud, token, NEXT, KEY, created=late)
    assert response.status_code == 201, response.text
