"""A thousand small enterprises in one process bounded by CLOUD_API_CACHE_MB: pushed and
read round robin, the process stays under its bound plus its baseline, and a figure
evicted from the cache comes back quickly."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from bench.data import report_body
from bench.databases import fresh_database
from bench.probes import metric, rss_mb, timed
from bench.run import OPERATOR, call, cloud_process, push

INSTANCES = 3
USERS = 1000
BOUND_MB = 64


def _users(enterprise: int, instance: int) -> list[tuple[int, str | None]]:
    """Most people on one instance, one in ten on all three."""
    return [
        (
            j,
            f"shared{j}@e{enterprise}.example"
            if j % 10 == 0
            else f"i{instance}.u{j}@e{enterprise}.example",
        )
        for j in range(1, USERS + 1)
    ]


def _enterprise(client: httpx.Client, n: int) -> str:
    slug = f"e{n}"
    owner = call(
        client,
        "POST",
        "/admin/enterprises",
        OPERATOR,
        json={"slug": slug, "name": slug, "seats_purchased": 100_000},
    )["owner_token"]
    for i in range(INSTANCES):
        token = call(
            client,
            "POST",
            f"/enterprises/{slug}/server-instances",
            owner,
            json={"hostname": f"ghes{i}.{slug}.example", "server_id": f"{slug}-{i}"},
        )["instance_token"]
        body = report_body(_users(n, i), server_id=f"{slug}-{i}", sequence=1, hostname=f"ghes{i}")
        push(client, token, body)
    return owner


def measure_many(kind: str, count: int, workdir: Path) -> dict[str, Any]:
    env = {"CLOUD_API_CACHE_MB": str(BOUND_MB)}
    with (
        fresh_database(kind, workdir) as url,
        cloud_process(kind, workdir, url, "many", env) as (base, pid),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        client.get("/healthz")
        baseline = rss_mb(pid)
        peak = baseline
        owners = []
        for n in range(count):
            owners.append(_enterprise(client, n))
            call(client, "GET", "/enterprise/licenses", owners[-1], params={"include": "users"})
            peak = max(peak, rss_mb(pid))
        for owner in owners:  # read round robin: every entry is evicted in turn
            call(client, "GET", "/enterprise/licenses", owner, params={"include": "users"})
            call(client, "GET", "/enterprise/licenses", owner)
            peak = max(peak, rss_mb(pid))
        evictions = metric(client, "license_sync_cloud_cache_evictions_total")
        held = metric(client, "license_sync_cloud_cache_bytes") / 2**20
        # The least recently read enterprise: its figure was evicted long ago.
        started = time.perf_counter()
        timed(client, "/enterprise/licenses", owners[0])
        back = time.perf_counter() - started
    row = {
        "db": kind,
        "enterprises": count,
        "bound_mb": BOUND_MB,
        "baseline_mb": baseline,
        "peak_mb": peak,
        "held_mb": held,
        "evictions": evictions,
        "evicted_figure_ms": back * 1000,
    }
    print(f"many {kind}: {row}", flush=True)
    return row
