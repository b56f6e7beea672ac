"""Failed authentication, limited per client address, the same way in both services.

A request that carries credentials (an ``Authorization`` or ``Cookie`` header) and is
answered 401 is a failed attempt. Attempts are counted per client address and fixed window
in the service's own database (``auth_failures``: one upserted row per address and
window), so that every replica counts the same attempts. Beyond ``limit`` in a window the
address is locked until the window ends: each request from it that carries credentials,
valid or not, is answered 429 with ``Retry-After`` (GitHub's behaviour; answering valid
ones would tell a guesser when a guess was right). Requests without credentials (probes,
``/metrics``) are never locked.

The count is exact across replicas: the upsert that records a failure returns the total.
Whether an address is locked is read from the database at most once a second per process
and kept in memory between, so that authenticated reads pay nothing for it; a replica may
learn of a lock made by another up to a second late.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import ReturningInsert

log = logging.getLogger(__name__)

REFRESH_SECONDS = 1.0


def auth_failures_table(metadata: MetaData) -> Table:
    """The counters, in each service's own schema (and migrations)."""
    return Table(
        "auth_failures",
        metadata,
        Column("address", String(64), primary_key=True),
        Column("window_start", BigInteger, primary_key=True),
        Column("failures", Integer, nullable=False),
    )


@dataclass(frozen=True, slots=True)
class Lock:
    retry_after: int
    """Seconds until the window ends and the address may try again."""


class FailedAuthLimit:
    """At most ``limit`` failed attempts per address in each ``window_seconds``."""

    def __init__(self, table: Table, *, limit: int, window_seconds: int) -> None:
        self.table = table
        self.limit = limit
        self.window_seconds = window_seconds
        self._sessions: sessionmaker[Session] | None = None
        self._locked: dict[str, float] = {}
        self._read_at = -math.inf

    def bind(self, sessions: sessionmaker[Session] | None) -> None:
        """Counting starts once the service's database is open (and stops with it)."""
        self._sessions = sessions
        self._locked, self._read_at = {}, -math.inf

    @property
    def bound(self) -> bool:
        return self._sessions is not None

    async def lock_on(self, address: str) -> Lock | None:
        """The lock on ``address``, if any, as this process last read it."""
        now = time.time()
        if now - self._read_at >= REFRESH_SECONDS:
            self._read_at = now  # one reader at a time; the others use the last view
            locked = await anyio.to_thread.run_sync(self._read_locks, now)
            if locked is not None:
                # Keep what this process learned meanwhile from its own counts.
                known = {a: until for a, until in self._locked.items() if until > now}
                self._locked = {**dict.fromkeys(locked, self._window_end(now)), **known}
        return self._lock(address, now)

    async def record_failure(self, address: str) -> Lock | None:
        """Count a failed attempt; the lock when it is beyond the limit."""
        now = time.time()
        failures = await anyio.to_thread.run_sync(self._count, address, now)
        if failures < self.limit:
            return None
        self._locked[address] = self._window_end(now)  # this process knows at once
        return self._lock(address, now) if failures > self.limit else None

    def _lock(self, address: str, now: float) -> Lock | None:
        until = self._locked.get(address)
        if until is None or until <= now:
            return None
        return Lock(max(1, math.ceil(until - now)))

    def _window_start(self, now: float) -> int:
        return int(now // self.window_seconds) * self.window_seconds

    def _window_end(self, now: float) -> float:
        return float(self._window_start(now) + self.window_seconds)

    def _read_locks(self, now: float) -> list[str] | None:
        """The addresses locked in the current window; None when they cannot be read."""
        sessions, table = self._sessions, self.table
        if sessions is None:
            return None
        try:
            with sessions() as session:
                return list(
                    session.scalars(
                        select(table.c.address).where(
                            table.c.window_start == self._window_start(now),
                            table.c.failures >= self.limit,
                        )
                    )
                )
        except Exception as error:  # the database answers for itself elsewhere; no lock
            log.warning("could not read the failed-authentication locks: %s", error)
            return None

    def _count(self, address: str, now: float) -> int:
        """Upsert this window's counter (and forget finished windows); the new total."""
        sessions, table = self._sessions, self.table
        if sessions is None:
            return 0
        window = self._window_start(now)
        try:
            with sessions.begin() as session:
                session.execute(delete(table).where(table.c.window_start < window))
                return int(session.execute(_upsert(session, table, address, window)).scalar_one())
        except Exception as error:  # not counted: the 401 still goes out
            log.warning("could not count a failed authentication: %s", error)
            return 0


def _upsert(session: Session, table: Table, address: str, window: int) -> ReturningInsert[Any]:
    """``INSERT … ON CONFLICT DO UPDATE … RETURNING``: one statement, the same on SQLite
    and PostgreSQL, that no concurrent attempt can slip between."""
    if session.get_bind().dialect.name == "postgresql":
        statement: postgresql.Insert | sqlite.Insert = postgresql.insert(table)
    else:
        statement = sqlite.insert(table)
    return (
        statement.values(address=address, window_start=window, failures=1)
        .on_conflict_do_update(
            index_elements=[table.c.address, table.c.window_start],
            set_={"failures": table.c.failures + 1},
        )
        .returning(table.c.failures)
    )
