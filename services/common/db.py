"""Engines, sessions and migrations shared by both services' databases.

One way to open a transaction, the same on both databases and in both services:

* ``with sessions() as session:`` reads. On SQLite its transaction starts deferred: under
  WAL it takes no lock and never waits for a writer. It refuses to write
  (:class:`ReadSessionWriteError`).
* ``with sessions.begin() as session:`` writes, committed when the block ends, rolled back
  when it raises. On SQLite it begins ``IMMEDIATE``: it takes the database's write lock at
  once, and a concurrent writer waits its turn (``busy_timeout``) instead of failing.

A deferred SQLite transaction that reads and then writes cannot take the write lock once
another writer has committed since its read (``SQLITE_BUSY_SNAPSHOT``: its snapshot is
stale), and no busy timeout helps it: that is why a write says so when it begins.
PostgreSQL takes row locks as statements need them, and its transactions are unchanged.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, Dialect, Engine, TypeDecorator, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    SessionTransactionOrigin,
    sessionmaker,
)

from services.common.clock import as_utc

# Constraint names that are the same on every database, so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on every database: SQLite keeps no offset and would
    hand back naive datetimes, which serialize without one."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    # hide_parameters: a DEBUG log level must never print e-mails or token hashes.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    engine = create_engine(
        url, connect_args={"check_same_thread": False}, hide_parameters=True, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN past SELECTs, which breaks
        # read-then-write atomicity, and never begins IMMEDIATE; SQLAlchemy's documented
        # fix is to turn it off and emit BEGIN ourselves (the "begin" listener below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_LOCK) else "BEGIN")

    return engine


# The execution option that makes a SQLite transaction begin IMMEDIATE (see _sqlite_engine).
WRITE_LOCK = "license_sync_write_lock"


class ReadSessionWriteError(RuntimeError):
    """A write in a session opened for reading: a bug, which every test run would find."""


class UnitOfWorkSession(Session):
    """A session whose explicit ``begin()`` is a write transaction (see the module's
    docstring); its autobegun transactions are reads."""

    def begin(self, nested: bool = False) -> SessionTransaction:
        transaction = super().begin(nested)
        if not nested and self.info.get(WRITE_LOCK):
            # Procure the connection now, asking for the write lock: SQLite then waits for
            # the other writers here, before this transaction has read anything.
            self.connection(execution_options={WRITE_LOCK: True})
        return transaction


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    """Reads with ``sessions()``, writes with ``sessions.begin()``."""
    # Only SQLite needs its lock taken at BEGIN; on PostgreSQL begin() stays as it was.
    info = {WRITE_LOCK: True} if engine.dialect.name == "sqlite" else {}
    return sessionmaker[Session](
        engine, class_=UnitOfWorkSession, expire_on_commit=False, info=info
    )


def _writing(session: Session) -> bool:
    transaction = session.get_transaction()
    return transaction is not None and transaction.origin is SessionTransactionOrigin.BEGIN


def _refuse_write(session: Session) -> None:
    if not _writing(session):
        raise ReadSessionWriteError(
            "this session was opened for reading (sessions()); write in "
            "`with sessions.begin() as session:`, which takes SQLite's write lock at once"
        )


@event.listens_for(UnitOfWorkSession, "do_orm_execute")
def _statement_in_read(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _refuse_write(state.session)


@event.listens_for(UnitOfWorkSession, "before_flush")
def _flush_in_read(session: Session, _context: Any, _instances: Any) -> None:
    _refuse_write(session)


def run_migrations(engine: Engine, script_location: Path, version_table: str) -> None:
    """Upgrade to head. Replicas starting together take turns on PostgreSQL."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    # On SQLite the transaction begins IMMEDIATE (WRITE_LOCK), holding the write lock before
    # it reads anything: begun deferred, it failed at once ("database is locked") when a
    # running replica's hook worker committed between its first read and its first write.
    with (
        engine.connect().execution_options(**{WRITE_LOCK: True}) as connection,
        connection.begin(),
    ):
        if connection.dialect.name == "postgresql":
            lock_key = zlib.crc32(version_table.encode())
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({lock_key})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def run_migrations_env(target_metadata: Any) -> None:
    """The body of each service's Alembic ``env.py``."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("migrations run through run_migrations(), with a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
