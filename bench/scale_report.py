"""The issue-15 sections of docs/benchmarks.md: one big enterprise's listings, download,
memory, import and cold start; many enterprises in a bounded process; the agent."""

from __future__ import annotations

from typing import Any

PROBE_NAMES = {
    "first_page": "first persons page",
    "last_page": "last persons page (100 a page)",
    "search_login": "search by login",
    "search_email": "search by e-mail",
    "search_user_id": "search by user ID",
    "consumed_first": "consumed licenses, first page",
    "consumed_last": "consumed licenses, last page",
    "changes_latest": "changes, latest entry",
}


def sections(
    scale: list[dict[str, Any]], many: list[dict[str, Any]], agent: list[dict[str, Any]]
) -> list[str]:
    lines: list[str] = []
    if scale:
        lines += _listings(scale) + _download(scale) + _memory_and_cold(scale) + _import(scale)
    if many:
        lines += _many(many)
    if agent:
        lines += _agent(agent)
    return lines


def _listings(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Listings at a million persons (issue 15)",
        "",
        "One enterprise of 10 instances x N users and N cloud accounts (the recompute data).",
        "*After a new report*: each read is the first after a newer report for one instance",
        "(50 more people), through HTTP, so what it reads was changed a moment before",
        "(target 0.3 s). *Warm*: 200 requests one after another, random pages of 100 or",
        "searches for random logins, e-mails and user IDs, or random pages of the changes a",
        "first report made (target median 30 ms, p99 100 ms).",
        "",
        "| database | N | read | after a new report s |",
        "| --- | ---: | --- | ---: |",
    ]
    for row in rows:
        for name, seconds in row["cold_after_report_s"].items():
            lines.append(
                f"| {row['db']} | {row['per_instance']:,} | {PROBE_NAMES[name]} | {seconds:.3f} |"
            )
    lines += [
        "",
        "| database | N | warm reads | median ms | p99 ms | max ms |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in rows:
        for name, label in (
            ("warm_page", "persons pages"),
            ("warm_search", "searches"),
            ("warm_consumed", "consumed-licenses pages"),
            ("warm_changes", "changes pages of a first report"),
        ):
            s = row[name]
            lines.append(
                f"| {row['db']} | {row['per_instance']:,} | {label} | {s['median_ms']:.1f} | "
                f"{s['p99_ms']:.1f} | {s['max_ms']:.1f} |"
            )
    return [*lines, ""]


def _download(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## The CSV of every person",
        "",
        "Read through HTTP as it streams. Targets: first byte within 0.5 s, at least 200,000",
        "rows a second, the cloud process growing by at most 50 MB meanwhile (resident",
        "memory sampled every 20 ms).",
        "",
        "| database | rows | first byte s | total s | rows/s | growth MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['db']} | {r['csv_rows']:,} | {r['csv_first_byte_s']:.3f} | {r['csv_s']:.2f} | "
        f"{r['csv_rows_per_s']:,.0f} | {r['csv_growth_mb']:.1f} |"
        for r in rows
    ]
    return [*lines, ""]


def _memory_and_cold(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Memory of a warm enterprise, and a cold start",
        "",
        "A new process on the enterprise's database: *cold figure* is its first",
        "`GET /enterprise/licenses` (target 1 s), answered from the figure the last change",
        "stored with its data version; *recount* is the same in another new process after",
        "that stored figure is deleted (a database from before figures were stored: every",
        "report's keys read and counted, as the first push or listing after a restart still",
        "does); *cold listing* is the first persons page (the listing built from nothing).",
        "Then a search and a consumed-licenses page, and the resident memory grown since the",
        "process started, per person (target 300 bytes); *estimated* is what the cache counts",
        "(`license_sync_cloud_cache_bytes`).",
        "",
        "| database | persons | cold figure s | recount s | cold listing s | baseline MB | "
        "warm MB | bytes a person | estimated MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['db']} | {r['persons']:,} | {r['cold_figure_s']:.3f} | "
        f"{r['cold_recount_s']:.3f} | {r['cold_listing_s']:.3f} | "
        f"{r['baseline_mb']:.0f} | {r['warm_mb']:.0f} | {r['bytes_per_person']:.0f} | "
        f"{r['cache_mb']:.0f} |"
        for r in rows
    ]
    return [*lines, ""]


def _import(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Importing the cloud accounts",
        "",
        "`PUT /enterprises/{enterprise}/accounts` with N accounts, before the reports",
        "arrive (target 2x the floor); the floor is `orjson.loads` of the same body and the",
        "driver's bulk store (COPY / executemany) of the rows the import stores: accounts,",
        "addresses, and the history entry's row for each person who starts consuming. Both",
        "are the best of three (the import into three empty enterprises, the floor on three",
        "fresh databases). *Again*: the same import once the ten reports are in (the figure",
        "recomputed for a million GHES accounts; no target).",
        "",
        "| database | accounts | floor s | import s | ratio | again s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['db']} | {r['per_instance']:,} | {r['import_floor_s']:.3f} | "
        f"{r['import_s']:.3f} | {r['import_ratio']:.2f} | {r['reimport_s']:.3f} |"
        for r in rows
    ]
    return [*lines, ""]


def _many(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## Many enterprises in one bounded process",
        "",
        "Enterprises of 3 instances x 1,000 users, each pushed and its persons page read,",
        "then all read again round robin, in a process started with `CLOUD_API_CACHE_MB`",
        "set to the bound. Target: the process's resident memory stays under the bound plus",
        "its baseline, and a figure evicted long ago comes back within 50 ms.",
        "",
        "| database | enterprises | bound MB | baseline MB | peak MB | held MB | evictions | "
        "evicted figure ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['db']} | {r['enterprises']:,} | {r['bound_mb']} | {r['baseline_mb']:.0f} | "
        f"{r['peak_mb']:.0f} | {r['held_mb']:.0f} | {r['evictions']:,.0f} | "
        f"{r['evicted_figure_ms']:.1f} |"
        for r in rows
    ]
    return [*lines, ""]


def _agent(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "## The agent pushing a large all_users.csv",
        "",
        "The agent reads the file (one in fifty suspended), keeps the report in its outbox",
        "and pushes it to a cloud on SQLite. Peak is the agent process's high-water mark",
        "(VmHWM) over its whole life. Target: at most 200 MB.",
        "",
        "| users in the file | sent | baseline MB | peak MB | seconds |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['users']:,} | {r['sent']:,} | {r['baseline_mb']:.0f} | {r['peak_mb']:.0f} | "
        f"{r['seconds']:.1f} |"
        for r in rows
    ]
    return [*lines, ""]
