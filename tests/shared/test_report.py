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


@settings(max_examples=300, deadline=None)
@given(mutated_reports())
def test_bulk_parser_and_model_agree(document: Any) -> None:
    assert _parser_accepts(document) == _model_accepts(document)


@pytest.mark.parametrize("body", [b"[]", b'"report"', b"{", b"\xff"])
def test_non_object_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(ReportFormatError):
        parse_report(body)
