"""The audit log's ``phrase``: a subset of GitHub's audit-log search syntax.

A phrase is terms separated by spaces, all of which must match; ``OR`` between terms
starts another group that may match instead (``AND`` may be written and changes nothing).
A term is ``key:value``, or bare text, either preceded by ``-`` to exclude what it matches;
a value with spaces goes in double quotes.

* ``action:server_instance.connect`` one action; ``action:server_instance`` every action of
  that category (GitHub's rule: a value without a dot names a category).
* ``actor:owner-token-12`` who acted, exactly.
* ``created:2026-05-01``, ``created:>=2026-05-01``, ``created:<2026-05-01T12:00:00Z``,
  ``created:2026-05-01..2026-05-31``: when (days are UTC, ranges include both days).
* any other key (``server_id:srv-1``, ``request_id:…``, ``token_id:12``) is one of the
  entry's fields, equal to the value (case-insensitive).
* bare text: found anywhere in the entry's action, actor or fields (GitHub's log has no
  free-text search; ours does, since owners expect one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.common.clock import as_utc

MAX_TERMS = 30
_TERM = re.compile(r'(-?)(?:([a-z_][a-z0-9_.]*):)?(?:"([^"]*)"|(\S+))')
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY_ALONE = re.compile(r"[a-z_][a-z0-9_.]*:")
_COMPARISON = re.compile(r"^(>=|<=|>|<)?(.+)$")


class PhraseError(ValueError):
    """The phrase cannot be read; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``start <= created_at < end``; either side open when None."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Term:
    key: str | None
    """``action``, ``actor``, ``created``, another field's name, or None for bare text."""
    value: str
    negated: bool = False
    period: TimeRange | None = None
    """For ``created``: the times it stands for."""


Phrase = tuple[tuple[Term, ...], ...]
"""Groups of terms: an entry matches when every term of at least one group matches."""


def parse_phrase(text: str | None) -> Phrase:
    if text and _CONTROL.search(text):
        raise PhraseError("a phrase has no control characters")
    groups: list[list[Term]] = [[]]
    count = 0
    for match in _TERM.finditer((text or "").strip()):
        negated, key, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        if key is None and quoted is None and value in ("AND", "OR"):
            if value == "OR":
                if not groups[-1]:
                    raise PhraseError("OR needs a term on each side")
                groups.append([])
            continue
        if key is None and quoted is None and _KEY_ALONE.fullmatch(value):
            raise PhraseError(f"{value} has no value (write {value}value, no space)")
        count += 1
        if count > MAX_TERMS:
            raise PhraseError(f"a phrase has at most {MAX_TERMS} terms")
        groups[-1].append(_term(key, value, negated == "-"))
    if len(groups) > 1 and not groups[-1]:
        raise PhraseError("OR needs a term on each side")
    return tuple(tuple(group) for group in groups if group)


def _term(key: str | None, value: str, negated: bool) -> Term:
    if not value:
        raise PhraseError(f"{key or 'a term'}: the value is empty")
    if key == "created":
        try:
            return Term(key, value, negated, created_range(value))
        except OverflowError:
            raise PhraseError(f"created: {value!r} is out of range") from None
    return Term(key, value, negated)


def created_range(value: str) -> TimeRange:
    """``created:`` values as GitHub writes them, read as UTC."""
    if ".." in value:
        first, _, last = value.partition("..")
        start = None if first == "*" else _instant(first, end_of_day=False)
        end = None if last == "*" else _instant(last, end_of_day=True)
        return TimeRange(start, end)
    match = _COMPARISON.match(value)
    assert match is not None  # the pattern matches any non-empty value
    operator, moment = match.groups()
    if operator in (">", "<="):
        boundary = _instant(moment, end_of_day=True)
    else:
        boundary = _instant(moment, end_of_day=False)
    if operator in (">", ">="):
        return TimeRange(boundary, None)
    if operator in ("<", "<="):
        return TimeRange(None, boundary)
    return TimeRange(boundary, _instant(moment, end_of_day=True))


def _instant(text: str, *, end_of_day: bool) -> datetime:
    """A day's first instant (or the next day's, for an end), or a time given exactly.
    ``created:>T`` and ``created:<=T`` for an exact time include T's own millisecond."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), tzinfo=UTC)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise PhraseError(
            f"created: {text!r} is not a date (2026-05-01) or a time (2026-05-01T12:00:00Z)"
        ) from None
    return moment + timedelta(milliseconds=1) if end_of_day else moment
