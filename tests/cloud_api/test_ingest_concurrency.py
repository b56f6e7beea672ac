"""Out-of-order and concurrent reports for one instance: the highest sequence wins, no
duplicate rows, no deadlock, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random

import httpx

from tests.builders import auth, connect, licenses, new_enterprise, push, report


async def test_concurrent_out_of_order_reports_leave_the_highest(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    sequences = list(range(1, 13))
    random.Random(3).shuffle(sequences)
    bodies = {
        seq: report([(seq * 100 + i, f"s{seq}u{i}@example.com") for i in range(seq)], sequence=seq)
        for seq in sequences
    }
    responses = await asyncio.gather(*(push(cloud, token, bodies[seq]) for seq in sequences))
    assert {r.status_code for r in responses} <= {201, 409}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"] == "sequence_conflict"
    view = await licenses(cloud, owner, include="users", per_page=100)
    assert view["server_instances"][0]["current_sequence"] == 12
    assert view["total_persons"] == 12  # exactly report 12's users: no leftovers, no doubles
    assert {p["server_accounts"][0]["user_id"] for p in view["users"]} == {
        1200 + i for i in range(12)
    }


async def test_the_same_report_sent_concurrently_is_applied_once(
    cloud: httpx.AsyncClient,
) -> None:
    owner = await new_enterprise(cloud)
    token = await connect(cloud, owner)
    body = report([(i, f"u{i}@example.com") for i in range(1, 50)])
    responses = await asyncio.gather(*(push(cloud, token, body) for _ in range(6)))
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["applied"] + ["duplicate"] * 5
    history = await cloud.get("/enterprise/licenses/history", headers=auth(owner))
    assert len(history.json()["entries"]) == 1


async def test_concurrent_reports_of_many_instances_all_count(cloud: httpx.AsyncClient) -> None:
    owner = await new_enterprise(cloud)
    tokens = [
        await connect(cloud, owner, server_id=f"s{n}", hostname=f"h{n}.example.com")
        for n in range(6)
    ]
    bodies = [
        report(
            [(i, f"shared{i}@example.com") for i in range(1, 21)],
            server_id=f"s{n}",
            hostname=f"h{n}.example.com",
        )
        for n in range(6)
    ]
    responses = await asyncio.gather(
        *(push(cloud, t, b) for t, b in zip(tokens, bodies, strict=True))
    )
    assert [r.status_code for r in responses] == [201] * 6
    view = await licenses(cloud, owner)
    assert view["total_seats_consumed"] == 20  # the same 20 people on every instance
    assert sum(i["accounts_reported"] for i in view["server_instances"]) == 120
