"""The summary of ``GET /enterprise/licenses`` (no persons) as serialized bytes, kept per
enterprise while nothing it shows has changed.

What the answer depends on is listed once, in ``_COLUMNS``: the fast lane reads it by
token in one statement without a transaction, the full path by enterprise inside its
session, and both turn the rows into the same signature with :func:`_signature`. An
answer is served only while its signature still equals the database's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.cloud_api.domain.access.tokens import digest, same_secret
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.licensing.loaders import raw_rows
from services.cloud_api.domain.licensing.lru import CacheStats, SizedLru
from services.cloud_api.domain.reporting.licenses import enterprise_licenses
from services.common.clock import as_utc
from services.common.probe import ProbeConnections

Signature = tuple[object, ...]


class SummaryCache:
    """The serialized summary per enterprise, valid while nothing it shows has changed;
    the least recently read dropped beyond ``limit`` bytes."""

    ENTRY = 400
    """Bytes of an entry besides its body: the signature's tuples, the LRU's node."""

    def __init__(self, limit: int = 16 * 2**20) -> None:
        self._entries = SizedLru(limit)
        self._lock = threading.Lock()

    def get(self, enterprise_id: int, signature: Signature) -> bytes | None:
        with self._lock:
            entry = self._entries.get(enterprise_id)
        return entry[1] if entry is not None and entry[0] == signature else None

    def put(self, enterprise_id: int, signature: Signature, body: bytes) -> None:
        size = self.ENTRY + len(body) + 100 * len(signature)
        with self._lock:
            self._entries.put(enterprise_id, (signature, body), size)

    def stats(self) -> CacheStats:
        with self._lock:
            return self._entries.stats()


# Everything the summary shows, as one row per instance (one row with NULLs without any).
_COLUMNS = """
    e.id, e.data_version, e.seats_purchased, e.name,
    i.id, i.server_id, i.hostname, i.current_report_pk, i.current_source,
    i.last_sync_at, i.last_sync_status, i.last_sync_error, i.upload_only
"""
_BY_TOKEN = f"""
    SELECT c.kind, c.revoked_at, c.token_hash, {_COLUMNS}
    FROM credentials c
    JOIN enterprises e ON e.id = c.enterprise_id
    LEFT JOIN server_instances i ON i.enterprise_id = e.id
    WHERE c.token_hash = ?
    ORDER BY i.hostname, i.id
"""  # noqa: S608 (constant text, no input in it)
_BY_ENTERPRISE = f"""
    SELECT {_COLUMNS}
    FROM enterprises e
    LEFT JOIN server_instances i ON i.enterprise_id = e.id
    WHERE e.id = ?
    ORDER BY i.hostname, i.id
"""  # noqa: S608 (constant text, no input in it)
_CREDENTIAL_COLUMNS = 3


def _signature(rows: list[tuple[Any, ...]]) -> Signature:
    """``_COLUMNS`` rows as one comparable value (the enterprise's id is the cache key)."""
    first = rows[0]
    return (
        first[1],
        first[2],
        first[3],
        *(
            (r[4], r[5], r[6], r[7], r[8], _utc(r[9]), r[10], r[11], bool(r[12]))
            for r in rows
            if r[4] is not None
        ),
    )


def _utc(value: object) -> object:
    """SQLite hands timestamps back as text; PostgreSQL as datetimes."""
    if isinstance(value, str):
        return as_utc(datetime.fromisoformat(value))
    if isinstance(value, datetime):
        return as_utc(value)
    return value


def cached_summary(
    probe: ProbeConnections, summaries: SummaryCache, token: str | None
) -> bytes | None:
    """The summary for an owner token in one statement, without a transaction, when the
    serialized answer is still current; None sends the caller down the full path (which
    also gives every authentication error, and a database outage, its proper answer)."""
    return _current_summary(
        summaries, token, lambda wanted: probe.query(_BY_TOKEN, _postgres(_BY_TOKEN), wanted)
    )


async def cached_summary_async(
    probe: ProbeConnections, summaries: SummaryCache, token: str | None
) -> bytes | None:
    """:func:`cached_summary` on PostgreSQL without a worker thread: the statement is
    awaited on the event loop."""
    if not token:
        return None
    wanted = digest(token)
    try:
        rows = await probe.query_async(_postgres(_BY_TOKEN), wanted)
    except Exception:  # any failure here is answered (or reported) by the full path
        return None
    return _valid_answer(summaries, rows, wanted)


def _current_summary(
    summaries: SummaryCache, token: str | None, query: Callable[[str], list[tuple[Any, ...]]]
) -> bytes | None:
    if not token:
        return None
    wanted = digest(token)
    try:
        rows = query(wanted)
    except Exception:  # any failure here is answered (or reported) by the full path
        return None
    return _valid_answer(summaries, rows, wanted)


def _valid_answer(
    summaries: SummaryCache, rows: list[tuple[Any, ...]], wanted: str
) -> bytes | None:
    if not rows:
        return None
    kind, revoked_at, token_hash = rows[0][:_CREDENTIAL_COLUMNS]
    if kind != "owner" or revoked_at is not None or not same_secret(token_hash, wanted):
        return None
    columns = [row[_CREDENTIAL_COLUMNS:] for row in rows]
    return summaries.get(columns[0][0], _signature(columns))


def _postgres(sql: str) -> str:
    return sql.replace("?", "%s")


def summary_json(
    session: Session, engine: LicenseEngine, summaries: SummaryCache, enterprise_id: int
) -> bytes:
    """``GET /enterprise/licenses`` without users, as JSON bytes: the last answer while its
    signature stands, else computed and kept."""
    rows = raw_rows(session, _BY_ENTERPRISE, enterprise_id)
    if not rows:  # gone since the caller was authenticated: the view says so
        return enterprise_licenses(session, engine, enterprise_id).model_dump_json().encode()
    signature = _signature(rows)
    body = summaries.get(enterprise_id, signature)
    if body is None:
        view = enterprise_licenses(session, engine, enterprise_id)
        body = view.model_dump_json().encode()
        summaries.put(enterprise_id, signature, body)
    return body
