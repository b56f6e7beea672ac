"""A few raw driver connections for one tiny, hot, read-only statement.

The busiest read (the license summary) asks the database one indexed question per request
to learn whether its cached answer still stands. Through a SQLAlchemy session that costs
some 0.2 ms on SQLite, twenty times the statement itself: pool checkout, isolation-level
changes, reset on return, result processing. These connections skip all of that:
autocommit, kept open, the statement prepared once per connection on PostgreSQL. They
are not in the engine's pool, so they never starve the sessions that write.
"""

from __future__ import annotations

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


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a broken connection may fail to close; it is dropped anyway
        return
