"""Reading an audit log: newest first, filtered by a phrase, paged by cursors.

Cursors, as GitHub's audit log has them: ``after`` (older entries: the next page) and
``before`` (newer entries: the previous page), taken from the ``Link`` header. A page is one
indexed range read of at most ``per_page + 1`` rows, however long the log, plus one
``EXISTS`` for the other direction; a phrase with bare text reads rows until it has found
a page of matches.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic

from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select, true
from sqlalchemy.orm import Session
from starlette.datastructures import URL, QueryParams

from services.common.audit_log import E
from services.common.audit_phrase import Phrase, Term, parse_phrase

_CURSOR_PREFIX = "audit:"


class CursorError(ValueError):
    """An ``after`` or ``before`` that no Link header of ours gave out."""


@dataclass(frozen=True, slots=True)
class AuditQuery:
    phrase: Phrase
    after: int | None
    before: int | None
    per_page: int


def audit_query(
    phrase: str | None, after: str | None, before: str | None, per_page: int
) -> AuditQuery:
    """Raises ``PhraseError`` or ``CursorError`` (both ``ValueError``) naming the problem."""
    if after and before:
        raise CursorError("give after or before, not both")
    return AuditQuery(
        parse_phrase(phrase),
        decode_cursor(after, "after") if after else None,
        decode_cursor(before, "before") if before else None,
        per_page,
    )


def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, name: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        entry_id = int(text.removeprefix(_CURSOR_PREFIX))
        if text.startswith(_CURSOR_PREFIX) and 0 <= entry_id < 2**63:
            return entry_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise CursorError(f"{name}: not a cursor from this log's Link header")


@dataclass(frozen=True, slots=True)
class AuditPage(Generic[E]):
    entries: list[E]
    """Newest first."""
    newer: bool
    """Matching entries newer than the first exist (a ``prev`` page)."""
    older: bool
    """Matching entries older than the last exist (a ``next`` page)."""


def read_page(
    session: Session, model: type[E], scope: Sequence[ColumnElement[bool]], query: AuditQuery
) -> AuditPage[E]:
    """``scope``: the conditions that say whose log it is (an enterprise's)."""
    where = list(scope)
    condition = phrase_condition(model, query.phrase)
    if condition is not None:
        where.append(condition)
    size = query.per_page
    if query.before is not None:
        newest_last = session.scalars(
            select(model).where(*where, model.id > query.before).order_by(model.id).limit(size + 1)
        ).all()
        rows = list(reversed(newest_last[:size]))
        newer = len(newest_last) > size
        older = bool(rows) and _any(session, model, [*where, model.id < rows[-1].id])
        return AuditPage(rows, newer, older)
    bound = [model.id < query.after] if query.after is not None else []
    found = session.scalars(
        select(model).where(*where, *bound).order_by(model.id.desc()).limit(size + 1)
    ).all()
    rows = list(found[:size])
    newer = bool(rows) and bound != [] and _any(session, model, [*where, model.id > rows[0].id])
    return AuditPage(rows, newer, len(found) > size)


def _any(session: Session, model: type[E], where: list[ColumnElement[bool]]) -> bool:
    return bool(session.scalar(select(exists().where(*where))))


def phrase_condition(model: type[E], phrase: Phrase) -> ColumnElement[bool] | None:
    if not phrase:
        return None
    return or_(*(and_(*(_condition(model, term) for term in group)) for group in phrase))


def _condition(model: type[E], term: Term) -> ColumnElement[bool]:
    matched = _matches(model, term)
    return not_(matched) if term.negated else matched


def _matches(model: type[E], term: Term) -> ColumnElement[bool]:
    value = term.value.lower()
    if term.key == "action":
        if "." in value:
            return model.action == value
        return model.action.startswith(f"{value}.", autoescape=True)
    if term.key == "actor":
        return func.lower(model.actor) == value
    if term.period is not None:
        bounds = []
        if term.period.start is not None:
            bounds.append(model.created_at >= term.period.start)
        if term.period.end is not None:
            bounds.append(model.created_at < term.period.end)
        return and_(*bounds) if bounds else true()
    if term.key is None:
        return model.search_text.contains(value, autoescape=True)
    return model.search_text.contains(f"\n{term.key}={value}\n", autoescape=True)


def page_links(url: URL, page: AuditPage[E]) -> str | None:
    """GitHub's Link header for cursor pages: ``next``, ``prev`` and ``first``."""
    links: list[tuple[URL, str]] = []
    base = url.remove_query_params(["after", "before"])
    if page.older:
        links.append((base.include_query_params(after=encode_cursor(page.entries[-1].id)), "next"))
    if page.newer:
        links.append((base.include_query_params(before=encode_cursor(page.entries[0].id)), "prev"))
    given = QueryParams(url.query)
    if "after" in given or "before" in given:
        links.append((base, "first"))
    return ", ".join(f'<{target}>; rel="{rel}"' for target, rel in links) or None
