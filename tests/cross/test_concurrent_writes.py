"""Eight clients write at once, every kind of write, through a real server: no answer is a
5xx, on SQLite and PostgreSQL, and the final state is what the writes say.

A real uvicorn process, because its handlers run in worker threads, each in its own
transaction: in-process ASGITransport would serve them one at a time on one event loop and
never make two transactions meet. Each of the enterprises below is either only created, or
goes through the whole life of a tenant (`_tenant_life`) while the others are created.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from scripts.servers import uvicorn_server
from services.cloud_api.db.models import Enterprise
from services.common.db import make_engine
from shared import public_key_text, sign_report
from shared.push_signatures import sign_push
from tests.builders import account, auth, report

OPERATOR = "lsop_concurrency-operator"
CLIENTS = 8
ENTERPRISES = 200
TENANT_EVERY = 10  # every tenth enterprise lives a whole life: 20 of them
UPLOAD_KEY = Ed25519PrivateKey.generate()
AGENT_KEY = Ed25519PrivateKey.generate()

# Stands in for a token a failed call did not return: the calls that need it go on, and
# their 401s are reported with the rest.
MISSING = "missing-token"

Call = tuple[str, int, int]
"""What was asked, the status expected, the status answered."""


class Client:
    """Records every answer next to the one expected, for one assertion at the end."""

    def __init__(self, http: httpx.Client, slug: str) -> None:
        self.http, self.slug, self.calls = http, slug, list[Call]()

    def call(self, expected: int, method: str, url: str, token: str, **kw: Any) -> Any:
        headers = {**auth(token), **kw.pop("headers", {})}
        response = self.http.request(method, url, headers=headers, **kw)
        route = url.replace(self.slug, "{slug}")  # calls group by route in the report
        self.calls.append((f"{method} {route}", expected, response.status_code))
        return response.json() if response.content and response.is_success else None


def _create(client: Client) -> str:
    body = {"slug": client.slug, "name": client.slug.upper(), "seats_purchased": 10}
    created = client.call(201, "POST", "/admin/enterprises", OPERATOR, json=body)
    return str(created["owner_token"]) if created else MISSING


def _connect(client: Client, owner: str, server_id: str, **extra: Any) -> str:
    url = f"/enterprises/{client.slug}/server-instances"
    body = {"hostname": f"{server_id}.{client.slug}.example", "server_id": server_id, **extra}
    connected = client.call(201, "POST", url, owner, json=body)
    return str(connected["instance_token"]) if connected else MISSING


def _push(client: Client, token: str, expected: int, users: Any, **options: Any) -> None:
    """As the agent pushes: its key offered, the request signed with it."""
    body = report(users, server_id="agent", hostname=f"agent.{client.slug}.example", **options)
    content = orjson.dumps(body)
    headers = {"X-Agent-Public-Key": public_key_text(AGENT_KEY), "Content-Type": "application/json"}
    sign_push("POST", f"{client.http.base_url}/server-usage", headers, content, AGENT_KEY)
    client.call(expected, "POST", "/server-usage", token, content=content, headers=headers)


@dataclass(frozen=True, slots=True)
class Tenant:
    slug: str
    owner: str
    revoked: str
    """A second owner token, revoked at the end of the tenant's life."""


def _tenant_life(client: Client) -> Tenant:
    """Every write the API has, in the order a tenant's life would make them."""
    slug = client.slug
    owner = _create(client)
    client.call(200, "PATCH", f"/admin/enterprises/{slug}", OPERATOR, json={"seats_purchased": 50})
    spare = client.call(201, "POST", f"/admin/enterprises/{slug}/owner-tokens", OPERATOR)
    domain = f"{slug}.example"
    accounts = [account(100 + i, f"c{i}-{slug}", [f"c{i}@{domain}"]) for i in range(3)]
    client.call(200, "PUT", f"/enterprises/{slug}/accounts", owner, json={"accounts": accounts})
    _connect_and_sync(client, owner)
    tenant = Tenant(slug, owner, spare["owner_token"] if spare else MISSING)
    client.call(
        204, "POST", f"/enterprises/{slug}/tokens/revoke", owner, json={"token": tenant.revoked}
    )
    return tenant


def _connect_and_sync(client: Client, owner: str) -> None:
    slug, domain = client.slug, f"{client.slug}.example"
    first = _connect(client, owner, "agent")
    _connect(client, owner, "closed", public_key=public_key_text(UPLOAD_KEY), upload_only=True)
    gone = _connect(client, owner, "gone")
    gone_report = report([(1, f"g1@{domain}")], server_id="gone", hostname=f"gone.{domain}")
    client.call(201, "POST", "/server-usage", gone, json=gone_report)
    client.call(204, "DELETE", f"/enterprises/{slug}/server-instances/gone", owner)
    _push(client, first, 201, [(1, f"c0@{domain}")], sequence=1)
    rotated = client.call(201, "POST", f"/enterprises/{slug}/server-instances/agent/token", owner)
    token = rotated["instance_token"] if rotated else MISSING
    _push(client, first, 401, [(1, f"c0@{domain}")], sequence=2)  # the rotated-out token
    users = [(1, f"c0@{domain}"), (2, f"s1@{domain}"), (3, f"s2@{domain}")]
    _push(client, token, 201, users, sequence=2)
    _push(client, token, 409, [(9, f"late@{domain}")], sequence=1)  # refused, and recorded
    upload_users = [(1, f"c1@{domain}"), (2, f"s2@{domain}"), (3, f"u3@{domain}")]
    signed = sign_report(report(upload_users, server_id="closed"), UPLOAD_KEY)
    client.call(201, "POST", f"/enterprises/{slug}/server-usage/uploads", owner, content=signed)


def _work(http: httpx.Client, n: int) -> tuple[list[Call], Tenant | None]:
    client = Client(http, f"e{n:03d}")
    if n % TENANT_EVERY:
        _create(client)
        return client.calls, None
    tenant = _tenant_life(client)
    return client.calls, tenant


def _check_tenant(http: httpx.Client, tenant: Tenant) -> None:
    """The figure and every instance as the writes left them; the revoked token is dead."""
    assert http.get("/enterprise/licenses", headers=auth(tenant.revoked)).status_code == 401
    view = http.get("/enterprise/licenses", headers=auth(tenant.owner)).json()
    # c0 and c1 are in both places, c2 is cloud-only; s1, s2 (on both instances), u3 are
    # server-only; the disconnected instance's g1 no longer counts.
    assert (view["total_seats_consumed"], view["total_seats_purchased"]) == (6, 50), view
    assert view["breakdown"] == {"both": 2, "cloud_only": 1, "server_only": 3}
    instances = {i["server_id"]: i for i in view["server_instances"]}
    assert sorted(instances) == ["agent", "closed"]
    agent, closed = instances["agent"], instances["closed"]
    assert (agent["current_sequence"], agent["accounts_reported"]) == (2, 3)
    assert agent["last_sync"]["status"] == "sequence_conflict"
    assert (closed["source"], closed["current_sequence"], closed["accounts_reported"]) == (
        "upload",
        1,
        3,
    )


def _enterprises_stored(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(Enterprise)) or 0)
    finally:
        engine.dispose()


def test_concurrent_writes_of_every_kind_never_fail(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    database_url = new_database_url()
    env = {
        "CLOUD_API_DATABASE_URL": database_url,
        "CLOUD_API_ADMIN_TOKEN": OPERATOR,
        # Every tenant's life has an expected 401, all from one address: not a guesser.
        "CLOUD_API_AUTH_FAILURE_LIMIT": "1000000",
    }
    app = "services.cloud_api.main:create_app"
    with (
        uvicorn_server(app, env, tmp_path / "cloud.log") as url,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            results = list(pool.map(lambda n: _work(http, n), range(ENTERPRISES)))
        calls = [call for result_calls, _tenant in results for call in result_calls]
        failed = Counter(what for what, _expected, status in calls if status >= 500)
        assert not failed, f"{failed.total()} of {len(calls)} answers were 5xx: {failed}"
        assert [c for c in calls if c[1] != c[2]] == []
        for _calls, tenant in results:
            if tenant is not None:
                _check_tenant(http, tenant)
    assert _enterprises_stored(database_url) == ENTERPRISES
