"""The audit table itself: an entry is written with its action or not at all, and nothing
changes or deletes one, neither the ORM nor plain SQL (the migration's triggers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.migrate import migrate
from services.cloud_api.db.models import AuditEntry
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.tenants.enterprises import create_enterprise
from services.cloud_api.settings import Settings
from services.common.audit_log import Actor, AppendOnlyError, AuditContext
from services.common.db import make_engine, make_sessions

AUDIT = AuditContext("enterprise.create", Actor("operator", "operator"), "req-1")


@pytest.fixture
def engine(cloud_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(cloud_settings.database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessions(engine)


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _create(session: Session, slug: str = "acme") -> None:
    created = create_enterprise(
        session, slug=slug, name=slug, seats_purchased=1, saml_enabled=False
    )
    record_entry(session, AUDIT, created.enterprise.id, name=slug)


def test_an_entry_commits_with_its_action_and_rolls_back_with_it(
    sessions: sessionmaker[Session],
) -> None:
    def fail_after_recording() -> None:
        with sessions.begin() as session:
            _create(session, "rolled-back")
            session.flush()  # the entry is in the database, inside the transaction
            assert session.scalar(select(func.count()).select_from(AuditEntry)) == 1
            raise RuntimeError("a later step failed")

    with pytest.raises(RuntimeError, match="later step failed"):
        fail_after_recording()
    assert _count(sessions) == 0
    with sessions.begin() as session:
        _create(session)
    assert _count(sessions) == 1


@pytest.fixture
def stored(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as session:
        _create(session)
    return sessions


def _change_an_attribute(session: Session) -> None:
    session.scalars(select(AuditEntry)).one().action = "something.else"


def _delete_the_object(session: Session) -> None:
    session.delete(session.scalars(select(AuditEntry)).one())


def _bulk_update(session: Session) -> None:
    session.execute(update(AuditEntry).values(actor="someone"))


def _bulk_delete(session: Session) -> None:
    session.execute(delete(AuditEntry))


def _core_delete(session: Session) -> None:
    session.execute(delete(AuditEntry.__table__))


@pytest.mark.parametrize(
    "change", [_change_an_attribute, _delete_the_object, _bulk_update, _bulk_delete, _core_delete]
)
def test_the_orm_refuses_to_change_an_entry(
    stored: sessionmaker[Session], change: Callable[[Session], None]
) -> None:
    with pytest.raises(AppendOnlyError), stored.begin() as session:  # noqa: PT012
        change(session)
        session.flush()
    _assert_untouched(stored)


def test_the_database_refuses_to_change_an_entry(
    stored: sessionmaker[Session], engine: Engine
) -> None:
    statements = ["UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_entries")  # SQLite has no TRUNCATE
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    _assert_untouched(stored)


def _assert_untouched(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.actor) == ("enterprise.create", "operator")
