"""Reading reports' keys on a connection of its own, ahead of the one who counts them.

A cold figure reads every current report's keys and turns each into a set: the database
works (its own process on PostgreSQL; C without the GIL in SQLite) while Python waits,
then Python works while the database waits. Read one report ahead on a second connection,
the two overlap. A second connection may see a newer state than the caller's session:
a report read there is used only if it has all the users its row says it has (a report
replaced meanwhile loses its users, never changes them), else the caller reads it again.

The second connection comes from a small pool of its own that never makes anyone wait:
taken from the service's pool, a writer holding SQLite's lock could wait for a connection
held by requests that wait for that lock. None free: the caller reads everything itself.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from sqlalchemy import Engine

from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceKeys,
    load_instance_keys,
)
from services.common.db import make_engine


class KeysAhead:
    def __init__(self, engine: Engine, reports: list[CurrentReport]) -> None:
        self._futures: dict[str, Future[InstanceKeys]] = {r.report_id: Future() for r in reports}
        worker = threading.Thread(target=self._read, args=(engine, reports), daemon=True)
        worker.start()

    def _read(self, engine: Engine, reports: list[CurrentReport]) -> None:
        try:
            with engine.connect() as connection:
                for report in reports:
                    self._futures[report.report_id].set_result(
                        load_instance_keys(connection, report)
                    )
        except BaseException as error:  # the caller reads these itself
            for future in self._futures.values():
                if not future.done():
                    future.set_exception(error)

    def keys(self, report: CurrentReport) -> InstanceKeys | None:
        """The report's keys when read whole; None when not (read them in the session)."""
        future = self._futures.get(report.report_id)
        if future is None or future.exception() is not None:
            return None
        keys = future.result()
        whole = len(keys.email_keys) + len(keys.no_email_ids) == report.user_count
        return keys if whole else None


class AheadPools:
    """The small pools ahead reads take their connections from, one per database."""

    SIZE = 2

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def keys_ahead(self, engine: Engine, reports: list[CurrentReport]) -> KeysAhead | None:
        """A reader for ``reports`` when two or more are to be read from a database that
        a second connection shares (not an in-memory SQLite database)."""
        database = engine.url.database or ""
        if len(reports) < 2 or database in ("", ":memory:") or database.startswith("file::"):
            return None
        return KeysAhead(self._engine(engine), reports)

    def _engine(self, engine: Engine) -> Engine:
        url = engine.url.render_as_string(hide_password=False)
        with self._lock:
            if url not in self._engines:
                self._engines[url] = make_engine(
                    url, pool_size=self.SIZE, max_overflow=0, pool_timeout=0.05
                )
            return self._engines[url]

    def close(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
