"""E-mail normalization: the comparison rule of SPEC section 2, pinned case by case."""

from __future__ import annotations

import unicodedata

import pytest

from shared import InvalidEmailError, normalize_email


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("Mona@Example.COM", "mona@example.com", "case is ignored in the whole address"),
        ("  mona@example.com\t", "mona@example.com", "surrounding white space is stripped"),
        ("mona@ｅｘａｍｐｌｅ.com", "mona@example.com", "full-width domain maps to ASCII"),  # noqa: RUF001
        ("x@bücher.de", "x@xn--bcher-kva.de", "internationalized domain equals its IDNA form"),
        ("x@BÜCHER.de", "x@bücher.de", "IDNA domains compare case-insensitively"),
        (
            unicodedata.normalize("NFD", "rené@example.com"),
            unicodedata.normalize("NFC", "rené@example.com"),
            "NFD and NFC spellings are one address",
        ),
        ("ÉMILE@example.com", "émile@example.com", "non-ASCII local parts are lower-cased"),
    ],
)
def test_same_address(a: str, b: str, why: str) -> None:
    assert normalize_email(a) == normalize_email(b), why


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("a+ci@example.com", "a@example.com", "+tags are never folded"),
        ("a.b@example.com", "ab@example.com", "dots are never folded"),
        ("a@googlemail.com", "a@gmail.com", "provider aliases are never folded"),
        ("a@example.com", "a@example.org", "another domain"),
    ],
)
def test_different_address(a: str, b: str, why: str) -> None:
    assert normalize_email(a) != normalize_email(b), why


def test_lower_not_casefold() -> None:
    # casefold would turn ß into ss and make these equal; str.lower() keeps them apart.
    assert normalize_email("straße@example.com") != normalize_email("strasse@example.com")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "@example.com",
        "mona@",
        "mo na@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "a@exa mple.com",
        "a@example..com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_invalid_addresses_are_refused(bad: str) -> None:
    with pytest.raises(InvalidEmailError):
        normalize_email(bad)


def test_error_never_repeats_the_address() -> None:
    with pytest.raises(InvalidEmailError) as caught:
        normalize_email("secret person@example.com")
    assert "secret" not in str(caught.value)
