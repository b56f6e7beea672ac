"""POST /server-usage: ordering, idempotency, atomicity and refusals (SPEC section 3)."""

from __future__ import annotations

import gzip
import random
import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.cloud_api.domain.ingest import usage_reports
from tests.builders import auth, connect, consumed, licenses, new_enterprise, push, report

SERVER = "11111111-2222-3333-4444-555555555555"


async def _instance(cloud: httpx.AsyncClient) -> tuple[str, str]:
    owner = await new_enterprise(cloud)
    return owner, await connect(cloud, owner)


async def test_applied_report_answers_a_receipt_and_counts(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    body = report([(1, "a@example.com"), (2, "b@example.com"), (3, None)])
    response = await push(cloud, token, body)
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt == {
        "report_id": body["report_id"],
        "server_id": SERVER,
        "sequence": 1,
        "users_accepted": 3,
        "status": "applied",
        "total_seats_consumed": 3,
    }
    assert await consumed(cloud, owner) == 3


async def test_same_report_again_is_a_harmless_duplicate(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    body = report([(1, "a@example.com")])
    assert (await push(cloud, token, body)).status_code == 201
    again = await push(cloud, token, body)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["report_id"] == body["report_id"]
    assert await consumed(cloud, owner) == 1


async def test_same_report_id_with_other_content_is_refused(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    body = report([(1, "a@example.com")])
    await push(cloud, token, body)
    edited = {**body, "users": [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": None}]}
    response = await push(cloud, token, edited)
    assert response.status_code == 409
    assert response.json()["error"] == "report_id_conflict"
    assert await consumed(cloud, owner) == 1


async def test_older_sequence_never_replaces_newer(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    newer = report([(1, "a@example.com"), (2, "b@example.com")], sequence=5)
    assert (await push(cloud, token, newer)).status_code == 201
    for stale_sequence in (5, 4):
        stale = report([(9, "z@example.com")], sequence=stale_sequence)
        response = await push(cloud, token, stale)
        assert response.status_code == 409
        assert response.json()["error"] == "sequence_conflict"
        assert response.json()["current_sequence"] == 5
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 2
    instance = view["server_instances"][0]
    assert instance["current_sequence"] == 5
    # The refusal is visible: the last sync says why the instance did not move.
    assert instance["last_sync"]["status"] == "sequence_conflict"
    assert "sequence 4" in instance["last_sync"]["error"]


async def test_newer_report_replaces_users_entirely(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(1, "a@example.com"), (2, "b@example.com")], sequence=1))
    await push(cloud, token, report([(3, "c@example.com")], sequence=2))
    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 1
    assert [p["server_accounts"][0]["user_id"] for p in view["users"]] == [3]


async def test_first_report_binds_the_token_to_its_server_id(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report(server_id="server-a"))
    response = await push(cloud, token, report(server_id="server-b", sequence=2))
    assert response.status_code == 403
    assert response.json()["error"] == "server_id_mismatch"
    instance = (await licenses(cloud, owner))["server_instances"][0]
    assert instance["server_id"] == "server-a"
    assert instance["current_sequence"] == 1


@pytest.mark.parametrize(
    ("users", "problem"),
    [
        ([{"id": 1, "email": "a@example.com"}, {"id": 1, "email": "b@example.com"}], "duplicate"),
        ([{"id": 1, "email": "not-an-address"}], "users[0].email"),
        ([{"id": "1", "email": None}], "users[0].id"),
        ([{"id": 0, "email": None}], "users[0].id"),
        ([{"id": 1, "email": None, "login": "mona"}], "unknown field"),
        ([{"id": 1}], "missing field"),
        ({"id": 1}, "users: must be an array"),
    ],
)
async def test_malformed_users_are_refused_and_nothing_is_stored(
    cloud: httpx.AsyncClient, users: object, problem: str
) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(7, "kept@example.com")], sequence=1))
    body = {**report(sequence=2), "users": users}
    response = await push(cloud, token, body)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert problem in response.json()["detail"]
    view = await licenses(cloud, owner, include="users")
    assert [p["server_accounts"][0]["email"] for p in view["users"]] == ["kept@example.com"]
    assert view["server_instances"][0]["last_sync"]["status"] == "invalid_report"


async def test_a_bad_address_deep_in_a_large_report_is_named_and_nothing_is_stored(
    cloud: httpx.AsyncClient,
) -> None:
    # Addresses are checked while the rows are stored, chunk by chunk: one far past the
    # first chunk must still refuse the whole report, as parsing would have.
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(7, "kept@example.com")], sequence=1))
    users = [(n, f"user{n}@example.com") for n in range(1, 12_001)]
    users[11_000] = (11_001, "user..11001@example.com")
    response = await push(cloud, token, report(users, sequence=2))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert "users[11000].email: not a valid e-mail address" in response.json()["detail"]
    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 1
    assert [p["server_accounts"][0]["email"] for p in view["users"]] == ["kept@example.com"]
    assert view["server_instances"][0]["current_sequence"] == 1
    fixed = report(
        [*users[:11_000], (11_001, "user11001@example.com"), *users[11_001:]], sequence=2
    )
    assert (await push(cloud, token, fixed)).status_code == 201
    assert (await licenses(cloud, owner))["total_seats_consumed"] == 12_000


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schema_version": 3}, "schema_version"),
        ({"sequence": "3"}, "sequence"),
        ({"extra": True}, "unknown field(s): extra"),
        ({"generated_at": "yesterday"}, "generated_at"),
        ({"report_id": "not-a-uuid"}, "report_id"),
    ],
)
async def test_malformed_header_is_refused(
    cloud: httpx.AsyncClient, change: dict[str, object], problem: str
) -> None:
    owner, token = await _instance(cloud)
    response = await push(cloud, token, {**report(), **change})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert problem in response.json()["detail"]
    assert await consumed(cloud, owner) == 0


async def test_body_that_is_not_json_is_refused(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(7, "kept@example.com")], sequence=1))
    response = await cloud.post("/server-usage", content=b"{not json", headers=auth(token))
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_report"
    assert "not valid JSON" in response.json()["detail"]
    instance = (await licenses(cloud, owner))["server_instances"][0]
    assert (instance["accounts_reported"], instance["current_sequence"]) == (1, 1)


async def test_gzip_body_is_accepted(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    body = gzip.compress(orjson.dumps(report([(1, "a@example.com"), (2, None)])))
    response = await cloud.post(
        "/server-usage",
        content=body,
        headers={**auth(token), "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert await consumed(cloud, owner) == 2


async def test_oversized_body_is_refused_without_content_length(
    cloud: httpx.AsyncClient, cloud_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, token = await _instance(cloud)
    monkeypatch.setattr(cloud_app.state.cloud.settings, "max_body_bytes", 2000)
    big = orjson.dumps(report([(i, f"user{i}@example.com") for i in range(1, 200)]))

    async def chunks() -> AsyncIterator[bytes]:
        # A streamed body carries no Content-Length: the limit must count the bytes.
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    response = await cloud.post("/server-usage", content=chunks(), headers=auth(token))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert await consumed(cloud, owner) == 0


async def test_failure_half_way_leaves_the_previous_report_in_force(
    cloud: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(1, "a@example.com")], sequence=1))
    real_insert = usage_reports.bulk_insert_users

    def insert_then_fail(*args: object, **kwargs: object) -> None:
        real_insert(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("injected: the database went away mid-ingest")

    monkeypatch.setattr(usage_reports, "bulk_insert_users", insert_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        await push(cloud, token, report([(2, "b@example.com"), (3, None)], sequence=2))
    monkeypatch.undo()
    view = await licenses(cloud, owner, include="users")
    assert view["total_seats_consumed"] == 1
    assert view["server_instances"][0]["current_sequence"] == 1
    assert view["users"][0]["server_accounts"][0]["user_id"] == 1


async def test_instance_token_is_required(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    for headers in ({}, auth("lsi_not-a-real-token"), auth(owner)):
        response = await cloud.post("/server-usage", json=report(), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"


async def test_every_applied_report_leaves_a_history_entry(cloud: httpx.AsyncClient) -> None:
    owner, token = await _instance(cloud)
    await push(cloud, token, report([(1, "a@example.com")], sequence=1))
    await push(cloud, token, report([(1, "a@example.com"), (2, None)], sequence=2))
    response = await cloud.get("/enterprise/licenses/history", headers=auth(owner))
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["sequence"], e["users_reported"], e["total_seats_consumed"]) for e in entries] == [
        (1, 1, 1),
        (2, 2, 2),
    ]
    assert all(e["server_id"] == SERVER for e in entries)
    assert uuid.UUID(entries[0]["report_id"])


user_lists = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=10**9),
        st.one_of(st.none(), st.sampled_from([f"p{n}@example.com" for n in range(12)])),
    ),
    max_size=30,
    unique_by=lambda user: user[0],
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(users=user_lists, seed=st.integers(min_value=0, max_value=2**16))
async def test_resending_the_same_users_never_moves_the_figure(
    cloud: httpx.AsyncClient, users: list[tuple[int, str | None]], seed: int
) -> None:
    # One cloud app serves every example: each example gets an enterprise of its own.
    slug = f"e{uuid.uuid4().hex[:12]}"
    owner = await new_enterprise(cloud, slug)
    token = await connect(cloud, owner, slug=slug)
    first = report(users, sequence=1, server_id=slug)
    assert (await push(cloud, token, first)).status_code == 201
    figure = await consumed(cloud, owner)
    assert (await push(cloud, token, first)).json()["status"] == "duplicate"
    assert await consumed(cloud, owner) == figure
    shuffled = list(users)
    random.Random(seed).shuffle(shuffled)
    assert (
        await push(cloud, token, report(shuffled, sequence=2, server_id=slug))
    ).status_code == 201
    assert await consumed(cloud, owner) == figure
