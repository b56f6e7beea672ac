"""``make bench``: measure ingest, memory, recompute and reads against the floor and a
trivial endpoint measured in the same run, and write docs/benchmarks.md.

Every number is wall time on this machine while nothing else of ours runs; each is also
given as a ratio to its reference from the same run, since absolute times on a shared
machine drift from run to run while ratios hold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.data import cloud_accounts, instance_users, report_body, single_instance_users
from bench.databases import execute, fresh_database
from bench.floor import measure_floor
from scripts.servers import ROOT, uvicorn_process

OPERATOR = "lsop_bench-operator"
CLOUD_APP = "services.cloud_api.main:create_app"


@dataclass
class Results:
    ingest: list[dict[str, Any]] = field(default_factory=list)
    recompute: list[dict[str, Any]] = field(default_factory=list)
    reads: list[dict[str, Any]] = field(default_factory=list)
    scale: list[dict[str, Any]] = field(default_factory=list)
    many: list[dict[str, Any]] = field(default_factory=list)
    agent: list[dict[str, Any]] = field(default_factory=list)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def cloud(kind: str, workdir: Path, database_url: str, tag: str) -> Iterator[tuple[str, int]]:
    with cloud_process(kind, workdir, database_url, tag, {}) as found:
        yield found


@contextmanager
def cloud_process(
    kind: str, workdir: Path, database_url: str, tag: str, extra: dict[str, str]
) -> Iterator[tuple[str, int]]:
    env = {"CLOUD_API_DATABASE_URL": database_url, "CLOUD_API_ADMIN_TOKEN": OPERATOR, **extra}
    log = workdir / f"cloud-{kind}-{tag}.log"
    with uvicorn_process(CLOUD_APP, env, log, ("--log-level", "warning")) as (url, process):
        yield url, process.pid


def call(client: httpx.Client, method: str, path: str, token: str, **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", None) or {"Authorization": f"Bearer {token}"}
    response = client.request(method, path, headers=headers, **kwargs)
    if response.is_error:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")
    return response.json()


def set_up(client: httpx.Client, instances: int, slug: str = "bench") -> tuple[str, list[str]]:
    owner = call(
        client,
        "POST",
        "/admin/enterprises",
        OPERATOR,
        json={"slug": slug, "name": slug.title(), "seats_purchased": 10_000_000},
    )["owner_token"]
    prefix = "" if slug == "bench" else f"{slug}-"  # server IDs as the bench reports use
    tokens = [
        call(
            client,
            "POST",
            f"/enterprises/{slug}/server-instances",
            owner,
            json={"hostname": f"ghes{i}.{slug}.example", "server_id": f"{prefix}srv-{i}"},
        )["instance_token"]
        for i in range(instances)
    ]
    return owner, tokens


def warm_up(client: httpx.Client) -> None:
    """One small report to another enterprise, read back: a long-running service pays its
    one-time costs (first connections, statement compilation) once, not per report, so
    the measured push should not carry them either."""
    owner, (token,) = set_up(client, 1, slug="warmup")
    body = report_body(
        single_instance_users(100), server_id="warmup-srv-0", sequence=1, hostname="warmup"
    )
    push(client, token, body)
    call(client, "GET", "/enterprise/licenses", owner)


def push(client: httpx.Client, token: str, body: bytes) -> None:
    response = client.post(
        "/server-usage",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    if response.status_code != 201:
        raise RuntimeError(f"push: {response.status_code} {response.text[:300]}")


def wait_for_figure(client: httpx.Client, owner: str, expected: int) -> None:
    for _ in range(100_000):
        if call(client, "GET", "/enterprise/licenses", owner)["total_seats_consumed"] == expected:
            return
    raise RuntimeError(f"the figure never reached {expected}")


REPEATS = 3


def measure_ingest(kind: str, n: int, workdir: Path, results: Results, read_requests: int) -> None:
    """Best of REPEATS for the floor and for the ingest, each on a fresh database: one
    run on a shared machine can be off by a third either way."""
    body = report_body(single_instance_users(n), server_id="srv-0", sequence=1, hostname="ghes0")
    floors, ingests, rss = [], [], 0.0
    for attempt in range(REPEATS):
        with fresh_database(kind, workdir) as floor_url:
            floors.append(measure_floor(body, floor_url))
        with (
            fresh_database(kind, workdir) as url,
            cloud(kind, workdir, url, f"ingest{n}-{attempt}") as (base, pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            warm_up(client)
            owner, (token,) = set_up(client, 1)
            started = time.perf_counter()
            push(client, token, body)
            wait_for_figure(client, owner, n)
            ingests.append(time.perf_counter() - started)
            rss = max(rss, peak_rss_mb(pid))
            if attempt == REPEATS - 1:
                size = len(client.get("/enterprise/licenses", headers=auth(owner)).content)
                reads = measure_reads(base, owner, size, workdir, read_requests)
    floor, elapsed = min(floors), min(ingests)
    results.ingest.append(
        {
            "db": kind,
            "users": n,
            "floor_s": floor,
            "ingest_s": elapsed,
            "ratio": elapsed / floor,
            "peak_rss_mb": rss,
            "body_mb": len(body) / 1e6,
        }
    )
    results.reads.append({"db": kind, "users": n, "body_bytes": size, **reads})
    print(
        f"ingest {kind} {n}: floor {floor:.3f}s ingest {elapsed:.3f}s "
        f"({elapsed / floor:.2f}x) peak RSS {rss:.0f} MB; reads {reads}",
        flush=True,
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def measure_reads(
    base: str, owner: str, size: int, workdir: Path, requests: int
) -> dict[str, float]:
    licenses = generate_load(f"{base}/enterprise/licenses", auth(owner), requests)
    env = {"BENCH_BODY_BYTES": str(size)}
    with uvicorn_process(
        "bench.trivial_app:create_app", env, workdir / "trivial.log", ("--log-level", "warning")
    ) as (trivial, _pid):
        constant = generate_load(f"{trivial}/constant", {}, requests)
    return {
        "rps": licenses["rps"],
        "p50_ms": licenses["p50_ms"],
        "p99_ms": licenses["p99_ms"],
        "trivial_rps": constant["rps"],
        "trivial_p50_ms": constant["p50_ms"],
        "trivial_p99_ms": constant["p99_ms"],
        "rate_ratio": licenses["rps"] / constant["rps"],
    }


def generate_load(url: str, headers: dict[str, str], requests: int) -> dict[str, float]:
    """wrk (C, from Debian's packages) when installed: a Python load generator on the same
    two cores would take most of the CPU the servers need. Bounded: 5 seconds."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return asyncio.run(load(url, headers, requests))
    command = [wrk, "-t2", "-c8", "-d5s", "--latency", url]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw errors:\n{output}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rate is None:
        raise RuntimeError(f"no request rate in wrk's output:\n{output}")
    return {
        "rps": float(rate.group(1)),
        "p50_ms": _wrk_ms(output, "50%"),
        "p99_ms": _wrk_ms(output, "99%"),
    }


def _wrk_ms(output: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {percentile} latency in wrk's output:\n{output}")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


async def load(
    url: str, headers: dict[str, str], requests: int, workers: int = 8
) -> dict[str, float]:
    """``requests`` GETs from ``workers`` concurrent clients on loopback; bounded by count."""
    latencies: list[float] = []
    remaining = iter(range(requests))
    limits = httpx.Limits(max_connections=workers)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        for _ in range(20):
            (await client.get(url)).raise_for_status()

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                (await client.get(url)).raise_for_status()
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": requests / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def measure_recompute(kind: str, per_instance: int, workdir: Path, results: Results) -> None:
    instances = 10
    bodies = [
        report_body(
            instance_users(i, per_instance),
            server_id=f"srv-{i}",
            sequence=1,
            hostname=f"ghes{i}.bench.example",
        )
        for i in range(instances)
    ]
    fresh = [(per_instance + k, f"fresh{k}@corp.example") for k in range(1, 51)]
    newer = report_body(
        instance_users(0, per_instance) + fresh,
        server_id="srv-0",
        sequence=2,
        hostname="ghes0.bench.example",
    )
    with fresh_database(kind, workdir) as url:
        with (
            cloud(kind, workdir, url, f"recompute{per_instance}") as (base, _pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            owner, tokens = set_up(client, instances)
            call(
                client,
                "PUT",
                "/enterprises/bench/accounts",
                owner,
                content=json.dumps(cloud_accounts(per_instance)),
                headers={"Authorization": f"Bearer {owner}", "Content-Type": "application/json"},
            )
            for token, body in zip(tokens, bodies, strict=True):
                push(client, token, body)
            before = call(client, "GET", "/enterprise/licenses", owner)["total_seats_consumed"]
            started = time.perf_counter()
            push(client, tokens[0], newer)
            pushed = time.perf_counter()
            wait_for_figure(client, owner, before + 50)
            readable = time.perf_counter()
            changes = measure_changes(client, owner)
        # A new process on the same database: every cache is cold, and without the figure
        # the last change stored it is computed from scratch (all accounts loaded, matched
        # and counted).
        execute(url, "DELETE FROM enterprise_figures")
        with (
            cloud(kind, workdir, url, f"cold{per_instance}") as (base, _pid),
            httpx.Client(base_url=base, timeout=600) as client,
        ):
            cold_started = time.perf_counter()
            figure = call(client, "GET", "/enterprise/licenses", owner)["total_seats_consumed"]
            cold = time.perf_counter() - cold_started
            assert figure == before + 50, (figure, before)
        with fresh_database(kind, workdir) as floor_url:
            floor = measure_floor(newer, floor_url, first=False)
    row = {
        "db": kind,
        "per_instance": per_instance,
        "instances": instances,
        "cloud_accounts": per_instance,
        "figure": before + 50,
        "new_report_total_s": readable - started,
        "after_push_s": readable - pushed,
        "full_recompute_s": cold,
        "floor_one_report_s": floor,
        **changes,
    }
    results.recompute.append(row)
    print(f"recompute {kind} {per_instance}x10: {row}", flush=True)


def measure_changes(client: httpx.Client, owner: str) -> dict[str, float]:
    """``GET /enterprise/licenses/changes``: the latest entry (50 started: a page of one
    entry's rows), the last page of a first report's entry (one entry, 100,000s of rows),
    and everything since before the first entry (every entry's rows summed per person)."""
    entries = call(client, "GET", "/enterprise/licenses/history", owner)["entries"]
    first_report = entries[1]  # after the accounts import
    last_page = -(-first_report["started"] // 100)
    asks = {
        "changes_latest_s": {},
        "changes_deep_page_s": {
            "since": entries[0]["received_at"],
            "until": first_report["received_at"],
            "per_page": 100,
            "page": last_page,
        },
        "changes_everything_s": {"since": "2000-01-01T00:00:00Z"},
    }
    timed = {}
    for name, params in asks.items():
        started = time.perf_counter()
        call(client, "GET", "/enterprise/licenses/changes", owner, params=params)
        timed[name] = time.perf_counter() - started
    return timed


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False)
        pg_version = pg.stdout.strip()
    except OSError:
        pg_version = "unknown"
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {int(memory) / 1024 / 1024:.0f} GiB",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {pg_version}",
        f"- {platform.platform()}",
    ]


def write_report(results: Results, output: Path, command: str) -> None:
    from bench.scale_report import sections

    lines = _base_report(results, command)
    lines += sections(results.scale, results.many, results.agent)
    output.write_text("\n".join(lines))


def _base_report(results: Results, command: str) -> list[str]:
    return [
        "# Benchmarks",
        "",
        f"Measured by `{command}` on {time.strftime('%Y-%m-%d')}:",
        "",
        *machine(),
        "",
        "Ingest and its floor are the best of three runs each, every run on a fresh database",
        "(the fresh cloud process first takes one 100-user report for another enterprise, so",
        "that one-time costs such as first connections are not counted against the report);",
        "the other figures are one run's wall time. Ratios compare with a reference measured",
        "in the same run (this machine is shared and noisy: compare ratios, not seconds).",
        "",
        "## Ingest: one report pushed over HTTP until its figure is readable",
        "",
        "Floor: `orjson.loads` of the same body plus the driver's bulk insert (COPY on",
        "PostgreSQL, executemany on SQLite) of the rows it must store: its users, and the",
        "history entry's row of each person it starts (a first report starts every one; SPEC",
        "7.2). Target: ingest at most 2x the floor.",
        "Peak RSS is the cloud process's high-water mark (VmHWM) over its whole life.",
        "",
        "| database | users | body MB | floor s | ingest s | ratio | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['db']} | {r['users']:,} | {r['body_mb']:.1f} | {r['floor_s']:.3f} | "
            f"{r['ingest_s']:.3f} | {r['ratio']:.2f} | {r['peak_rss_mb']:.0f} |"
            for r in results.ingest
        ),
        "",
        "## Recompute: 10 instances and as many cloud accounts as users per instance",
        "",
        "Most people on one instance, one in ten on all ten, one in a hundred without e-mail;",
        "half the cloud accounts match GHES accounts. *New report*: a newer report for one",
        "instance (50 more people) from the start of its push until the new figure is",
        "readable (target 1 s at 100,000 per instance); *after push*: from the push's answer.",
        "*Full recompute*: the first read of a new process on the same database, every cache",
        "cold and the figure the last change stored deleted, so that it counts everything",
        "(target 3 s; with the stored figure that read is the cold figure further down).",
        "",
        "| database | users per instance | figure | new report s | after push s | "
        "full recompute s | floor of that report s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['db']} | {r['per_instance']:,} | {r['figure']:,} | "
            f"{r['new_report_total_s']:.3f} | {r['after_push_s']:.3f} | "
            f"{r['full_recompute_s']:.3f} | {r['floor_one_report_s']:.3f} |"
            for r in results.recompute
        ),
        "",
        "*Changes* (`GET /enterprise/licenses/changes`, one request each, same enterprise):",
        "the latest entry's page; the last page (100 per page) of an instance's first",
        "report, one entry with a row per person; and everything since before the first",
        "entry, which sums every entry's rows per person on each page.",
        "",
        "| database | users per instance | latest entry s | deep page of one entry s | "
        "everything s |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['db']} | {r['per_instance']:,} | {r['changes_latest_s']:.3f} | "
            f"{r['changes_deep_page_s']:.3f} | {r['changes_everything_s']:.3f} |"
            for r in results.recompute
        ),
        "",
        "## Reads: `GET /enterprise/licenses` against a trivial endpoint",
        "",
        "The reference is a FastAPI endpoint answering a constant body of the same size,",
        "served by the same uvicorn settings (one process), loaded the same way by wrk",
        "(2 threads, 8 connections, 5 s) on loopback. Target: at least half its request rate.",
        "",
        "| database | users | body bytes | req/s | p50 ms | p99 ms | trivial req/s | "
        "trivial p50 ms | trivial p99 ms | rate ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(
            f"| {r['db']} | {r['users']:,} | {r['body_bytes']} | {r['rps']:.0f} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['trivial_rps']:.0f} | "
            f"{r['trivial_p50_ms']:.1f} | {r['trivial_p99_ms']:.1f} | {r['rate_ratio']:.2f} |"
            for r in results.reads
        ),
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,500000")
    parser.add_argument("--recompute-sizes", default="1000,10000,100000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--read-requests", type=int, default=2000)
    parser.add_argument(
        "--only",
        choices=("all", "ingest", "scale"),
        default="all",
        help="ingest: ingest, recompute and reads; scale: issue 15's cases",
    )
    parser.add_argument("--scale-size", type=int, default=100_000)
    parser.add_argument("--enterprises", type=int, default=1000)
    parser.add_argument("--agent-users", type=int, default=1_000_000)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args()
    results = Results()
    with tempfile.TemporaryDirectory(prefix="ls-bench-") as tmp:
        workdir = Path(tmp)
        for kind in args.databases.split(","):
            if args.only in ("all", "ingest"):
                for n in (int(v) for v in args.sizes.split(",")):
                    measure_ingest(kind, n, workdir, results, args.read_requests)
                for n in (int(v) for v in args.recompute_sizes.split(",")):
                    measure_recompute(kind, n, workdir, results)
            if args.only in ("all", "scale"):
                run_scale(kind, args, workdir, results)
        if args.only in ("all", "scale"):
            from bench.agent_memory import measure_agent

            results.agent.append(measure_agent(args.agent_users, workdir))
    write_report(results, args.output, "make bench")
    print(f"wrote {args.output}")


def run_scale(kind: str, args: argparse.Namespace, workdir: Path, results: Results) -> None:
    # Imported here: these modules use this one's helpers.
    from bench.many import measure_many
    from bench.scale import measure_enterprise

    results.scale.append(measure_enterprise(kind, args.scale_size, workdir))
    results.many.append(measure_many(kind, args.enterprises, workdir))


if __name__ == "__main__":
    main()
