"""The floor: work no implementation can avoid for a report of N users. Parse the body
with the fastest JSON parser available (orjson) and store its rows with the driver's bulk
path (COPY on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

import sqlite3
import time

import orjson
import psycopg
from sqlalchemy.engine import make_url

DDL = (
    "CREATE TABLE floor_users (report_pk INTEGER, user_id BIGINT, email VARCHAR(254), "
    "email_key VARCHAR(254), PRIMARY KEY (report_pk, user_id))"
)


def measure_floor(body: bytes, database_url: str) -> float:
    """Seconds to parse ``body`` and commit its users as rows."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or ":memory:")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(DDL)
        connection.commit()
        started = time.perf_counter()
        users = orjson.loads(body)["users"]
        connection.executemany(
            "INSERT INTO floor_users VALUES (1, ?, ?, ?)",
            [(u["id"], u["email"], u["email"]) for u in users],
        )
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as pg:
        pg.execute(DDL)
        pg.commit()
        started = time.perf_counter()
        users = orjson.loads(body)["users"]
        with (
            pg.cursor() as cursor,
            cursor.copy(
                "COPY floor_users (report_pk, user_id, email, email_key) FROM STDIN"
            ) as copy,
        ):
            for u in users:
                copy.write_row((1, u["id"], u["email"], u["email"]))
        pg.commit()
        return time.perf_counter() - started
