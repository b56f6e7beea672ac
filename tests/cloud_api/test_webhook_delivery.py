"""Sending deliveries to a real receiver on 127.0.0.1: retried when it is down, slow or
failing, final on a 4xx, every attempt in the log, redelivered by hand with its GUID."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import httpx
import pytest

from scripts.servers import free_port
from services.cloud_api.main import create_app
from services.cloud_api.settings import Settings
from tests.builders import auth, create_hook, hook_deliveries, new_enterprise, settled_deliveries
from tests.webhook_receiver import Answer, Receiver, receiving


async def _first_attempt_failed(cloud: httpx.AsyncClient, owner: str, hook_id: int) -> None:
    while True:
        [delivery] = await hook_deliveries(cloud, owner, hook_id)
        if delivery["attempts"]:
            return
        await asyncio.sleep(0.05)


async def test_a_receiver_that_is_down_gets_the_delivery_once_it_is_up(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    port = free_port()
    hook = await create_hook(hooks_cloud, owner, f"http://127.0.0.1:{port}/hook")
    await _first_attempt_failed(hooks_cloud, owner, hook["id"])
    with receiving(port=port) as receiver:
        [ping] = await receiver.wait_for(1)
        [delivery] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
    assert delivery["state"] == "delivered"
    assert delivery["guid"] == ping.guid
    first, *_, last = delivery["attempts"]
    assert first["status_code"] is None
    assert "failed to connect" in first["error"]
    assert (last["status_code"], last["error"]) == (200, None)


async def test_a_slow_receiver_times_out_and_gets_the_delivery_again(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    plan = [Answer(delay=5.0)]  # past the 2 s timeout these tests set
    with receiving(Receiver(plan=plan)) as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        [delivery] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
        received = await receiver.wait_for(2)
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [None, 200]
    assert delivery["attempts"][0]["error"] == "timed out after 2 s"
    assert {r.guid for r in received} == {delivery["guid"]}  # the same delivery, twice


async def test_5xx_answers_are_retried_until_a_2xx(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    plan = [Answer(503), Answer(500), Answer(502)]
    with receiving(Receiver(plan=plan)) as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        [delivery] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 500, 502, 200]
    assert (delivery["state"], delivery["status"], delivery["status_code"]) == (
        "delivered",
        "OK",
        200,
    )
    times = [a["attempted_at"] for a in delivery["attempts"]]
    assert times == sorted(times)


@pytest.mark.parametrize("status", [400, 404, 410, 301])
async def test_a_4xx_or_a_redirect_is_final_and_redelivery_by_hand_sends_it_again(
    hooks_cloud: httpx.AsyncClient, status: int
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving(Receiver(plan=[Answer(status)])) as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        [failed] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
        assert failed["state"] == "failed"
        assert failed["status"] == f"Invalid HTTP Response: {status}"
        assert [a["status_code"] for a in failed["attempts"]] == [status]
        assert failed["next_attempt_at"] is None
        url = f"/enterprises/acme/hooks/{hook['id']}/deliveries/{failed['id']}/attempts"
        again = await hooks_cloud.post(url, headers=auth(owner))
        assert again.status_code == 202, again.text
        assert (again.json()["guid"], again.json()["redelivery"]) == (failed["guid"], True)
        received = await receiver.wait_for(2)
        settled = await settled_deliveries(hooks_cloud, owner, hook["id"], 2)
    assert [r.guid for r in received] == [failed["guid"]] * 2
    assert [d["state"] for d in settled] == ["failed", "delivered"]
    detail = await hooks_cloud.get(
        f"/enterprises/acme/hooks/{hook['id']}/deliveries/{settled[1]['id']}",
        headers=auth(owner),
    )
    assert detail.json()["request"]["headers"]["X-GitHub-Delivery"] == failed["guid"]
    assert detail.json()["request"]["payload"]["hook_id"] == hook["id"]
    attempts = await hooks_cloud.get(f"{url}", headers=auth(owner))
    assert [a["status_code"] for a in attempts.json()] == [status]


async def test_a_receiver_with_another_secret_rejects_the_signature_and_that_is_final(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving(Receiver(secret="not the hook's secret")) as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        [delivery] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
        [rejected] = receiver.received
    assert rejected.event is None
    assert "ValidationFailure" in (rejected.problem or "")
    assert [a["status_code"] for a in delivery["attempts"]] == [401]
    assert delivery["state"] == "failed"


@pytest.fixture
async def impatient_cloud(hooks_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings = hooks_settings.model_copy(update={"hooks_retry_for_hours": 1.5 / 3600})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as client:
            yield client


async def test_a_delivery_failing_past_the_retry_window_is_given_up(
    impatient_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(impatient_cloud)
    with receiving(Receiver(plan=[Answer(503)] * 1000)) as receiver:
        hook = await create_hook(impatient_cloud, owner, receiver.url)
        [delivery] = await settled_deliveries(impatient_cloud, owner, hook["id"], 1)
    assert delivery["state"] == "failed"
    assert delivery["status"] == "Invalid HTTP Response: 503; gave up"
    assert len(delivery["attempts"]) >= 2
    assert {a["status_code"] for a in delivery["attempts"]} == {503}
    metrics = (await impatient_cloud.get("/metrics")).text
    assert (
        'license_sync_cloud_webhook_deliveries_total{event="ping",outcome="gave_up"} 1.0' in metrics
    )


async def test_deliveries_are_counted_by_event_and_outcome_in_metrics(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    hold = threading.Event()
    with receiving(Receiver(plan=[Answer(500), Answer(hold=hold)])) as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        await receiver.wait_for(2)
        waiting = (await hooks_cloud.get("/metrics")).text
        hold.set()
        await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
    metrics = (await hooks_cloud.get("/metrics")).text
    assert "license_sync_cloud_webhook_deliveries_pending 1.0" in waiting
    assert "license_sync_cloud_webhook_deliveries_pending 0.0" in metrics
    for outcome in ("retry", "delivered"):
        line = (
            f'license_sync_cloud_webhook_deliveries_total{{event="ping",outcome="{outcome}"}} 1.0'
        )
        assert line in metrics


async def test_the_delivery_log_pages_newest_first_by_cursor(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        pings = f"/enterprises/acme/hooks/{hook['id']}/pings"
        for _ in range(4):
            assert (await hooks_cloud.post(pings, headers=auth(owner))).status_code == 204
        await receiver.wait_for(5)
    url = f"/enterprises/acme/hooks/{hook['id']}/deliveries"
    seen: list[int] = []
    next_url: str | None = f"{url}?per_page=2"
    while next_url:
        page = await hooks_cloud.get(next_url, headers=auth(owner))
        assert page.status_code == 200
        seen += [d["id"] for d in page.json()]
        link = page.headers.get("link")
        next_url = link.split(";")[0].strip("<>") if link else None
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == 5


async def test_an_inactive_hook_is_paused_until_it_is_active_again(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving() as receiver:
        paused = await create_hook(hooks_cloud, owner, receiver.url, active=False)
        active = await create_hook(hooks_cloud, owner, receiver.url)
        [sent] = await receiver.wait_for(1)
        # The paused hook's ping was due first, so a sender that ignored the pause would
        # have tried it no later than the active hook's.
        [waiting] = await hook_deliveries(hooks_cloud, owner, paused["id"])
        assert sent.headers["x-github-hook-id"] == str(active["id"])
        assert (waiting["state"], waiting["attempts"]) == ("pending", [])
        resumed = await hooks_cloud.patch(
            f"/enterprises/acme/hooks/{paused['id']}", json={"active": True}, headers=auth(owner)
        )
        assert resumed.status_code == 200
        [_, later] = await receiver.wait_for(2)
    assert later.headers["x-github-hook-id"] == str(paused["id"])
    assert later.guid == waiting["guid"]
