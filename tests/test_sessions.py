"""The one way to open a transaction (``services.common.db``): ``sessions.begin()`` writes
and, on SQLite, holds the write lock from its start; ``sessions()`` reads and refuses to
write, on both databases."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from services.common.db import ReadSessionWriteError, make_engine, make_sessions


class _Base(DeclarativeBase):
    pass


class Note(_Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(20))


@pytest.fixture
def engine(new_database_url: Callable[[], str]) -> Iterator[Engine]:
    engine = make_engine(new_database_url())
    _Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessions(engine)


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Note)) or 0)


def test_a_write_commits_when_its_block_ends(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.add(Note(id=1, text="kept"))
        session.execute(update(Note).where(Note.id == 1).values(text="changed"))
    with sessions() as session:
        assert session.scalar(select(Note.text)) == "changed"


def test_a_write_that_raises_leaves_nothing(sessions: sessionmaker[Session]) -> None:
    def fails_after_flushing() -> None:
        with sessions.begin() as session:
            session.add(Note(id=1, text="lost"))
            session.flush()
            raise LookupError

    with pytest.raises(LookupError):
        fails_after_flushing()
    assert _count(sessions) == 0


def test_a_read_session_refuses_statements_that_write(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(ReadSessionWriteError):
        session.execute(insert(Note).values(id=1, text="lost"))
    assert _count(sessions) == 0


def test_a_read_session_refuses_to_flush_changes(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.add(Note(id=1, text="lost"))
        with pytest.raises(ReadSessionWriteError):
            session.flush()
    assert _count(sessions) == 0


def _other_writer(path: Path) -> sqlite3.Connection:
    # No busy timeout: it answers "locked" at once instead of waiting for the lock.
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def test_sqlite_write_holds_the_write_lock_from_its_begin(tmp_path: Path) -> None:
    path = tmp_path / "locks.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    _Base.metadata.create_all(engine)
    sessions = make_sessions(engine)
    other = _other_writer(path)
    try:
        # Nothing executed yet, and the lock is already held: a concurrent writer waits
        # for it at its BEGIN, not after it has read a snapshot it could not write on.
        with sessions.begin(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        engine.dispose()


def test_sqlite_read_takes_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "locks.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    _Base.metadata.create_all(engine)
    other = _other_writer(path)
    try:
        with make_sessions(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Note)) == 0
            other.execute("BEGIN IMMEDIATE")  # a writer is not kept waiting by a reader
            other.execute("INSERT INTO notes (id, text) VALUES (1, 'written')")
            other.execute("COMMIT")
    finally:
        other.close()
        engine.dispose()
