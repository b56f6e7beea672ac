"""Uploading signed export files: accepted exactly like a sync, refused when not genuine."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from shared import public_key_text, sign_report
from tests.builders import (
    auth,
    connect,
    consumed,
    licenses,
    metric_samples,
    new_enterprise,
    push,
    report,
    signed_push,
)

SERVER = "air-gapped-1"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()


def export_file(users: Any = ((1, "a@example.com"), (2, None)), **options: Any) -> bytes:
    key = options.pop("key", KEY)
    return sign_report(report(users, server_id=options.pop("server_id", SERVER), **options), key)


async def _upload_only(cloud: httpx.AsyncClient, slug: str = "acme") -> str:
    owner = await new_enterprise(cloud, slug)
    response = await cloud.post(
        f"/enterprises/{slug}/server-instances",
        json={
            "hostname": "ghes.example.com",
            "server_id": SERVER,
            "public_key": public_key_text(KEY),
            "upload_only": True,
        },
        headers=auth(owner),
    )
    assert response.status_code == 201, response.text
    assert response.json()["instance_token"] is None  # no network path, no token
    return owner


async def upload(
    cloud: httpx.AsyncClient,
    owner: str,
    content: bytes,
    *,
    multipart: bool = True,
    slug: str = "acme",
) -> httpx.Response:
    url = f"/enterprises/{slug}/server-usage/uploads"
    if multipart:
        files = {"file": ("ghes.example.com-license-usage.json", content, "application/json")}
        return await cloud.post(url, files=files, headers=auth(owner))
    return await cloud.post(
        url, content=content, headers={**auth(owner), "Content-Type": "application/json"}
    )


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "raw-json"])
async def test_signed_file_is_applied_and_shows_as_uploaded(
    cloud: httpx.AsyncClient, multipart: bool
) -> None:
    owner = await _upload_only(cloud)
    response = await upload(cloud, owner, export_file(), multipart=multipart)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "applied"
    assert response.json()["users_accepted"] == 2
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 2
    assert view["server_instances"][0]["source"] == "upload"
    status = await cloud.get("/enterprises/acme/license-sync-status", headers=auth(owner))
    assert status.json()["server_instances"][0]["source"] == "upload"
    assert status.json()["server_instances"][0]["last_sync"]["status"] == "success"


async def test_uploading_the_same_file_twice_is_harmless(cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(cloud)
    content = export_file()
    assert (await upload(cloud, owner, content)).status_code == 201
    again = await upload(cloud, owner, content)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert await consumed(cloud, owner) == 2


def _edit(content: bytes, change: Any) -> bytes:
    document = json.loads(content)
    change(document["report"])
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["users"][0].update(email="mallory@example.com"),
        lambda r: r["users"].pop(),
        lambda r: r["users"].append({"id": 99, "email": "extra@example.com"}),
        lambda r: r.update(sequence=r["sequence"] + 100),
    ],
    ids=["email-changed", "user-removed", "user-added", "sequence-changed"],
)
async def test_a_file_edited_after_signing_is_refused(
    cloud: httpx.AsyncClient, change: Any
) -> None:
    owner = await _upload_only(cloud)
    await upload(cloud, owner, export_file([(7, "kept@example.com")], sequence=1))
    response = await upload(cloud, owner, _edit(export_file(sequence=2), change))
    assert response.status_code == 422
    assert response.json()["error"] == "signature_invalid"
    assert "changed after it was signed" in response.json()["detail"]
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 1
    assert view["server_instances"][0]["last_sync"]["status"] == "signature_invalid"


async def test_a_file_signed_with_another_key_is_refused(cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(cloud)
    response = await upload(cloud, owner, export_file(key=OTHER_KEY))
    assert response.status_code == 422
    assert response.json()["error"] == "signature_invalid"
    assert "not with this instance's registered key" in response.json()["detail"]
    assert await consumed(cloud, owner) == 0


async def test_a_forged_key_id_does_not_help(cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(cloud)
    genuine = json.loads(export_file())
    forged = json.loads(export_file(key=OTHER_KEY))
    forged["signature"]["key_id"] = genuine["signature"]["key_id"]
    response = await upload(cloud, owner, json.dumps(forged).encode())
    assert response.status_code == 422
    assert response.json()["error"] == "signature_invalid"


async def test_unknown_instance_and_other_enterprises_file_are_refused(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await _upload_only(cloud, "acme")
    other = await new_enterprise(cloud, "globex")
    unknown = await upload(cloud, owner, export_file(server_id="never-connected"))
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "unknown_instance"
    # acme's file uploaded into globex: globex has no such instance.
    foreign = await upload(cloud, other, export_file(), slug="globex")
    assert foreign.status_code == 404
    assert foreign.json()["error"] == "unknown_instance"
    # globex's token on acme's upload endpoint: acme is not globex's to see.
    crossed = await upload(cloud, other, export_file(), slug="acme")
    assert crossed.status_code == 404
    assert crossed.json()["error"] == "not_found"
    assert await consumed(cloud, owner) == 0


async def test_an_older_sequence_is_refused(cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(cloud)
    assert (await upload(cloud, owner, export_file(sequence=5))).status_code == 201
    response = await upload(cloud, owner, export_file([(9, "z@example.com")], sequence=4))
    assert response.status_code == 409
    assert response.json()["error"] == "sequence_conflict"
    assert response.json()["current_sequence"] == 5
    assert await consumed(cloud, owner) == 2


@pytest.mark.parametrize(
    ("content", "error", "problem"),
    [
        (b"{not json", "invalid_export", "not valid JSON"),
        (b'{"format": "something-else", "version": 1}', "invalid_export", "not an export file"),
        (
            orjson.dumps({**json.loads(export_file()), "version": 2}),
            "unsupported_version",
            "version 2",
        ),
        (orjson.dumps({**json.loads(export_file()), "extra": 1}), "invalid_export", "extra"),
    ],
    ids=["malformed-json", "wrong-format", "wrong-version", "unknown-field"],
)
async def test_malformed_files_are_refused(
    cloud: httpx.AsyncClient, content: bytes, error: str, problem: str
) -> None:
    owner = await _upload_only(cloud)
    response = await upload(cloud, owner, content)
    assert response.status_code == 422
    assert response.json()["error"] == error
    assert problem in response.json()["detail"]


async def test_a_signed_but_invalid_report_is_refused(cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(cloud)
    bad = report(server_id=SERVER)
    bad["users"] = [{"id": 1, "email": "x@example.com"}, {"id": 1, "email": None}]
    response = await upload(cloud, owner, sign_report(bad, KEY))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert "duplicate" in response.json()["detail"]


async def test_an_oversized_file_is_refused(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await _upload_only(cloud)
    monkeypatch.setattr(cloud_app.state.cloud.settings, "max_body_bytes", 1000)
    content = export_file([(i, f"user{i}@example.com") for i in range(1, 100)])
    response = await upload(cloud, owner, content)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert await consumed(cloud, owner) == 0


async def test_upload_only_connection_needs_server_id_and_a_valid_key(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    needs = "an upload-only instance is connected with its server_id and public_key"
    short_key = base64.b64encode(b"short").decode()
    # Well-formed bodies all three: the refusals are the domain's, not the schema's.
    for body, error, problem in (
        (
            {"hostname": "h", "upload_only": True, "public_key": public_key_text(KEY)},
            "invalid_input",
            needs,
        ),
        ({"hostname": "h", "upload_only": True, "server_id": "s"}, "invalid_input", needs),
        (
            {"hostname": "h", "server_id": "s", "public_key": short_key},
            "invalid_public_key",
            "public_key: an Ed25519 public key is 32 bytes",
        ),
    ):
        response = await cloud.post(
            "/enterprises/acme/server-instances", json=body, headers=auth(owner)
        )
        assert response.status_code == 422, body
        assert response.json()["error"] == error, body
        assert problem in response.json()["detail"], body
    assert (await licenses(cloud, owner))["server_instances"] == []


async def test_first_connected_push_teaches_the_key_and_never_replaces_it(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    first = await cloud.post(
        "/server-usage",
        json=report(server_id=SERVER),
        headers={**auth(token), "X-Agent-Public-Key": public_key_text(KEY)},
    )
    assert first.status_code == 201
    # Signed with the key it learned, offering another one.
    second = await signed_push(
        cloud, token, report(server_id=SERVER, sequence=2), KEY, offer=OTHER_KEY
    )
    assert second.status_code == 201
    # The key learned first is the one files are checked against.
    assert (await upload(cloud, owner, export_file(sequence=3))).status_code == 201
    refused = await upload(cloud, owner, export_file(sequence=4, key=OTHER_KEY))
    assert refused.status_code == 422
    assert refused.json()["error"] == "signature_invalid"
    assert "not with this instance's registered key" in refused.json()["detail"]


async def test_no_registered_key_is_a_clear_refusal(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner, server_id=SERVER)
    assert (await push(cloud, token, report(server_id=SERVER))).status_code == 201
    response = await upload(cloud, owner, export_file(sequence=2))
    assert response.status_code == 409
    assert response.json()["error"] == "no_public_key"


async def test_uploads_are_counted_in_the_metrics_as_syncs_are(cloud: httpx.AsyncClient) -> None:
    """An applied upload is an applied report (its users observed); a refused one counts
    by its reason, whether refused while reading the file or once read."""
    owner = await _upload_only(cloud)
    assert (await upload(cloud, owner, export_file(sequence=1))).status_code == 201
    forged = await upload(cloud, owner, export_file(key=OTHER_KEY, sequence=2))
    assert forged.status_code == 422
    unreadable = await cloud.post(
        "/enterprises/acme/server-usage/uploads",
        content=b"not gzip",
        headers={**auth(owner), "Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert unreadable.status_code == 422
    found = metric_samples((await cloud.get("/metrics")).text)
    refused = "license_sync_cloud_reports_refused_total"
    assert found[(refused, (("reason", "signature_invalid"),))] == 1
    assert found[(refused, (("reason", unreadable.json()["error"]),))] == 1
    assert found[("license_sync_cloud_report_users_count", ())] == 1
    assert found[("license_sync_cloud_report_users_sum", ())] == 2
    assert found[("license_sync_cloud_ingest_duration_seconds_count", ())] == 1
