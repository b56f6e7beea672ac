"""Webhooks across cloud processes on one database: two replicas send each delivery once
between them, and a replica killed mid-delivery loses nothing."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from scripts.servers import uvicorn_process, uvicorn_server
from tests.builders import report
from tests.webhook_receiver import SECRET, Answer, Receiver, receiving

OPERATOR = "lsop_hooks-operator"
PINGS = 30


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "CLOUD_API_DATABASE_URL": database_url,
        "CLOUD_API_ADMIN_TOKEN": OPERATOR,
        "CLOUD_API_HOOKS_ALLOW_PRIVATE": "true",
        "CLOUD_API_HOOKS_TIMEOUT_SECONDS": "2",
        "CLOUD_API_HOOKS_POLL_SECONDS": "0.2",
        "CLOUD_API_HOOKS_RETRY_BASE_SECONDS": "0.1",
        **extra,
    }


def _enterprise_with_hook(client: httpx.Client, url: str) -> tuple[dict[str, str], int]:
    created = client.post(
        "/admin/enterprises",
        json={"slug": "corp", "name": "Corp", "seats_purchased": 100},
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    owner = {"Authorization": f"Bearer {created.json()['owner_token']}"}
    hook = client.post(
        "/enterprises/corp/hooks", json={"url": url, "secret": SECRET}, headers=owner
    )
    assert hook.status_code == 201, hook.text
    return owner, int(hook.json()["id"])


def _settled(client: httpx.Client, owner: dict[str, str], hook_id: int, count: int) -> list[Any]:
    deadline = time.monotonic() + 60
    while True:
        found: list[Any] = []
        url: str | None = f"/enterprises/corp/hooks/{hook_id}/deliveries?per_page=100"
        while url:
            page = client.get(url, headers=owner)
            found += page.json()
            link = page.headers.get("link")
            url = link.split(";")[0].strip("<>") if link else None
        if len(found) >= count and all(d["state"] != "pending" for d in found):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def _delivered_count(client: httpx.Client) -> float:
    metrics = client.get("/metrics").text
    pattern = r'webhook_deliveries_total\{event="[^"]+",outcome="delivered"\} ([0-9.]+)'
    return sum(float(value) for value in re.findall(pattern, metrics))


def test_two_replicas_send_each_delivery_once(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    env = _env(new_database_url())
    with ExitStack() as stack:
        receiver = stack.enter_context(receiving(Receiver(plan=[Answer(delay=0.05)] * 1000)))
        replicas = [
            stack.enter_context(
                uvicorn_server("services.cloud_api.main:create_app", env, tmp_path / f"r{n}.log")
            )
            for n in range(2)
        ]
        clients = [stack.enter_context(httpx.Client(base_url=url, timeout=30)) for url in replicas]
        owner, hook_id = _enterprise_with_hook(clients[0], receiver.url)
        instance = clients[1].post(
            "/enterprises/corp/server-instances",
            json={"hostname": "ghes.corp.example", "server_id": "srv-1"},
            headers=owner,
        )
        token = {"Authorization": f"Bearer {instance.json()['instance_token']}"}
        assert (
            clients[0]
            .post("/server-usage", json=report(server_id="srv-1", sequence=9), headers=token)
            .status_code
            == 201
        )

        def act(n: int) -> int:
            client = clients[n % 2]
            if n % 5 == 0:  # a refused push: an older sequence
                body = report(server_id="srv-1", sequence=1)
                return client.post("/server-usage", json=body, headers=token).status_code
            return client.post(
                f"/enterprises/corp/hooks/{hook_id}/pings", headers=owner
            ).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(act, range(PINGS)))
        assert sorted(set(statuses)) == [204, 409]
        expected = 1 + PINGS  # the hook's first ping, then each ping and refusal
        deliveries = _settled(clients[1], owner, hook_id, expected)
        received = receiver.wait_for_sync(expected)
        per_replica = [_delivered_count(client) for client in clients]
    assert len(deliveries) == expected
    assert all(d["state"] == "delivered" and len(d["attempts"]) == 1 for d in deliveries)
    guids = [r.guid for r in received]
    assert sorted(guids) == sorted(d["guid"] for d in deliveries)  # each exactly once
    assert all(r.event is not None for r in received)  # every signature verified
    assert sum(per_replica) == expected
    assert min(per_replica) > 0, per_replica  # both replicas sent some


def test_a_delivery_cut_off_by_a_crash_is_sent_after_the_lease_expires(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    env = _env(new_database_url(), CLOUD_API_HOOKS_LEASE_SECONDS="1")
    hold = threading.Event()
    with receiving(Receiver(plan=[Answer(hold=hold)])) as receiver:
        app = "services.cloud_api.main:create_app"
        with uvicorn_process(app, env, tmp_path / "a.log") as (url, process):
            with httpx.Client(base_url=url, timeout=30) as client:
                owner, hook_id = _enterprise_with_hook(client, receiver.url)
            [cut_off] = receiver.wait_for_sync(1)  # the ping is being sent: crash now
            process.kill()
            process.wait()
        hold.set()
        with (
            uvicorn_server(app, env, tmp_path / "b.log") as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            [delivery] = _settled(client, owner, hook_id, 1)
        received = receiver.wait_for_sync(2)
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [
        200
    ]  # the crashed one: never recorded
    assert [r.guid for r in received] == [cut_off.guid, delivery["guid"]]
    assert cut_off.guid == delivery["guid"]
