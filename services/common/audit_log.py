"""The audit log both services keep: who did what, when, under which request.

An entry is written by the action it records, in the action's own transaction (a rolled-back
action leaves none), and is never changed nor deleted: the ORM refuses to (this module's
guard) and so does the database (triggers made by each service's migration).

The shape of an entry follows GitHub's audit log (``@timestamp`` and ``created_at`` in
milliseconds, ``_document_id``, ``action``, ``actor``, ``request_id``, ``token_id``,
``hashed_token``), with the action's own fields beside them.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Integer, String, Text, event, inspect
from sqlalchemy.orm import Mapped, Mapper, ORMExecuteState, Session, mapped_column

from services.common.clock import utcnow

COMMON_FIELDS = frozenset(
    {
        "@timestamp",
        "created_at",
        "_document_id",
        "action",
        "actor",
        "actor_kind",
        "token_id",
        "token_prefix",
        "hashed_token",
        "request_id",
        "business",
        "business_id",
    }
)
"""Names every entry may carry; an action's own fields take other names."""

TOKEN_PREFIX_LENGTH = 8
"""How much of a token an entry shows: its 4-character kind prefix and 4 random characters
(24 of its 256 random bits), enough for an owner to recognise a token they hold."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted. Never the secret: a token is named by its id, kind and first characters."""

    kind: str
    """``operator``, ``owner_token``, ``instance_token``, ``admin_token`` or ``person``."""
    name: str
    """What ``actor:`` searches for: ``operator``, ``owner-token-12``, a person's login."""
    token_id: int | None = None
    token_prefix: str | None = None
    hashed_token: str | None = None
    """GitHub's ``hashed_token``: base64 of the token's SHA-256, so that whoever holds a
    token can find what it did. Only for random tokens (a hand-chosen one could be guessed
    from its hash)."""

    @classmethod
    def for_token(cls, kind: str, token_id: int, token: str, token_digest: str) -> Actor:
        """``token_digest``: the hex SHA-256 the credential is stored as."""
        return cls(
            kind=kind,
            name=f"{kind.replace('_', '-')}-{token_id}",
            token_id=token_id,
            token_prefix=token[:TOKEN_PREFIX_LENGTH],
            hashed_token=base64.b64encode(bytes.fromhex(token_digest)).decode(),
        )


@dataclass(frozen=True, slots=True)
class AuditContext:
    """What one request records: the action its route declares, who called, the request id."""

    action: str
    actor: Actor
    request_id: str
    refused_action: str | None = None
    """The action recorded instead when the request is refused (reports and uploads)."""


class AuditColumns:
    """The columns both services' audit tables share (a declarative mixin)."""

    # BIGINT on PostgreSQL; SQLite numbers rows itself only in an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    document_id: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(100))
    actor: Mapped[str] = mapped_column(String(200))
    actor_kind: Mapped[str] = mapped_column(String(32))
    token_id: Mapped[int | None] = mapped_column(BigInteger)
    token_prefix: Mapped[str | None] = mapped_column(String(16))
    hashed_token: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]]
    """The action's own fields (server_id, counts, before and after, ...)."""
    search_text: Mapped[str] = mapped_column(Text)
    """Lower-case ``key=value`` lines of everything above, for the phrase filter."""


E = TypeVar("E", bound=AuditColumns)


def new_entry(model: type[E], audit: AuditContext, action: str, fields: Mapping[str, Any]) -> E:
    """A row for ``model``, not yet added to a session. Own fields must be JSON values."""
    clash = COMMON_FIELDS.intersection(fields)
    if clash:
        raise ValueError(f"{action}: own fields may not be named {sorted(clash)}")
    actor = audit.actor
    common: dict[str, Any] = {
        "action": action,
        "actor": actor.name,
        "actor_kind": actor.kind,
        "request_id": audit.request_id,
        "token_id": actor.token_id,
        "token_prefix": actor.token_prefix,
        "hashed_token": actor.hashed_token,
    }
    entry = model()
    for name, value in common.items():
        setattr(entry, name, value)
    entry.document_id = secrets.token_urlsafe(16)
    entry.created_at = utcnow()
    entry.fields = dict(fields)
    entry.search_text = search_text({**common, **fields})
    return entry


def search_text(values: Mapping[str, Any]) -> str:
    lines = "\n".join(f"{key}={value}" for key, value in _flat(values) if value is not None)
    # NUL is the one character PostgreSQL's text refuses.
    return f"\n{lines}\n".lower().replace("\x00", "")


def _flat(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in values.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{key}.")
        elif isinstance(value, list | tuple):
            for item in value:
                yield f"{prefix}{key}", item
        else:
            yield f"{prefix}{key}", value


def entry_document(entry: AuditColumns, **scope: Any) -> dict[str, Any]:
    """The entry as the API shows it (``scope``: ``business`` and ``business_id``)."""
    millis = int(entry.created_at.timestamp() * 1000)
    document: dict[str, Any] = {
        "@timestamp": millis,
        "created_at": millis,
        "_document_id": entry.document_id,
        "action": entry.action,
        "actor": entry.actor,
        "actor_kind": entry.actor_kind,
        "request_id": entry.request_id,
    }
    for name in ("token_id", "token_prefix", "hashed_token"):
        if getattr(entry, name) is not None:
            document[name] = getattr(entry, name)
    document.update(scope)
    document.update(entry.fields)
    return document


class AppendOnlyError(RuntimeError):
    """Something tried to change or delete an audit entry: a bug, never a user's doing."""


_GUARDED_TABLES: set[str] = set()


def append_only(model: type[AuditColumns]) -> None:
    """No ORM path updates or deletes ``model``'s rows: not a changed object, not
    ``session.delete``, not a bulk ``update()``/``delete()`` run through a session."""
    _GUARDED_TABLES.add(inspect(model).tables[0].name)

    def refuse(_mapper: Mapper[Any], _connection: Any, target: AuditColumns) -> None:
        raise AppendOnlyError(f"audit entry {target.document_id} is append-only")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _GUARDED_TABLES:
        raise AppendOnlyError(f"{table.name} is append-only")  # type: ignore[union-attr]
