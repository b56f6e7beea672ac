"""The enterprise audit log (SPEC 7.4): written by each action in its own transaction,
read newest first with GitHub's phrase filter and cursors.

Who records what: every acting HTTP route declares its action once (``api/audit.py``) and
records its entry with :func:`record_entry` inside its unit of work; ingest records applied
reports there too, and every refusal of a report or an upload with
:func:`record_refusal_entry`, in the transaction that notes the refusal. A request that
fails otherwise rolls back and leaves no entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.cloud_api.db.models import AuditEntry, Enterprise
from services.cloud_api.domain.errors import DomainError, InvalidInputError
from services.common.audit_log import AuditContext, entry_document, new_entry
from services.common.audit_phrase import PhraseError
from services.common.audit_query import (
    AuditPage,
    AuditQuery,
    CursorError,
    audit_query,
    read_page,
)

REFUSAL_DETAIL_CHARS = 500


def record_entry(session: Session, audit: AuditContext, enterprise_id: int, **fields: Any) -> None:
    """The route's action, with its own fields, in the caller's transaction."""
    _add(session, audit, audit.action, enterprise_id, fields)


def record_refusal_entry(
    session: Session,
    audit: AuditContext,
    enterprise_id: int,
    error: DomainError,
    **fields: Any,
) -> None:
    """The route's refusal action (``server_usage.refuse``), naming the error."""
    if audit.refused_action is None:
        raise ValueError(f"{audit.action} declares no refusal action")
    fields = {**fields, "error": error.error, "detail": error.detail[:REFUSAL_DETAIL_CHARS]}
    _add(session, audit, audit.refused_action, enterprise_id, fields)


def _add(
    session: Session, audit: AuditContext, action: str, enterprise_id: int, fields: Any
) -> None:
    entry = new_entry(AuditEntry, audit, action, fields)
    entry.enterprise_id = enterprise_id
    session.add(entry)


@dataclass(frozen=True, slots=True)
class AuditLogPage:
    documents: list[dict[str, Any]]
    page: AuditPage[AuditEntry]


def parse_audit_query(
    phrase: str | None, after: str | None, before: str | None, per_page: int
) -> AuditQuery:
    try:
        return audit_query(phrase, after, before, per_page)
    except PhraseError as error:
        raise InvalidInputError(f"phrase: {error}", code="invalid_phrase") from None
    except CursorError as error:
        raise InvalidInputError(str(error), code="invalid_cursor") from None


def audit_log_page(session: Session, enterprise: Enterprise, query: AuditQuery) -> AuditLogPage:
    page = read_page(session, AuditEntry, [AuditEntry.enterprise_id == enterprise.id], query)
    documents = [
        entry_document(entry, business=enterprise.slug, business_id=enterprise.id)
        for entry in page.entries
    ]
    return AuditLogPage(documents, page)
