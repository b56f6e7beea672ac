"""The agent's sync: what it sends, what it keeps, what it shows (SPEC section 5)."""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi import FastAPI

from services.ghes_agent.main import create_app
from services.ghes_agent.settings import AgentSettings
from shared import key_id
from shared.push_signatures import verify_push
from tests.ghes_agent.conftest import (
    CLOUD_URL,
    INSTANCE_TOKEN,
    client_for,
    sync_now,
    wait_for_run,
)


def receipt_for(request: httpx.Request, status: int = 201) -> httpx.Response:
    body = json.loads(gzip.decompress(request.content))
    return httpx.Response(
        status,
        json={
            "report_id": body["report_id"],
            "server_id": body["server_id"],
            "sequence": body["sequence"],
            "users_accepted": len(body["users"]),
            "status": "applied",
            "total_seats_consumed": len(body["users"]),
        },
    )


def sent_report(call: Any) -> dict[str, Any]:
    request: httpx.Request = call.request
    assert request.headers["content-encoding"] == "gzip"
    result: dict[str, Any] = json.loads(gzip.decompress(request.content))
    return result


@respx.mock
async def test_manual_sync_pushes_the_report_and_keeps_the_receipt(
    agent: httpx.AsyncClient,
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    run = await sync_now(agent)
    assert run["status"] == "succeeded", run
    assert run["trigger"] == "manual"
    assert (run["users_sent"], run["suspended_excluded"], run["attempts"]) == (3, 1, 1)
    assert route.call_count == 1
    request = route.calls[0].request
    assert request.headers["authorization"] == f"Bearer {INSTANCE_TOKEN}"
    instance = (await agent.get("/instance")).json()
    assert request.headers["x-agent-public-key"] == instance["public_key"]
    # Signed with that key over the method, the path and the gzip body's digest.
    assert 'agent=("@method" "@path" "content-digest")' in request.headers["signature-input"]
    verify_push(
        "POST", str(request.url), request.headers.items(), request.content, instance["public_key"]
    )
    body = sent_report(route.calls[0])
    assert body["server_id"] == instance["server_id"]
    assert body["hostname"] == "ghes.example.com"
    assert body["sequence"] == 1
    assert body["excluded"] == {"suspended": 1}
    # Dormant accounts are reported; suspended ones are not; no e-mail is null. Nothing
    # else about a person (login, IP, ...) leaves the agent.
    assert body["users"] == [
        {"id": 1, "email": "mona@example.com"},
        {"id": 2, "email": "Hubot@Example.com"},
        {"id": 3, "email": None},
    ]
    assert run["receipt"]["report_id"] == body["report_id"] == run["report_id"]
    status = (await agent.get("/sync/status")).json()
    assert status["last_success"] is not None
    assert status["last_run_status"] == "succeeded"
    assert status["pending_reports"] == 0


@respx.mock
async def test_trigger_while_a_run_is_active_answers_that_run(agent: httpx.AsyncClient) -> None:
    release = asyncio.Event()

    async def slow_cloud(request: httpx.Request) -> httpx.Response:
        await release.wait()
        return receipt_for(request)

    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=slow_cloud)
    first = (await agent.post("/sync/trigger")).json()
    second = await agent.post("/sync/trigger")
    assert second.status_code == 202
    assert second.json()["id"] == first["id"]
    assert (first["started"], second.json()["started"]) == (True, False)
    release.set()
    assert (await wait_for_run(agent, first["id"]))["status"] == "succeeded"
    assert route.call_count == 1
    runs = (await agent.get("/sync/runs")).json()["runs"]
    assert [run["id"] for run in runs] == [first["id"]]


@respx.mock
async def test_server_id_is_stable_and_sequence_grows_across_restarts(
    agent_settings: AgentSettings,
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    sent = []
    for _restart in range(2):
        app = create_app(agent_settings)
        async with app.router.lifespan_context(app), client_for(app) as client:
            assert (await sync_now(client))["status"] == "succeeded"
            sent.append(sent_report(route.calls[-1]))
    assert sent[0]["server_id"] == sent[1]["server_id"]
    assert [body["sequence"] for body in sent] == [1, 2]
    assert sent[0]["report_id"] != sent[1]["report_id"]


@respx.mock
async def test_cloud_refusal_fails_the_run_and_shows_in_status(agent: httpx.AsyncClient) -> None:
    refusal = {"error": "invalid_report", "detail": "users[0].email: not a valid e-mail address"}
    respx.post(f"{CLOUD_URL}/server-usage").mock(return_value=httpx.Response(422, json=refusal))
    run = await sync_now(agent)
    assert run["status"] == "failed"
    assert "422 invalid_report" in run["error"]
    status = (await agent.get("/sync/status")).json()
    assert status["last_run_status"] == "failed"
    assert "invalid_report" in status["last_error"]
    assert "Upgrade the agent" in status["advice"]
    assert status["pending_reports"] == 0  # a 4xx is not retried


@respx.mock
async def test_a_refused_instance_token_advises_rotating_it(agent: httpx.AsyncClient) -> None:
    refusal = {"error": "unauthorized", "detail": "the instance token is not valid"}
    respx.post(f"{CLOUD_URL}/server-usage").mock(return_value=httpx.Response(401, json=refusal))
    run = await sync_now(agent)
    assert (run["status"], run["error_code"]) == ("failed", "unauthorized")
    status = (await agent.get("/sync/status")).json()
    assert "rotate the instance's token" in status["advice"]
    assert "GHES_AGENT_INSTANCE_TOKEN" in status["advice"]


@respx.mock
async def test_unreachable_cloud_keeps_the_report_for_delivery(agent: httpx.AsyncClient) -> None:
    respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=httpx.ConnectError("refused"))
    run = await sync_now(agent)
    assert run["status"] == "failed"
    assert "cannot reach the cloud" in run["error"]
    assert run["error_code"] == "unreachable"
    status = (await agent.get("/sync/status")).json()
    assert status["pending_reports"] == 1
    assert status["next_retry_at"] is not None
    assert "GHES_AGENT_CLOUD_URL" in status["advice"]
    assert "sent again automatically" in status["advice"]


@respx.mock
async def test_a_success_after_a_failure_clears_the_error_and_its_advice(
    agent: httpx.AsyncClient,
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage")
    route.mock(side_effect=httpx.ConnectError("refused"))
    assert (await sync_now(agent))["status"] == "failed"
    route.mock(side_effect=receipt_for)
    run = await sync_now(agent)
    assert (run["status"], run["error"], run["error_code"]) == ("succeeded", None, None)
    status = (await agent.get("/sync/status")).json()
    assert (status["last_error"], status["advice"]) == (None, None)


@respx.mock
async def test_agent_behind_the_cloud_continues_above_its_sequence(
    agent: httpx.AsyncClient,
) -> None:
    conflict = httpx.Response(
        409,
        json={"error": "sequence_conflict", "detail": "not newer", "current_sequence": 41},
    )
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(
        side_effect=[conflict, receipt_for]  # type: ignore[list-item]
    )
    run = await sync_now(agent)
    assert run["status"] == "succeeded", run
    assert [sent_report(call)["sequence"] for call in route.calls] == [1, 42]
    assert run["sequence"] == 42


@respx.mock
async def test_a_users_file_with_wrong_columns_sends_nothing(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    assert agent_settings.users_csv is not None
    agent_settings.users_csv.write_text("login,mail\nmona,mona@example.com\n")
    run = await sync_now(agent)
    assert run["status"] == "failed"
    assert "lacks the column(s) id, email, suspended?" in run["error"]
    assert route.call_count == 0


@respx.mock
async def test_an_unreadable_users_file_sends_nothing(
    agent: httpx.AsyncClient, agent_settings: AgentSettings
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    assert agent_settings.users_csv is not None
    agent_settings.users_csv.unlink()
    run = await sync_now(agent)
    assert run["status"] == "failed"
    assert "cannot read the users file" in run["error"]
    assert route.call_count == 0


@respx.mock
async def test_a_committers_file_beside_the_users_file_sends_a_v2_report(
    agent_settings: AgentSettings, tmp_path: Path
) -> None:
    route = respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    committers = tmp_path / "ghas_active_committers.csv"
    committers.write_text(
        "User login,Organization / repository,Last pushed date,Last pushed email\n"
        "user2,acme/app,2026-11-20,hubot@example.com\n"
        "user4,acme/app,2026-11-20,sus@example.com\n"
    )
    settings = agent_settings.model_copy(update={"advanced_security_csv": committers})
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_for(app) as client:
        run = await sync_now(client)
        assert run["status"] == "succeeded", run
        body = sent_report(route.calls[0])
        assert (body["schema_version"], body["advanced_security_user_ids"]) == (2, [2])
        committers.write_text("login\nuser2\n")
        run = await sync_now(client)
    assert run["status"] == "failed"
    assert "lacks the column User login" in run["error"]
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/sync/trigger"),
        ("GET", "/sync/runs"),
        ("GET", "/sync/runs/x"),
        ("GET", "/sync/status"),
        ("GET", "/instance"),
    ],
)
async def test_acting_and_revealing_endpoints_need_the_admin_token(
    agent_app: FastAPI, method: str, path: str
) -> None:
    transport = httpx.ASGITransport(app=agent_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://agent.test") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"] == "unauthorized"
        assert (await client.get("/healthz")).status_code == 200


async def test_unknown_run_is_404(agent: httpx.AsyncClient) -> None:
    response = await agent.get("/sync/runs/no-such-run")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_instance_shows_identity_and_public_key(agent: httpx.AsyncClient) -> None:
    body = (await agent.get("/instance")).json()
    assert body["hostname"] == "ghes.example.com"
    assert body["ghes_version"] == "3.14.2"
    assert body["public_key_algorithm"] == "ed25519"
    assert len(body["public_key"]) == 44  # 32 bytes, base64
    # The ID an export file's signature names, and the cloud's refusals quote.
    assert body["public_key_fingerprint"] == key_id(body["public_key"])
    assert len(body["public_key_fingerprint"]) == 16
    # Nothing read from the instance yet.
    assert (body["license"], body["facts_read_at"]) == (None, None)


@respx.mock
async def test_instance_from_a_users_file_has_no_license_once_read(
    agent: httpx.AsyncClient,
) -> None:
    respx.post(f"{CLOUD_URL}/server-usage").mock(side_effect=receipt_for)
    run = await sync_now(agent)
    body = (await agent.get("/instance")).json()
    assert body["license"] is None  # a users file does not say it
    assert body["ghes_version"] == "3.14.2"
    assert body["facts_read_at"] is not None
    assert body["facts_read_at"] <= run["finished_at"]
