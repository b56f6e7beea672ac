"""A few raw driver connections for one tiny, hot, read-only statement.

The busiest read (the license summary) asks the database one indexed question per request
to learn whether its cached answer still stands. Through a SQLAlchemy session that costs
some 0.2 ms on SQLite, twenty times the statement itself: pool checkout, isolation-level
changes, reset on return, result processing. These connections skip all of that:
autocommit, kept open, the statement prepared once per connection on PostgreSQL. They
are not in the engine's pool, so they never starve the sessions that write.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

from sqlalchemy import Engine


class ProbeConnections:
    """At most ``size`` raw connections, made on demand. A connection that fails is
    dropped; the error goes to the caller, which falls back to the full path."""

    def __init__(self, engine: Engine, size: int = 4) -> None:
        self._engine = engine
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False
        self.sqlite = engine.dialect.name == "sqlite"
        self._size = size
        self._idle_async: list[Any] = []
        self._async_slots: asyncio.Semaphore | None = None

    def query(self, sql_sqlite: str, sql_postgres: str, parameter: str) -> list[tuple[Any, ...]]:
        """Rows of one statement with one positional parameter (``?`` or ``%s``)."""
        with self._slots:
            connection = self._take()
            try:
                if self.sqlite:
                    rows = connection.execute(sql_sqlite, (parameter,)).fetchall()
                else:
                    rows = connection.execute(sql_postgres, (parameter,), prepare=True).fetchall()
            except BaseException:
                _close_quietly(connection)
                raise
            self._idle.put(connection)
            return [tuple(row) for row in rows]

    async def query_async(self, sql_postgres: str, parameter: str) -> list[tuple[Any, ...]]:
        """PostgreSQL only: the same, on asynchronous connections of the running event loop
        (no worker-thread hop, which on a busy host costs more than the statement)."""
        if self._async_slots is None:
            self._async_slots = asyncio.Semaphore(self._size)
        async with self._async_slots:
            connection = self._idle_async.pop() if self._idle_async else await self._aconnect()
            try:
                cursor = await connection.execute(sql_postgres, (parameter,), prepare=True)
                rows = await cursor.fetchall()
            except BaseException:
                await _aclose_quietly(connection)
                raise
            self._idle_async.append(connection)
            return [tuple(row) for row in rows]

    async def _aconnect(self) -> Any:
        if self._closed:
            raise RuntimeError("the probe connections are closed")
        import psycopg  # PostgreSQL deployments only

        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        return await psycopg.AsyncConnection.connect(*cargs, **cparams, autocommit=True)

    async def aclose(self) -> None:
        self.close()
        while self._idle_async:
            await _aclose_quietly(self._idle_async.pop())

    async def warm_up(self) -> None:
        """Open one connection now, not on the first request after a start or scale-out
        (a PostgreSQL connection costs milliseconds to set up)."""
        try:
            if self.sqlite:
                self._idle.put(self._connect())
            else:
                self._idle_async.append(await self._aconnect())
        except Exception:  # the first request will try again, and answer for any outage
            return

    def _take(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._connect()

    def _connect(self) -> Any:
        if self._closed:
            raise RuntimeError("the probe connections are closed")
        dialect = self._engine.dialect
        cargs, cparams = dialect.create_connect_args(self._engine.url)
        if self.sqlite:
            cparams = {**cparams, "check_same_thread": False, "isolation_level": None}
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        return dialect.loaded_dbapi.connect(*cargs, **cparams, autocommit=True)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                _close_quietly(self._idle.get_nowait())
            except queue.Empty:
                return


async def _aclose_quietly(connection: Any) -> None:
    try:
        await connection.close()
    except Exception:  # a broken connection may fail to close; it is dropped anyway
        return


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken connection may fail to close; it is dropped anyway
        return
