"""Issue 15's cases: one enterprise of 10 instances x N users and N cloud accounts (its
listings, download, memory, import and cold start), and many small enterprises in one
bounded process."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import httpx

from bench.data import cloud_accounts, instance_users, report_body
from bench.databases import execute, fresh_database
from bench.floor import measure_import_floor
from bench.probes import metric, peak_rss_while, rss_mb, series, timed
from bench.run import REPEATS, call, cloud, push, set_up

INSTANCES = 10
WARM_REQUESTS = 200
LICENSES = "/enterprise/licenses"
CONSUMED = "/enterprises/bench/consumed-licenses"
CHANGES = "/enterprise/licenses/changes"


def measure_enterprise(kind: str, n: int, workdir: Path) -> dict[str, Any]:
    """Everything about one big enterprise, on a fresh database."""
    accounts = json.dumps(cloud_accounts(n)).encode()
    row: dict[str, Any] = {"db": kind, "per_instance": n}
    with fresh_database(kind, workdir) as url:
        with (
            cloud(kind, workdir, url, f"scale{n}") as (base, _pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            owner, tokens = set_up(client, INSTANCES)
            imports = [_put_accounts(client, owner, accounts)]
            # Best of three, as the floor (a shared machine is off by a third either way):
            # the other two into enterprises of their own, as empty as the first was.
            for k in range(1, REPEATS):
                other, _ = set_up(client, 0, slug=f"import{k}")
                imports.append(_put_accounts(client, other, accounts, slug=f"import{k}"))
            row["import_s"] = min(imports)
            for i, token in enumerate(tokens):
                push(client, token, _body(i, n, 1))
            row["reimport_s"] = _put_accounts(client, owner, accounts)
        with (
            cloud(kind, workdir, url, f"scale-cold{n}") as (base, pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            row.update(_cold_and_memory(client, owner, pid))
            row.update(_warm_reads(client, owner, n))
            row.update(_after_new_reports(client, owner, tokens[0], n))
            row.update(_download(client, owner, pid))
        # The same new process without the figure the last change stored (a database from
        # before figures were stored, or counted by older rules): a full recount.
        execute(url, "DELETE FROM enterprise_figures")
        with (
            cloud(kind, workdir, url, f"scale-recount{n}") as (base, _pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            client.get("/healthz")
            started = time.perf_counter()
            call(client, "GET", LICENSES, owner)
            row["cold_recount_s"] = time.perf_counter() - started
    floors = []
    for _ in range(REPEATS):
        with fresh_database(kind, workdir) as floor_url:
            floors.append(measure_import_floor(accounts, floor_url))
    row["import_floor_s"] = min(floors)
    row["import_ratio"] = row["import_s"] / row["import_floor_s"]
    print(f"enterprise {kind} {n}: {row}", flush=True)
    return row


def _body(instance: int, n: int, sequence: int, fresh: int = 0) -> bytes:
    """Instance ``instance``'s users, and ``fresh`` more people from sequence 2 on."""
    extra = [(n + k, f"fresh{sequence}.{k}@corp.example") for k in range(1, fresh + 1)]
    return report_body(
        instance_users(instance, n) + extra,
        server_id=f"srv-{instance}",
        sequence=sequence,
        hostname=f"ghes{instance}.bench.example",
    )


def _put_accounts(client: httpx.Client, owner: str, body: bytes, slug: str = "bench") -> float:
    started = time.perf_counter()
    call(
        client,
        "PUT",
        f"/enterprises/{slug}/accounts",
        owner,
        content=body,
        headers={"Authorization": f"Bearer {owner}", "Content-Type": "application/json"},
    )
    return time.perf_counter() - started


def _cold_and_memory(client: httpx.Client, owner: str, pid: int) -> dict[str, Any]:
    """A new process: its first figure (a full recompute), its first page (the listing
    built), then the memory a warm enterprise holds."""
    client.get("/healthz")
    baseline = rss_mb(pid)
    started = time.perf_counter()
    figure = call(client, "GET", LICENSES, owner)["total_seats_consumed"]
    cold_figure = time.perf_counter() - started
    first_listing = timed(client, LICENSES, owner, include="users")
    timed(client, LICENSES, owner, include="users", q="user1234")  # search texts built
    timed(client, CONSUMED, owner)
    warm = rss_mb(pid)
    return {
        "persons": figure,
        "cold_figure_s": cold_figure,
        "cold_listing_s": first_listing,
        "baseline_mb": baseline,
        "warm_mb": warm,
        "bytes_per_person": (warm - baseline) * 2**20 / figure,
        "cache_mb": metric(client, "license_sync_cloud_cache_bytes") / 2**20,
    }


def _needles(n: int, rng: random.Random) -> list[str]:
    """Logins, e-mails and user IDs of persons in the enterprise, in turn."""
    needles = []
    for k in range(WARM_REQUESTS):
        j = rng.randint(1, n - 1)
        needles.append((f"cloud-user-{j}", f"i{k % INSTANCES}.user{j}@corp.example", str(j))[k % 3])
    return needles


def _warm_reads(client: httpx.Client, owner: str, n: int) -> dict[str, Any]:
    rng = random.Random(15)
    total = call(client, "GET", LICENSES, owner, params={"include": "users"})["total_persons"]
    pages = max(1, total // 100)
    needles = _needles(n, rng)

    def page(_: int) -> float:
        return timed(
            client, LICENSES, owner, include="users", per_page=100, page=rng.randint(1, pages)
        )

    def search(k: int) -> float:
        return timed(client, LICENSES, owner, include="users", q=needles[k])

    def consumed(_: int) -> float:
        return timed(client, CONSUMED, owner, per_page=100, page=rng.randint(1, pages))

    entries = call(client, "GET", "/enterprise/licenses/history", owner)["entries"]
    first = entries[1]  # instance 0's first report, after the accounts import
    first_pages = max(1, -(-first["started"] // 100))

    def changes(_: int) -> float:
        return timed(
            client,
            CHANGES,
            owner,
            since=entries[0]["received_at"],
            until=first["received_at"],
            per_page=100,
            page=rng.randint(1, first_pages),
        )

    return {
        "warm_page": series(WARM_REQUESTS, page),
        "warm_search": series(WARM_REQUESTS, search),
        "warm_consumed": series(WARM_REQUESTS, consumed),
        "warm_changes": series(WARM_REQUESTS, changes),
    }


PROBES: dict[str, dict[str, Any]] = {
    "first_page": {"path": LICENSES, "include": "users"},
    "last_page": {"path": LICENSES, "include": "users", "per_page": 100, "page": -1},
    "search_login": {"path": LICENSES, "include": "users", "q": "cloud-user-4321"},
    "search_email": {"path": LICENSES, "include": "users", "q": "i3.user4321@corp.example"},
    "search_user_id": {"path": LICENSES, "include": "users", "q": "4321"},
    "consumed_first": {"path": CONSUMED},
    "consumed_last": {"path": CONSUMED, "per_page": 100, "page": -1},
    "changes_latest": {"path": CHANGES},
}


def _after_new_reports(client: httpx.Client, owner: str, token: str, n: int) -> dict[str, Any]:
    """Each read is the first after a new report for instance 0 (50 more people)."""
    cold: dict[str, float] = {}
    total = call(client, "GET", LICENSES, owner, params={"include": "users"})["total_persons"]
    for sequence, (name, probe) in enumerate(PROBES.items(), start=2):
        push(client, token, _body(0, n, sequence, fresh=50))
        params = {k: v for k, v in probe.items() if k != "path"}
        if params.get("page") == -1:  # the last page: the first report added 50 persons
            params["page"] = (total + 50 + 99) // 100
        cold[name] = timed(client, probe["path"], owner, **params)
    return {"cold_after_report_s": cold}


def _download(client: httpx.Client, owner: str, pid: int) -> dict[str, Any]:
    """The whole CSV, read as it streams."""
    rows, first = 0, None
    with peak_rss_while(pid) as memory:
        started = time.perf_counter()
        with client.stream(
            "GET",
            "/enterprises/bench/consumed-licenses.csv",
            headers={"Authorization": f"Bearer {owner}"},
        ) as response:
            for chunk in response.iter_bytes():
                if first is None:
                    first = time.perf_counter() - started
                rows += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    return {
        "csv_rows": rows - 1,
        "csv_first_byte_s": first,
        "csv_s": elapsed,
        "csv_rows_per_s": (rows - 1) / elapsed,
        "csv_growth_mb": memory["peak_mb"] - memory["before_mb"],
    }
