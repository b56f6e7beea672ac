"""The agent's own audit log: what its admin token did (``license_sync.trigger``,
``license_usage.export``), in the same shape as the cloud's, written in the transaction
of the action it records."""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.common.audit_log import Actor, AuditContext, entry_document, new_entry
from services.common.audit_phrase import PhraseError
from services.common.audit_query import AuditPage, AuditQuery, CursorError, audit_query, read_page
from services.ghes_agent.db.models import AuditEntry
from services.ghes_agent.domain.errors import InvalidInputError

ADMIN = Actor(kind="admin_token", name="admin")
"""The agent has one admin token, possibly chosen by hand: named by kind alone."""


def command_line_audit(action: str) -> AuditContext:
    """What ``ghes-agent`` records when it acts on the database itself, not through the
    API: the local account that ran it, and a request id of its own."""
    actor = Actor(kind="command_line", name=f"command-line:{getpass.getuser()}")
    return AuditContext(action, actor, f"cli-{uuid.uuid4().hex}")


def record_entry(session: Session, audit: AuditContext, **fields: Any) -> None:
    session.add(new_entry(AuditEntry, audit, audit.action, fields))


@dataclass(frozen=True, slots=True)
class AuditLogPage:
    documents: list[dict[str, Any]]
    page: AuditPage[AuditEntry]


def audit_log_page(
    session: Session,
    phrase: str | None,
    after: str | None,
    before: str | None,
    per_page: int,
) -> AuditLogPage:
    try:
        query: AuditQuery = audit_query(phrase, after, before, per_page)
    except PhraseError as error:
        raise InvalidInputError(f"phrase: {error}", code="invalid_phrase") from None
    except CursorError as error:
        raise InvalidInputError(str(error), code="invalid_cursor") from None
    page = read_page(session, AuditEntry, [], query)
    return AuditLogPage([entry_document(entry) for entry in page.entries], page)
