"""The floor: work no implementation can avoid for a report of N users. Parse the body
with the fastest JSON parser available (orjson) and store its rows with the driver's bulk
path (COPY on PostgreSQL, executemany on SQLite): the users, and since history entries
(SPEC 7.2) the row of each person the report starts, as the accounts import's floor does."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import orjson
import psycopg
from sqlalchemy.engine import make_url

DDL = (
    "CREATE TABLE floor_users (report_pk INTEGER, user_id BIGINT, email VARCHAR(254), "
    "email_key VARCHAR(254), PRIMARY KEY (report_pk, user_id))",
    "CREATE TABLE floor_changes (point_id INTEGER, delta SMALLINT, person VARCHAR(300), "
    "reason VARCHAR(32), accounts TEXT, PRIMARY KEY (point_id, delta, person))",
)


def _report_rows(body: bytes, first: bool) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The users, and the history entry's row for each person a first report starts (SPEC
    7.2 keeps who started consuming at each change, with the accounts it had then): every
    user here, each a person of its own. A later report starts only its few new persons:
    none are counted."""
    users = orjson.loads(body)["users"]
    rows = [(1, u["id"], u["email"], u["email"]) for u in users]
    changes = [
        (
            1,
            1,
            f"e:{u['email']}",
            "server_account_added",
            orjson.dumps([None, [[0, u["id"], u["email"]]]]).decode(),
        )
        for u in (users if first else ())
    ]
    return rows, changes


def measure_floor(body: bytes, database_url: str, *, first: bool = True) -> float:
    """Seconds to parse ``body`` and commit its users and, for an instance's ``first``
    report, its history rows."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or ":memory:")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for ddl in DDL:
            connection.execute(ddl)
        connection.commit()
        started = time.perf_counter()
        rows, changes = _report_rows(body, first)
        connection.executemany("INSERT INTO floor_users VALUES (?, ?, ?, ?)", rows)
        connection.executemany("INSERT INTO floor_changes VALUES (?, ?, ?, ?, ?)", changes)
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as pg:
        for ddl in DDL:
            pg.execute(ddl)
        pg.commit()
        started = time.perf_counter()
        with pg.cursor() as cursor:
            for table, table_rows in zip(
                ("floor_users", "floor_changes"), _report_rows(body, first), strict=True
            ):
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)
        pg.commit()
        return time.perf_counter() - started


ACCOUNT_DDL = (
    "CREATE TABLE floor_accounts (enterprise_id INTEGER, account_id BIGINT, login "
    "VARCHAR(100), consuming BOOLEAN, details TEXT, PRIMARY KEY (enterprise_id, account_id))",
    "CREATE TABLE floor_account_keys (enterprise_id INTEGER, kind VARCHAR(32), key "
    "VARCHAR(254), account_id BIGINT, PRIMARY KEY (enterprise_id, kind, key, account_id))",
    "CREATE TABLE floor_changes (point_id INTEGER, delta SMALLINT, person VARCHAR(300), "
    "reason VARCHAR(32), accounts TEXT, PRIMARY KEY (point_id, delta, person))",
)


def _account_rows(body: bytes) -> list[list[tuple[Any, ...]]]:
    """The accounts, their addresses, and the history entry's row for each account that
    starts consuming (every one in the bench's data: each is an organization member)."""
    accounts = orjson.loads(body)["accounts"]
    rows = [(1, a["id"], a["login"], True, orjson.dumps(a).decode()) for a in accounts]
    keys = [(1, "verified_email", e["email"], a["id"]) for a in accounts for e in a["emails"]]
    changes = [
        (
            1,
            1,
            f"c:{a['id']:020d}",
            "cloud_account_added",
            orjson.dumps([{"id": a["id"], "login": a["login"], "consuming": True}, []]).decode(),
        )
        for a in accounts
    ]
    return [rows, keys, changes]


def measure_import_floor(body: bytes, database_url: str) -> float:
    """Seconds to parse an accounts import and commit its accounts and addresses as rows."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or ":memory:")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for ddl in ACCOUNT_DDL:
            connection.execute(ddl)
        connection.commit()
        started = time.perf_counter()
        rows, keys, changes = _account_rows(body)
        connection.executemany("INSERT INTO floor_accounts VALUES (?, ?, ?, ?, ?)", rows)
        connection.executemany("INSERT INTO floor_account_keys VALUES (?, ?, ?, ?)", keys)
        connection.executemany("INSERT INTO floor_changes VALUES (?, ?, ?, ?, ?)", changes)
        connection.commit()
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as pg:
        for ddl in ACCOUNT_DDL:
            pg.execute(ddl)
        pg.commit()
        started = time.perf_counter()
        with pg.cursor() as cursor:
            for table, table_rows in zip(
                ("floor_accounts", "floor_account_keys", "floor_changes"),
                _account_rows(body),
                strict=True,
            ):
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)
        pg.commit()
        return time.perf_counter() - started
