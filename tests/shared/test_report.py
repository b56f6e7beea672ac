"""The wire contract: the bulk parser and the pydantic model agree on every input."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import shared
from shared import ReportFormatError, UsageReport, parse_report
from tests.builders import report


def test_public_names_are_pinned() -> None:
    assert sorted(shared.__all__) == sorted(
        [
            "SCHEMA_VERSION",
            "ErrorBody",
            "ExportFile",
            "ExportFileError",
            "Excluded",
            "InvalidEmailError",
            "LicenseInfo",
            "ParsedReport",
            "ReportFormatError",
            "ReportHeader",
            "ReportUser",
            "UsageReceipt",
            "UsageReport",
            "canonical_bytes",
            "dump_report",
            "is_valid_email",
            "key_id",
            "load_public_key",
            "normalize_email",
            "parse_report",
            "public_key_text",
            "read_export",
            "sign_report",
            "verify_export",
        ]
    )


def test_parse_keeps_users_in_order_with_keys() -> None:
    parsed = parse_report(orjson.dumps(report([(5, " Mona@Example.com "), (2, None)])))
    assert parsed.user_ids == [5, 2]
    assert parsed.emails == ["Mona@Example.com", None]
    assert parsed.email_keys == ["mona@example.com", None]
    assert parsed.header.sequence == 1


def test_content_hash_ignores_key_order_and_spacing() -> None:
    body = report([(1, "a@example.com")])
    reordered = dict(reversed(list(body.items())))
    spaced = orjson.dumps(reordered, option=orjson.OPT_INDENT_2)
    assert parse_report(orjson.dumps(body)).content_hash == parse_report(spaced).content_hash
    other = {**body, "users": [{"id": 1, "email": "b@example.com"}]}
    assert parse_report(orjson.dumps(other)).content_hash != parse_report(spaced).content_hash


def _model_accepts(document: Any) -> bool:
    try:
        UsageReport.model_validate(document)
    except ValidationError:
        return False
    users = document.get("users") if isinstance(document, dict) else None
    ids = [u["id"] for u in users] if isinstance(users, list) else []
    return len(ids) == len(set(ids))  # uniqueness is a cross-item rule the model leaves out


def _parser_accepts(document: Any) -> bool:
    try:
        parse_report(json.dumps(document).encode())
    except ReportFormatError:
        return False
    return True


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**64),
    st.text(max_size=12),
    st.sampled_from(["a@example.com", "A@Example.com", "bad@", "x@bücher.de", " b@example.com"]),
)


@st.composite
def mutated_reports(draw: st.DrawFn) -> Any:
    users = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=6),
                st.sampled_from([None, "a@example.com", "b@example.com"]),
            ),
            max_size=4,
        )
    )
    document: dict[str, Any] = report(users)
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        target = draw(st.sampled_from(["header", "user", "drop", "extra"]))
        if target == "header":
            document[draw(st.sampled_from(sorted(document)))] = draw(values)
        elif target == "user" and isinstance(document.get("users"), list) and document["users"]:
            user = draw(st.sampled_from(document["users"]))
            user[draw(st.sampled_from(["id", "email"]))] = draw(values)
        elif target == "drop":
            document.pop(draw(st.sampled_from(sorted(document))), None)
        else:
            document[draw(st.sampled_from(["login", "extra"]))] = draw(values)
    return copy.deepcopy(document)


@st.composite
def mutated_committer_reports(draw: st.DrawFn) -> Any:
    """Version 1 or 2 reports whose committers are right, missing, misplaced or wrong."""
    users = draw(st.lists(st.integers(min_value=1, max_value=6), unique=True, max_size=4))
    document: dict[str, Any] = report([(u, None) for u in users])
    document["schema_version"] = draw(st.sampled_from([1, 2, 3, "2", True]))
    choice = draw(st.sampled_from(["absent", "users", "any", "value"]))
    if choice == "users":
        document["advanced_security_user_ids"] = draw(
            st.lists(st.sampled_from(users), max_size=4) if users else st.just([])
        )
    elif choice == "any":
        document["advanced_security_user_ids"] = draw(
            st.lists(st.one_of(st.integers(min_value=-1, max_value=8), values), max_size=4)
        )
    elif choice == "value":
        document["advanced_security_user_ids"] = draw(values)
    return document


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated_reports(), mutated_committer_reports()))
def test_bulk_parser_and_model_agree(document: Any) -> None:
    assert _parser_accepts(document) == _model_accepts(document)


def test_a_version_2_report_carries_its_committers() -> None:
    body = {**report([(5, "a@example.com"), (9, None)]), "schema_version": 2}
    body["advanced_security_user_ids"] = [9]
    parsed = parse_report(orjson.dumps(body))
    assert parsed.header.schema_version == 2
    assert parsed.advanced_security_user_ids == [9]
    assert UsageReport.model_validate(body).advanced_security_user_ids == [9]
    empty = parse_report(orjson.dumps({**body, "advanced_security_user_ids": []}))
    assert empty.advanced_security_user_ids == []


def test_a_version_1_report_says_nothing_about_committers() -> None:
    assert parse_report(orjson.dumps(report())).advanced_security_user_ids is None


@pytest.mark.parametrize(
    ("version", "committers", "problem"),
    [
        (2, [5, 42], "advanced_security_user_ids[1]: user id 42 is not a user of this report"),
        (2, [5, 5], "advanced_security_user_ids[1]: duplicate user id 5"),
        (2, [0], "advanced_security_user_ids[0]: must be a positive integer"),
        (2, ["5"], "advanced_security_user_ids[0]: must be a positive integer"),
        (2, None, "advanced_security_user_ids: must be an array"),
        (1, [5], "advanced_security_user_ids: only in schema_version 2 reports"),
    ],
)
def test_committers_that_break_the_contract_are_named(
    version: int, committers: object, problem: str
) -> None:
    body: dict[str, Any] = {**report([(5, "a@example.com")]), "schema_version": version}
    if committers is not None or version == 1:
        body["advanced_security_user_ids"] = committers
    with pytest.raises(ReportFormatError) as refused:
        parse_report(orjson.dumps(body))
    assert problem in str(refused.value)


def test_dump_report_writes_committers_only_when_given() -> None:
    header = parse_report(orjson.dumps(report([(3, None)]))).header
    assert b"advanced_security" not in shared.dump_report(header, [(3, None)])
    v2 = header.model_copy(update={"schema_version": 2})
    dumped = parse_report(shared.dump_report(v2, [(3, None)], [3]))
    assert dumped.advanced_security_user_ids == [3]


@pytest.mark.parametrize("body", [b"[]", b'"report"', b"{", b"\xff"])
def test_non_object_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(ReportFormatError):
        parse_report(body)
