"""Several cloud_api processes on one database: twenty agents push concurrently through
two replicas; both answer the same figure, equal to a recompute from scratch."""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from scripts.servers import uvicorn_server
from services.cloud_api.domain.licensing.rules import (
    CloudIdentity,
    ServerAccount,
    license_figures,
    match_persons,
)
from shared import normalize_email
from tests.builders import report

OPERATOR = "lsop_scale-operator"
AGENTS = 20


def _users(agent: int, rng: random.Random) -> list[tuple[int, str | None]]:
    """Mostly people of this instance; some shared by all; a few without e-mail."""
    users: list[tuple[int, str | None]] = []
    for user_id in range(1, 41):
        roll = rng.random()
        if roll < 0.1:
            users.append((user_id, None))
        elif roll < 0.35:
            users.append((user_id, f"shared{rng.randrange(30)}@corp.example"))
        else:
            users.append((user_id, f"a{agent}.u{user_id}@corp.example"))
    return users


def _expected(
    accounts: list[dict[str, Any]], reports: dict[int, list[tuple[int, str | None]]]
) -> int:
    cloud = [
        CloudIdentity(a["id"], a["login"], True, (normalize_email(a["emails"][0]["email"]),))
        for a in accounts
    ]
    server = [
        ServerAccount(agent, user_id, normalize_email(email) if email else None)
        for agent, users in reports.items()
        for user_id, email in users
    ]
    return license_figures(match_persons(cloud, server, saml_enabled=False)).consumed


def test_two_replicas_agree_under_concurrent_pushes(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    env = {"CLOUD_API_DATABASE_URL": new_database_url(), "CLOUD_API_ADMIN_TOKEN": OPERATOR}
    rng = random.Random(20)
    accounts = [
        {
            "id": 500 + k,
            "login": f"cloud{k}",
            "emails": [{"email": f"shared{k}@corp.example", "verified": True}],
            "org_memberships": [{"org": "corp", "role": "member"}],
        }
        for k in range(0, 40, 2)
    ]
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(
                uvicorn_server("services.cloud_api.main:create_app", env, tmp_path / f"r{n}.log")
            )
            for n in range(2)
        ]
        clients = [stack.enter_context(httpx.Client(base_url=url, timeout=60)) for url in replicas]
        owner = (
            clients[0]
            .post(
                "/admin/enterprises",
                json={"slug": "corp", "name": "Corp", "seats_purchased": 1000},
                headers={"Authorization": f"Bearer {OPERATOR}"},
            )
            .json()["owner_token"]
        )
        owner_headers = {"Authorization": f"Bearer {owner}"}
        clients[1].put(
            "/enterprises/corp/accounts", json={"accounts": accounts}, headers=owner_headers
        ).raise_for_status()
        tokens = [
            clients[n % 2]
            .post(
                "/enterprises/corp/server-instances",
                json={"hostname": f"ghes{n}.corp.example", "server_id": f"srv-{n}"},
                headers=owner_headers,
            )
            .json()["instance_token"]
            for n in range(AGENTS)
        ]
        final: dict[int, list[tuple[int, str | None]]] = {}
        plans = []
        for agent in range(AGENTS):
            versions = [_users(agent, rng) for _ in range(3)]
            final[agent] = versions[-1]
            plans.append((agent, versions))

        def run_agent(plan: tuple[int, list[list[tuple[int, str | None]]]]) -> list[int]:
            agent, versions = plan
            statuses = []
            for sequence, users in enumerate(versions, start=1):
                client = clients[(agent + sequence) % 2]  # each push through either replica
                body = report(
                    users,
                    server_id=f"srv-{agent}",
                    sequence=sequence,
                    hostname=f"ghes{agent}.corp.example",
                )
                response = client.post(
                    "/server-usage", json=body, headers={"Authorization": f"Bearer {tokens[agent]}"}
                )
                statuses.append(response.status_code)
            return statuses

        with ThreadPoolExecutor(max_workers=AGENTS) as pool:
            results = list(pool.map(run_agent, plans))
        assert all(status == 201 for statuses in results for status in statuses), results
        views = [c.get("/enterprise/licenses", headers=owner_headers).json() for c in clients]
        entries = clients[0].get("/enterprise/licenses/history", headers=owner_headers).json()
        everything = (
            clients[1]
            .get(
                "/enterprise/licenses/changes",
                params={"since": "2000-01-01T00:00:00Z"},
                headers=owner_headers,
            )
            .json()
        )
        with uvicorn_server(
            "services.cloud_api.main:create_app", env, tmp_path / "cold.log"
        ) as url:
            cold = httpx.get(f"{url}/enterprise/licenses", headers=owner_headers).json()
    expected = _expected(accounts, final)
    figures = [(v["total_seats_consumed"], v["breakdown"]) for v in (*views, cold)]
    assert figures[0] == figures[1] == figures[2]
    assert figures[0][0] == expected
    # Each history point was written against the state the one before it left, whichever
    # replica wrote it: the changes add up from the first entry to the last.
    totals = [0] + [e["total_seats_consumed"] for e in entries["entries"]]
    steps = [(e["started"], e["stopped"]) for e in entries["entries"]]
    assert all(
        after - before == started - stopped
        for before, after, (started, stopped) in zip(totals, totals[1:], steps, strict=False)
    )
    assert (everything["to_total"], everything["total_started"]) == (expected, expected)
    assert everything["total_stopped"] == 0
    assert sum(i["accounts_reported"] for i in views[0]["server_instances"]) == 40 * AGENTS
