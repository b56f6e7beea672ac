"""Failed authentication is limited per client address on both services (SPEC 7.5): past
the limit an address is answered 429 with Retry-After, valid credentials included, while
other addresses are unaffected; the count is shared by replicas on one database."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from services.cloud_api.main import create_app as create_cloud_app
from services.cloud_api.settings import Settings
from services.common.client_address import client_address, parse_networks
from tests.builders import auth, metric_samples, new_enterprise

ATTACKER = "203.0.113.5"
NEIGHBOUR = "198.51.100.7"
PROXY = "10.1.2.3"


def from_address(
    app: FastAPI, address: str, base_url: str = "http://cloud.test"
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def fail(
    client: httpx.AsyncClient, times: int, path: str = "/enterprise/licenses"
) -> list[int]:
    return [
        (await client.get(path, headers=auth("lso_guessed-wrong"))).status_code
        for _ in range(times)
    ]


@pytest.fixture
async def owner(cloud: httpx.AsyncClient) -> str:
    return await new_enterprise(cloud)


async def clear_of_window_end(window_seconds: int = 60, margin: float = 20) -> None:
    """The limit counts in fixed windows (services/common/auth_limit.py) and starts again at
    each window's end: a test whose failures must fall in one window starts with at least
    ``margin`` seconds of the window left."""
    left = window_seconds - time.time() % window_seconds
    if left < margin:
        await asyncio.sleep(left + 0.1)


async def test_an_address_past_the_limit_is_locked_and_no_other(
    cloud_app: FastAPI, owner: str
) -> None:
    async with (
        from_address(cloud_app, ATTACKER) as attacker,
        from_address(cloud_app, NEIGHBOUR) as neighbour,
    ):
        await clear_of_window_end()
        assert await fail(attacker, 20) == [401] * 20  # the default limit: 20 a minute
        refused = await attacker.get("/enterprise/licenses", headers=auth("lso_another-guess"))
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        # Locked: a right guess would be answered as a wrong one is.
        locked = await attacker.get("/enterprise/licenses", headers=auth(owner))
        assert locked.status_code == 429
        # Requests without credentials (probes, metrics) are not attempts.
        assert (await attacker.get("/healthz")).status_code == 200
        # Another address with valid credentials is unaffected.
        assert (await neighbour.get("/enterprise/licenses", headers=auth(owner))).status_code == 200
        values = metric_samples((await neighbour.get("/metrics")).text)
    assert values[("license_sync_cloud_auth_failures_total", ())] == 20
    assert values[("license_sync_cloud_auth_rate_limited_total", ())] == 2
    answered_429 = sum(
        value
        for (name, labels), value in values.items()
        if name == "license_sync_cloud_http_requests_total" and ("status", "429") in labels
    )
    assert answered_429 == 2


async def test_after_the_window_the_address_may_try_again(
    cloud_settings: Settings,
) -> None:
    settings = cloud_settings.model_copy(
        update={"auth_failure_limit": 2, "auth_failure_window_seconds": 1}
    )
    app = create_cloud_app(settings)
    async with app.router.lifespan_context(app), from_address(app, ATTACKER) as attacker:
        owner = await new_enterprise(attacker)
        for _ in range(100):  # until three failures fall in one window
            refused = await attacker.get("/enterprise/licenses", headers=auth("lso_wrong"))
            if refused.status_code == 429:
                break
        assert refused.status_code == 429
        await asyncio.sleep(int(refused.headers["Retry-After"]))
        again = await attacker.get("/enterprise/licenses", headers=auth(owner))
    assert again.status_code == 200


@pytest.fixture
async def two_replicas(cloud_settings: Settings) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two cloud apps on one database, as two processes behind a load balancer would be."""
    async with AsyncExitStack() as stack:
        apps = []
        for _ in range(2):
            app = create_cloud_app(cloud_settings)
            await stack.enter_async_context(app.router.lifespan_context(app))
            apps.append(app)
        yield apps[0], apps[1]


async def test_replicas_on_one_database_share_the_limit(
    two_replicas: tuple[FastAPI, FastAPI],
) -> None:
    first, second = two_replicas
    async with from_address(second, NEIGHBOUR) as neighbour:
        owner = await new_enterprise(neighbour)
    async with from_address(first, ATTACKER) as one, from_address(second, ATTACKER) as other:
        # Twenty failures, half through each replica: the twenty-first is refused by either.
        await clear_of_window_end()
        for _ in range(10):
            assert await fail(one, 1) + await fail(other, 1) == [401, 401]
        assert await fail(one, 1) == [429]
        assert await fail(other, 1) == [429]
        # Each replica reads the locks at most once a second: the other one's lock arrives.
        for _ in range(60):
            answer = await one.get("/enterprise/licenses", headers=auth(owner))
            if answer.status_code == 429:
                break
            await asyncio.sleep(0.05)
        assert answer.status_code == 429
        assert (await other.get("/enterprise/licenses", headers=auth(owner))).status_code == 429


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    cloud_settings: Settings,
) -> None:
    behind_proxy = cloud_settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    app = create_cloud_app(behind_proxy)
    async with app.router.lifespan_context(app), from_address(app, PROXY) as proxy:
        owner = await new_enterprise(proxy)
        attacker = {"X-Forwarded-For": f"192.0.2.1, {ATTACKER}"}  # it wrote the first
        for _ in range(20):
            await proxy.get("/enterprise/licenses", headers={**auth("lso_x"), **attacker})
        refused = await proxy.get("/enterprise/licenses", headers={**auth(owner), **attacker})
        assert refused.status_code == 429
        neighbour = {"X-Forwarded-For": NEIGHBOUR}
        answer = await proxy.get("/enterprise/licenses", headers={**auth(owner), **neighbour})
        assert answer.status_code == 200


async def test_forwarded_for_from_anyone_else_changes_nothing(cloud_app: FastAPI) -> None:
    async with from_address(cloud_app, ATTACKER) as attacker:
        for number in range(20):
            headers = {**auth("lso_x"), "X-Forwarded-For": f"192.0.2.{number}"}
            assert (await attacker.get("/enterprise/licenses", headers=headers)).status_code == 401
        headers = {**auth("lso_x"), "X-Forwarded-For": "192.0.2.200"}
        assert (await attacker.get("/enterprise/licenses", headers=headers)).status_code == 429


def test_client_addresses() -> None:
    trusted = parse_networks("10.0.0.0/8, 2001:db8::1")

    def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1), "headers": headers}

    assert client_address(scope(ATTACKER, "198.51.100.1"), ()) == ATTACKER
    assert client_address(scope(ATTACKER, "198.51.100.1"), trusted) == ATTACKER
    assert (
        client_address(scope(PROXY, "1.1.1.1, 198.51.100.1, 10.9.9.9"), trusted) == "198.51.100.1"
    )
    assert client_address(scope(PROXY, "junk"), trusted) == PROXY
    assert client_address(scope(PROXY), trusted) == PROXY
    # IPv6 clients count by their /64; IPv4-mapped ones as IPv4.
    assert client_address(scope("2001:db8:1:2:aaaa::1"), ()) == "2001:db8:1:2::/64"
    assert client_address(scope("::ffff:192.0.2.1"), ()) == "192.0.2.1"


def test_a_wrong_trusted_proxy_stops_the_start(new_database_url: Callable[[], str]) -> None:
    with pytest.raises(
        ValidationError, match=re.escape("'10.0.0.0/33' is not an IP address or network")
    ):
        Settings(database_url=new_database_url(), trusted_proxies="127.0.0.1, 10.0.0.0/33")
    assert Settings(database_url=new_database_url()).trusted_proxy_networks() == ()
