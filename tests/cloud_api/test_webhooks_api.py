"""Managing hooks: GitHub's shape, checked input, and a secret that never comes back."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.builders import (
    auth,
    create_hook,
    hook_deliveries,
    new_enterprise,
    settled_deliveries,
)
from tests.webhook_receiver import SECRET, receiving


async def test_a_new_hook_is_pinged_like_github_pings_and_a_github_receiver_verifies_it(
    hooks_cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(hooks_cloud)
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        [ping] = await receiver.wait_for(1)
    assert hook["config"]["secret"] == "********"
    assert hook["config"]["thresholds"] == [90, 100]
    assert hook["events"] == [
        "license.threshold_crossed",
        "server_instance.stale",
        "server_usage.refused",
    ]
    assert ping.name == "ping"
    assert ping.headers["x-github-hook-id"] == str(hook["id"])
    assert ping.headers["user-agent"].startswith("GitHub-Hookshot/")
    assert ping.headers["content-type"] == "application/json"
    assert ping.headers["x-github-hook-installation-target-type"] == "enterprise"
    assert ping.data["hook_id"] == hook["id"]
    assert ping.data["hook"]["config"]["url"] == receiver.url
    assert ping.data["enterprise"]["slug"] == "acme"
    assert ping.event is not None
    assert ping.event.delivery_id == ping.guid
    [logged] = await settled_deliveries(hooks_cloud, owner, hook["id"], 1)
    assert logged["guid"] == ping.guid
    assert (logged["event"], logged["state"], logged["status"]) == ("ping", "delivered", "OK")
    assert logged["status_code"] == 200
    assert [a["status_code"] for a in logged["attempts"]] == [200]


async def test_hooks_are_listed_read_changed_and_deleted(quiet_cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(quiet_cloud)
    hook = await create_hook(
        quiet_cloud,
        owner,
        "https://93.184.215.14/hooks",
        events=["server_usage.refused"],
        config={"thresholds": [100, 80, 80]},
    )
    assert hook["config"]["thresholds"] == [80, 100]
    assert hook["last_response"] == {"code": None, "status": "unused", "message": None}
    url = f"/enterprises/acme/hooks/{hook['id']}"
    listed = (await quiet_cloud.get("/enterprises/acme/hooks", headers=auth(owner))).json()
    assert [h["id"] for h in listed] == [hook["id"]]
    changed = await quiet_cloud.patch(
        url, json={"events": ["*"], "active": False}, headers=auth(owner)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["events"], changed.json()["active"]) == (["*"], False)
    assert (await quiet_cloud.get(url, headers=auth(owner))).json()["active"] is False
    assert (await quiet_cloud.delete(url, headers=auth(owner))).status_code == 204
    assert (await quiet_cloud.get(url, headers=auth(owner))).status_code == 404
    gone = await quiet_cloud.get(f"{url}/deliveries", headers=auth(owner))
    assert gone.status_code == 404


async def test_another_enterprises_hooks_are_not_found(quiet_cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(quiet_cloud)
    other = await new_enterprise(quiet_cloud, "globex")
    hook = await create_hook(quiet_cloud, owner, "https://93.184.215.14/h")
    for method, path in [
        ("GET", f"/enterprises/acme/hooks/{hook['id']}"),
        ("GET", f"/enterprises/globex/hooks/{hook['id']}"),
        ("DELETE", f"/enterprises/globex/hooks/{hook['id']}"),
        ("POST", f"/enterprises/globex/hooks/{hook['id']}/pings"),
    ]:
        response = await quiet_cloud.request(method, path, headers=auth(other))
        assert response.status_code == 404, (method, path)
    assert len(await hook_deliveries(quiet_cloud, owner, hook["id"])) == 1  # the first ping


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ({"url": "ftp://93.184.215.14/h"}, "invalid_hook_url", "http or https"),
        ({"url": "https:///no-host"}, "invalid_hook_url", "host"),
        ({"url": "http://93.184.215.14:port/"}, "invalid_hook_url", "port"),
        ({"events": ["push"]}, "invalid_events", "'push'"),
        ({"events": []}, "invalid_input", "events"),
        ({"secret": ""}, "invalid_input", "secret"),
        ({"secret": "   "}, "invalid_secret", "secret"),
        ({"config": {"thresholds": [0]}}, "invalid_input", "thresholds"),
        ({"color": "red"}, "invalid_input", "color"),
    ],
)
async def test_bad_hook_input_is_refused_naming_the_problem(
    quiet_cloud: httpx.AsyncClient, body: dict[str, Any], error: str, words: str
) -> None:
    owner = await new_enterprise(quiet_cloud)
    full = {"url": "https://93.184.215.14/h", "secret": "s3cret", **body}
    response = await quiet_cloud.post("/enterprises/acme/hooks", json=full, headers=auth(owner))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == error
    assert words in response.json()["detail"]
    assert (await quiet_cloud.get("/enterprises/acme/hooks", headers=auth(owner))).json() == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
    ],
)
async def test_private_and_loopback_addresses_are_refused_unless_allowed(
    quiet_cloud: httpx.AsyncClient, url: str
) -> None:
    owner = await new_enterprise(quiet_cloud)
    response = await quiet_cloud.post(
        "/enterprises/acme/hooks", json={"url": url, "secret": "s"}, headers=auth(owner)
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_hook_url"
    assert "public addresses" in response.json()["detail"]
    hook = await create_hook(quiet_cloud, owner, "https://93.184.215.14/h")
    patched = await quiet_cloud.patch(
        f"/enterprises/acme/hooks/{hook['id']}", json={"url": url}, headers=auth(owner)
    )
    assert patched.status_code == 422
    stored = await quiet_cloud.get(f"/enterprises/acme/hooks/{hook['id']}", headers=auth(owner))
    assert stored.json()["url"] == "https://93.184.215.14/h"


async def test_the_secret_never_appears_in_an_answer_or_a_log(
    hooks_cloud: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = await new_enterprise(hooks_cloud)
    answers: list[httpx.Response] = []
    with receiving() as receiver:
        hook = await create_hook(hooks_cloud, owner, receiver.url)
        await receiver.wait_for(1)  # the creation's ping, signed with the first secret
        url = f"/enterprises/acme/hooks/{hook['id']}"
        answers.append(await hooks_cloud.get(url, headers=auth(owner)))
        answers.append(await hooks_cloud.get("/enterprises/acme/hooks", headers=auth(owner)))
        answers.append(
            await hooks_cloud.patch(url, json={"secret": SECRET + "!"}, headers=auth(owner))
        )
        receiver.secret = SECRET + "!"
        answers.append(await hooks_cloud.post(f"{url}/pings", headers=auth(owner)))
        await receiver.wait_for(2)
        deliveries = await settled_deliveries(hooks_cloud, owner, hook["id"], 2)
        answers.append(await hooks_cloud.get(f"{url}/deliveries", headers=auth(owner)))
        for delivery in deliveries:
            answers.append(
                await hooks_cloud.get(f"{url}/deliveries/{delivery['id']}", headers=auth(owner))
            )
        answers.append(await hooks_cloud.get("/metrics"))
        answers.append(await hooks_cloud.get("/enterprises/acme/audit-log", headers=auth(owner)))
    assert all(answer.status_code < 300 for answer in answers)
    logged = {entry["action"] for entry in answers[-1].json()}
    assert {"hook.create", "hook.update", "hook.ping"} <= logged
    assert "X-Hub-Signature-256" in answers[-3].json()["request"]["headers"]
    for text in [hook.__repr__(), *(answer.text for answer in answers), caplog.text]:
        assert "Secret to Everybody" not in text
    assert "hook" in caplog.text  # the worker did log its deliveries
