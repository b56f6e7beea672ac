"""The usage report: what an agent sends the cloud (SPEC sections 3 and 7.4).

Schema version 1 carries the users; version 2 adds ``advanced_security_user_ids``, the
users among them who are GitHub Advanced Security active committers. The cloud accepts
both, so an agent not yet upgraded keeps working; an agent sends version 2 only when it
read committers (docs/decisions.md).

Two views of one contract. :class:`UsageReport` is the pydantic model: it documents the
format, drives the OpenAPI description and serves callers with a handful of users. The
cloud's ingest path does not build a model per user, though: a report may carry hundreds
of thousands of users, so :func:`parse_report` checks the header with the pydantic model and
the users with one tight loop into parallel lists. Tests hold the two views to the same
verdict on every input.
"""

from __future__ import annotations

import hashlib
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self, cast

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    model_validator,
)

from shared.emails import InvalidEmailError, normalize_email, normalize_stripped

SCHEMA_VERSION: Literal[2] = 2
"""The newest version, which agents send when they have committers to report."""
MAX_USER_ID = 2**63 - 1
COMMITTERS = "advanced_security_user_ids"

ServerId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


def _check_email(value: str | None) -> str | None:
    if value is not None:
        try:
            normalize_email(value)
        except InvalidEmailError as error:
            raise ValueError(f"not a valid e-mail address: {error}") from None
    return value


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LicenseInfo(_Wire):
    seats: Annotated[StrictInt, Field(ge=0)] | None
    """``None`` when the GHES license is unlimited."""
    expires_at: AwareDatetime | None


class Excluded(_Wire):
    suspended: Annotated[StrictInt, Field(ge=0)]


UserId = Annotated[StrictInt, Field(gt=0, le=MAX_USER_ID)]


class ReportUser(_Wire):
    id: UserId
    email: Annotated[str | None, AfterValidator(_check_email)]


class ReportHeader(_Wire):
    """Everything in a report but its users."""

    schema_version: Literal[1, 2]
    report_id: uuid.UUID
    server_id: ServerId
    hostname: Annotated[str, Field(min_length=1, max_length=253)]
    ghes_version: Annotated[str, Field(min_length=1, max_length=64)]
    sequence: Annotated[StrictInt, Field(ge=1, le=MAX_USER_ID)]
    generated_at: AwareDatetime
    license: LicenseInfo | None
    excluded: Excluded


class UsageReport(ReportHeader):
    users: list[ReportUser]
    advanced_security_user_ids: list[UserId] | None = None
    """Version 2 only, and required there: the IDs of the users (of this report) who are
    GitHub Advanced Security active committers on the instance, each once."""

    @model_validator(mode="after")
    def _committers_are_users(self) -> Self:
        problem = committers_problem(
            self.schema_version,
            COMMITTERS in self.model_fields_set,
            self.advanced_security_user_ids,
            [user.id for user in self.users],
        )
        if problem is not None:
            raise ValueError(problem)
        return self


class ReportFormatError(ValueError):
    """A report body that breaks the contract; the message names the first problem."""


@dataclass(frozen=True, slots=True)
class ParsedReport:
    header: ReportHeader
    user_ids: list[int]
    emails: list[str | None]
    """As sent (for display), white space stripped."""
    email_keys: list[str | None]
    """Normalized comparison keys, parallel to ``emails``; empty when ``keys_deferred``."""
    content_hash: str
    """SHA-256 of the canonical serialization: equal for equal content, however sent."""
    keys_deferred: bool = False
    """Parsed with ``defer_keys``: the caller normalizes (and so validates) the addresses
    with :func:`email_keys_of`, chunk by chunk."""
    advanced_security_user_ids: list[int] | None = None
    """The committers of a version 2 report (each one of ``user_ids``); ``None`` for a
    version 1 report, which says nothing about committers."""

    @property
    def user_count(self) -> int:
        return len(self.user_ids)


_HEADER_FIELDS = frozenset(ReportHeader.model_fields)
_BODY_LISTS = frozenset({"users", COMMITTERS})
_USER_KEYS = frozenset(ReportUser.model_fields)
_USER_KEYS_VIEW = dict.fromkeys(_USER_KEYS).keys()
_get_id = operator.itemgetter("id")
_get_email = operator.itemgetter("email")


def parse_report(body: bytes | dict[str, Any], *, defer_keys: bool = False) -> ParsedReport:
    """Parse and validate a report body, raising :class:`ReportFormatError`.

    ``defer_keys`` checks everything but the e-mail addresses themselves, leaving their
    normalization (the costly part, and the last check) to :func:`email_keys_of`: the cloud
    runs it while PostgreSQL stores the rows already checked."""
    document = _load_object(body) if isinstance(body, bytes) else body
    unknown = sorted(set(document) - _HEADER_FIELDS - _BODY_LISTS)
    if unknown:
        raise ReportFormatError(f"unknown field(s): {', '.join(unknown)}")
    if "users" not in document:
        raise ReportFormatError("users: field required")
    try:
        header = ReportHeader.model_validate(
            {k: v for k, v in document.items() if k not in _BODY_LISTS}
        )
    except ValidationError as error:
        raise ReportFormatError(describe_validation_error(error)) from None
    ids, emails, keys = _parse_users(document["users"], normalize=not defer_keys)
    committers = document.get(COMMITTERS)
    problem = committers_problem(header.schema_version, COMMITTERS in document, committers, ids)
    if problem is not None:
        raise ReportFormatError(problem)
    content_hash = hashlib.sha256(canonical_bytes(document)).hexdigest()
    return ParsedReport(
        header,
        ids,
        emails,
        keys,
        content_hash,
        keys_deferred=defer_keys,
        advanced_security_user_ids=cast("list[int] | None", committers),
    )


def committers_problem(
    version: int, given: bool, committers: object, user_ids: Sequence[int]
) -> str | None:
    """What is wrong with a report's ``advanced_security_user_ids``, or None. The pydantic
    model and the bulk parser both ask this, so they refuse the same reports."""
    if version == 1:
        return f"{COMMITTERS}: only in schema_version 2 reports" if given else None
    if not isinstance(committers, list):
        return f"{COMMITTERS}: must be an array (required in schema_version 2)"
    if not committers:
        return None
    seen: set[int] = set()
    for index, user_id in enumerate(committers):
        if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
            return f"{COMMITTERS}[{index}]: must be a positive integer"
        if user_id in seen:
            return f"{COMMITTERS}[{index}]: duplicate user id {user_id}"
        seen.add(user_id)
    # One pass over the users against the (usually few) committers, not a set of them all.
    missing = seen.difference(user_ids)
    if missing:
        index, user_id = next((i, u) for i, u in enumerate(committers) if u in missing)
        return f"{COMMITTERS}[{index}]: user id {user_id} is not a user of this report"
    return None


def email_keys_of(report: ParsedReport, start: int, stop: int) -> list[str | None]:
    """The keys of users ``[start:stop]``; the first invalid address raises
    :class:`ReportFormatError` naming that user, as :func:`parse_report` would."""
    emails = report.emails[start:stop]
    try:
        if None in emails:
            return [None if e is None else normalize_stripped(e) for e in emails]
        return list(map(normalize_stripped, emails))  # type: ignore[arg-type]
    except InvalidEmailError:
        for offset, email in enumerate(emails):
            if email is None:
                continue
            try:
                normalize_stripped(email)
            except InvalidEmailError as error:
                raise ReportFormatError(
                    f"users[{start + offset}].email: not a valid e-mail address: {error}"
                ) from None
        raise


def _load_object(body: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ReportFormatError(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ReportFormatError("body must be a JSON object")
    return document


def _parse_users(
    users: object, *, normalize: bool = True
) -> tuple[list[int], list[str | None], list[str | None]]:
    """Whole-list checks first (comprehensions run at C speed); the first failure sends the
    list through :func:`_explain_users`, which finds and names the first bad user."""
    if not isinstance(users, list):
        raise ReportFormatError("users: must be an array")
    if not users:
        return [], [], []
    try:
        # map() with C functions: no Python frame per user. dict.keys raises TypeError
        # for anything but a dict.
        if not all(map(_USER_KEYS_VIEW.__eq__, map(dict.keys, users))):
            raise ValueError
        ids: list[int] = list(map(_get_id, users))
        if set(map(type, ids)) != {int} or min(ids) <= 0 or max(ids) > MAX_USER_ID:
            raise ValueError
        if len(set(ids)) != len(ids):
            raise ValueError
        raw: list[str | None] = list(map(_get_email, users))
        emails: list[str | None]
        keys: list[str | None]
        if None in raw:
            emails = [None if e is None else e.strip() for e in raw]
            keys = (
                [None if e is None else normalize_stripped(e) for e in emails] if normalize else []
            )
        else:  # str.strip raises TypeError for anything but a string
            emails = list(map(str.strip, raw))  # type: ignore[arg-type]
            keys = list(map(normalize_stripped, emails)) if normalize else []  # type: ignore[arg-type]
    except (ValueError, AttributeError, TypeError):
        _explain_users(users)
        raise AssertionError("a bad user escaped the explanation") from None
    return ids, emails, keys


def _explain_users(users: list[Any]) -> None:
    seen: set[int] = set()
    for index, user in enumerate(users):
        if type(user) is not dict or user.keys() != _USER_KEYS:
            raise ReportFormatError(_user_shape_problem(index, user))
        user_id = user["id"]
        if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
            raise ReportFormatError(f"users[{index}].id: must be a positive integer")
        if user_id in seen:
            raise ReportFormatError(f"users[{index}].id: duplicate user id {user_id}")
        seen.add(user_id)
        email = user["email"]
        if email is not None and type(email) is not str:
            raise ReportFormatError(f"users[{index}].email: must be a string or null")
        if email is not None:
            try:
                normalize_email(email)
            except InvalidEmailError as error:
                raise ReportFormatError(
                    f"users[{index}].email: not a valid e-mail address: {error}"
                ) from None


def _user_shape_problem(index: int, user: object) -> str:
    if not isinstance(user, dict):
        return f"users[{index}]: must be an object"
    missing = sorted(_USER_KEYS - user.keys())
    if missing:
        return f"users[{index}]: missing field(s): {', '.join(missing)}"
    return f"users[{index}]: unknown field(s): {', '.join(sorted(user.keys() - _USER_KEYS))}"


def describe_validation_error(error: ValidationError, limit: int = 3) -> str:
    """A one-line account of a pydantic error, without echoing input values."""
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    more = error.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def dump_report(
    header: ReportHeader,
    users: Iterable[tuple[int, str | None]],
    advanced_security_user_ids: Iterable[int] | None = None,
) -> bytes:
    """Serialize a report without building a model per user (committers: version 2)."""
    document = header.model_dump(mode="json")
    document["users"] = [{"id": user_id, "email": email} for user_id, email in users]
    if advanced_security_user_ids is not None:
        document[COMMITTERS] = list(advanced_security_user_ids)
    return orjson.dumps(document)


def canonical_bytes(report: dict[str, Any] | Sequence[Any]) -> bytes:
    """The canonical serialization signatures cover: sorted keys, no white space, UTF-8."""
    return orjson.dumps(report, option=orjson.OPT_SORT_KEYS)
