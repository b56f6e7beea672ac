"""What publishes events: a threshold crossed (once per crossing, both ways, by whatever
moved the figure or the seats), and a refused push or upload."""

from __future__ import annotations

from typing import Any

import httpx

from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from tests.builders import (
    account,
    auth,
    connect,
    create_hook,
    hook_deliveries,
    import_accounts,
    new_enterprise,
    push,
    report,
)
from tests.cloud_api.test_uploads import _upload_only, export_file, upload
from tests.conftest import OPERATOR_TOKEN
from tests.webhook_receiver import receiving

THRESHOLD = "license.threshold_crossed"


def _users(count: int) -> list[tuple[int, str | None]]:
    return [(n, f"user{n}@example.com") for n in range(1, count + 1)]


async def _crossings(cloud: httpx.AsyncClient, owner: str, hook_id: int) -> list[tuple[str, int]]:
    """The crossings stored so far, oldest first (stored with the change that caused them,
    so there is nothing to wait for)."""
    found = [d for d in await hook_deliveries(cloud, owner, hook_id) if d["event"] == THRESHOLD]
    details = []
    for delivery in reversed(found):
        detail = await cloud.get(
            f"/enterprises/acme/hooks/{hook_id}/deliveries/{delivery['id']}", headers=auth(owner)
        )
        payload = detail.json()["request"]["payload"]
        details.append((payload["action"], payload["threshold"]))
    return details


async def test_a_threshold_fires_once_per_crossing_up_or_down(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud, seats=10)
    token = await connect(hooks_cloud, owner, server_id="srv-1")
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url, config={"thresholds": [50, 100]})
        steps: list[tuple[int, list[tuple[str, int]]]] = [
            (4, []),
            (5, [("up", 50)]),
            (6, []),
            (9, []),
            (10, [("up", 100)]),
            (12, []),
            (3, [("down", 100), ("down", 50)]),
            (4, []),
            (11, [("up", 50), ("up", 100)]),
        ]
        expected: list[tuple[str, int]] = []
        for sequence, (users, crossings) in enumerate(steps, start=1):
            body = report(_users(users), server_id="srv-1", sequence=sequence)
            assert (await push(hooks_cloud, token, body)).status_code == 201
            expected += crossings
            assert await _crossings(hooks_cloud, owner, hook["id"]) == expected, users
        arrived = await receiver.wait_for(len(expected), name=THRESHOLD)
    # Sent concurrently, as GitHub sends: arrival order is not the order of the events.
    assert sorted((r.data["action"], r.data["threshold"]) for r in arrived) == sorted(expected)
    last = max((r.data for r in arrived), key=lambda data: data["total_seats_consumed"])
    assert (last["total_seats_consumed"], last["total_seats_purchased"]) == (11, 10)
    assert last["percent_consumed"] == 110.0
    assert last["enterprise"]["slug"] == "acme"


async def test_seats_accounts_and_disconnects_move_thresholds_too(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud, seats=10)
    token = await connect(hooks_cloud, owner, server_id="srv-1")
    assert (await push(hooks_cloud, token, report(_users(4), server_id="srv-1"))).status_code == 201
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url, config={"thresholds": [50]})
        assert await _crossings(hooks_cloud, owner, hook["id"]) == []  # 40 %: nothing yet
        fewer_seats = await hooks_cloud.patch(
            "/admin/enterprises/acme", json={"seats_purchased": 8}, headers=auth(OPERATOR_TOKEN)
        )
        assert fewer_seats.status_code == 200
        assert await _crossings(hooks_cloud, owner, hook["id"]) == [("up", 50)]
        more_seats = await hooks_cloud.patch(
            "/admin/enterprises/acme", json={"seats_purchased": 20}, headers=auth(OPERATOR_TOKEN)
        )
        assert more_seats.status_code == 200
        assert (await _crossings(hooks_cloud, owner, hook["id"]))[-1] == ("down", 50)
        cloud_people = [account(100 + n, f"c{n}", [f"cloud{n}@example.com"]) for n in range(6)]
        assert (await import_accounts(hooks_cloud, owner, cloud_people)).status_code == 200
        assert (await _crossings(hooks_cloud, owner, hook["id"]))[-1] == ("up", 50)
        gone = await hooks_cloud.delete(
            "/enterprises/acme/server-instances/srv-1", headers=auth(owner)
        )
        assert gone.status_code == 204
        assert await _crossings(hooks_cloud, owner, hook["id"]) == [
            ("up", 50),
            ("down", 50),
            ("up", 50),
            ("down", 50),
        ]
        await receiver.wait_for(4, name=THRESHOLD)


async def test_a_new_hook_does_not_announce_a_level_already_passed(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud, seats=2)
    token = await connect(hooks_cloud, owner, server_id="srv-1")
    assert (await push(hooks_cloud, token, report(_users(3), server_id="srv-1"))).status_code == 201
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        assert hook["thresholds_reached"] == [90, 100]
        body = report(_users(4), server_id="srv-1", sequence=2)
        assert (await push(hooks_cloud, token, body)).status_code == 201
        assert await _crossings(hooks_cloud, owner, hook["id"]) == []
        await receiver.wait_for(1, name="ping")


async def test_only_subscribed_active_hooks_are_sent_an_event(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud, seats=1)
    token = await connect(hooks_cloud, owner, server_id="srv-1")
    with receiving() as receiver:
        wanted = await create_hook(hooks_cloud, owner, receiver.url, events=[THRESHOLD])
        other = await create_hook(hooks_cloud, owner, receiver.url, events=["server_usage.refused"])
        inactive = await create_hook(hooks_cloud, owner, receiver.url, active=False)
        assert (await push(hooks_cloud, token, report(server_id="srv-1"))).status_code == 201
        assert len(await _crossings(hooks_cloud, owner, wanted["id"])) == 2
        assert await _crossings(hooks_cloud, owner, other["id"]) == []
        assert await _crossings(hooks_cloud, owner, inactive["id"]) == []
        await receiver.wait_for(2, name=THRESHOLD)


async def _refusals(cloud: httpx.AsyncClient, owner: str, hook_id: int) -> list[dict[str, Any]]:
    found = await hook_deliveries(cloud, owner, hook_id)
    return [d for d in found if d["event"] == "server_usage.refused"]


async def test_a_refused_push_is_published_with_its_reason(hooks_cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(hooks_cloud)
    token = await connect(hooks_cloud, owner, server_id="srv-1")
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        assert (
            await push(hooks_cloud, token, report(server_id="srv-1", sequence=5))
        ).status_code == 201
        stale = await push(hooks_cloud, token, report(server_id="srv-1", sequence=4))
        assert stale.status_code == 409
        assert len(await _refusals(hooks_cloud, owner, hook["id"])) == 1
        not_json = await hooks_cloud.post(
            "/server-usage",
            content=b"{not json",
            headers={**auth(token), "Content-Type": "application/json"},
        )
        assert not_json.status_code == 422
        [first, second] = await receiver.wait_for(2, name="server_usage.refused")
    assert (first.data["action"], first.data["source"]) == ("refused", "connect")
    assert first.data["error"] == "sequence_conflict"
    assert "sequence 4" in first.data["detail"]
    assert first.data["server_instance"] == {"server_id": "srv-1", "hostname": "ghes.example.com"}
    assert second.data["error"] == not_json.json()["error"]


async def test_a_refused_upload_is_published(hooks_cloud: httpx.AsyncClient) -> None:
    owner = await _upload_only(hooks_cloud)
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        forged = export_file().replace(b"a@example.com", b"z@example.com")
        assert (await upload(hooks_cloud, owner, forged)).status_code == 422
        [refused] = await _refusals(hooks_cloud, owner, hook["id"])
        [arrived] = await receiver.wait_for(1, name="server_usage.refused")
    assert arrived.guid == refused["guid"]
    assert arrived.data["server_instance"]["server_id"] == "air-gapped-1"
    assert arrived.data["source"] == "upload"


async def test_an_upload_for_an_instance_not_connected_is_published_with_its_server_id(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving() as receiver:
        await create_hook(hooks_cloud, owner, receiver.url)
        assert (await upload(hooks_cloud, owner, export_file())).status_code == 404
        [arrived] = await receiver.wait_for(1, name="server_usage.refused")
    assert arrived.data["error"] == "unknown_instance"
    assert arrived.data["server_instance"] == {"server_id": "air-gapped-1", "hostname": None}


async def test_the_periodic_check_announces_an_instance_that_stopped_reporting(
    hooks_settings: Settings,
) -> None:
    one_second = 1 / 86400
    settings = hooks_settings.model_copy(
        update={"stale_after_days": one_second, "periodic_check_seconds": 0.2}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as cloud:
            owner = await new_enterprise(cloud)
            with receiving() as receiver:
                await create_hook(cloud, owner, receiver.url)
                await connect(cloud, owner, server_id="srv-1")
                [stale] = await receiver.wait_for(1, name="server_instance.stale")
    assert stale.data["action"] == "stale"
    assert stale.data["server_instance"]["server_id"] == "srv-1"
    assert stale.data["server_instance"]["last_report_at"] is None
    assert stale.data["stale_after_days"] == one_second
