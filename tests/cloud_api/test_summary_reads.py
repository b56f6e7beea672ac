"""``GET /enterprise/licenses`` read again and again, as dashboards poll it: after the first
read the answer comes from memory (api/fast_lane.py) and must stay exactly the route's
answer, follow every change at once, and never outlive a revoked token."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import sessionmaker

from services.cloud_api.api.routes import licenses as licenses_route
from services.cloud_api.domain.reporting import summary as summary_module
from services.common.db import make_engine
from services.common.probe import ProbeConnections
from tests.builders import auth, connect, metric_samples, new_enterprise, push, report
from tests.conftest import OPERATOR_TOKEN


async def summary(cloud: httpx.AsyncClient, token: str) -> httpx.Response:
    response = await cloud.get("/enterprise/licenses", headers=auth(token))
    assert response.status_code == 200, response.text
    return response


async def test_a_repeated_read_is_the_same_answer(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    await push(cloud, await connect(cloud, owner), report([(1, "a@x.com"), (2, "b@x.com")]))
    first, again = await summary(cloud, owner), await summary(cloud, owner)
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert again.headers["content-length"] == str(len(first.content))
    assert again.headers["x-request-id"] != first.headers["x-request-id"]
    by_token_word = await cloud.get(
        "/enterprise/licenses", headers={"Authorization": f"token {owner}"}
    )
    assert by_token_word.content == first.content


async def test_an_unchanged_summary_is_answered_by_the_fast_lane(
    cloud: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast lane's signature (read by token) and the route's (read by enterprise) must
    agree column by column, or every read would silently take the full path."""
    owner = await new_enterprise(cloud)
    await push(cloud, await connect(cloud, owner), report([(1, "a@x.com")]))
    first = await summary(cloud, owner)

    def never(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("the summary was not served from memory")

    monkeypatch.setattr(licenses_route, "summary_json", never)
    monkeypatch.setattr(summary_module, "enterprise_licenses", never)
    for _ in range(2):
        assert (await summary(cloud, owner)).content == first.content


async def test_every_change_shows_on_the_next_read(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud, seats=10)
    instance = await connect(cloud, owner, server_id="srv-1")
    await push(cloud, instance, report([(1, "a@x.com")], server_id="srv-1"))
    for _ in range(2):
        assert (await summary(cloud, owner)).json()["total_seats_consumed"] == 1

    await push(
        cloud, instance, report([(1, "a@x.com"), (2, "b@x.com")], server_id="srv-1", sequence=2)
    )
    assert (await summary(cloud, owner)).json()["total_seats_consumed"] == 2

    patched = await cloud.patch(
        "/admin/enterprises/acme", json={"seats_purchased": 3}, headers=auth(OPERATOR_TOKEN)
    )
    assert patched.status_code == 200
    assert (await summary(cloud, owner)).json()["total_seats_purchased"] == 3

    refused = await push(cloud, instance, report([(9, "z@x.com")], server_id="srv-1", sequence=1))
    assert refused.status_code == 409
    status = (await summary(cloud, owner)).json()["server_instances"][0]["last_sync"]["status"]
    assert status == "sequence_conflict"  # the refusal is shown, the figure unchanged

    gone = await cloud.delete("/enterprises/acme/server-instances/srv-1", headers=auth(owner))
    assert gone.status_code == 204
    view = (await summary(cloud, owner)).json()
    assert (view["total_seats_consumed"], view["server_instances"]) == (0, [])


async def test_a_revoked_token_is_refused_though_its_answer_was_cached(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    spare = (
        await cloud.post("/admin/enterprises/acme/owner-tokens", headers=auth(OPERATOR_TOKEN))
    ).json()["owner_token"]
    await summary(cloud, owner)
    await summary(cloud, owner)
    revoked = await cloud.post(
        "/enterprises/acme/tokens/revoke", json={"token": owner}, headers=auth(spare)
    )
    assert revoked.status_code == 204
    response = await cloud.get("/enterprise/licenses", headers=auth(owner))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    for headers in ({}, {"Authorization": f"Basic {owner}"}, auth(owner[:-1])):
        assert (await cloud.get("/enterprise/licenses", headers=headers)).status_code == 401


async def test_summary_reads_are_counted_under_their_route(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    for _ in range(3):
        await summary(cloud, owner)
    await cloud.get("/enterprise/licenses", params={"include": "users"}, headers=auth(owner))
    values = metric_samples((await cloud.get("/metrics")).text)
    key = (
        "license_sync_cloud_http_requests_total",
        (("method", "GET"), ("route", "/enterprise/licenses"), ("status", "200")),
    )
    assert values[key] == 4


async def test_an_unreachable_database_is_503_even_for_a_cached_answer(
    cloud: httpx.AsyncClient, cloud_app: FastAPI
) -> None:
    owner = await new_enterprise(cloud)
    await summary(cloud, owner)
    await summary(cloud, owner)  # cached now
    state = cloud_app.state.cloud
    broken = make_engine(
        "postgresql://nobody@127.0.0.1:1/none"
        if state.engine.dialect.name == "postgresql"
        else "sqlite:////nonexistent-dir/cloud.db"
    )
    saved = {name: getattr(state, name) for name in ("engine", "sessions", "probe")}
    for name, value in (
        ("engine", broken),
        ("sessions", sessionmaker(broken)),
        ("probe", ProbeConnections(broken)),
    ):
        object.__setattr__(state, name, value)
    try:
        response = await cloud.get("/enterprise/licenses", headers=auth(owner))
    finally:
        for name, value in saved.items():
            object.__setattr__(state, name, value)
        broken.dispose()
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert response.json()["error"] == "database_unavailable"
    assert (await summary(cloud, owner)).status_code == 200  # and back when it is back
