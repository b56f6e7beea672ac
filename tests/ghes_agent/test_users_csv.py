"""Reading all_users.csv: who is reported, who is left out, what is refused."""

from __future__ import annotations

import pytest

from services.ghes_agent.domain.users_csv import UsersFileError, read_users_text
from tests.ghes_agent.conftest import users_csv_text


def test_suspended_are_counted_and_left_out_dormant_are_reported() -> None:
    snapshot = read_users_text(
        users_csv_text(
            [
                (1, "a@example.com", False, True),
                (2, "b@example.com", True, False),
                (3, "c@example.com", True, True),
            ]
        )
    )
    assert snapshot.users == [(1, "a@example.com")]
    assert snapshot.suspended == 2


def test_empty_email_is_null_and_invalid_email_is_null_and_counted() -> None:
    snapshot = read_users_text(
        users_csv_text([(1, "", False, False), (2, "not an address", False, False)])
    )
    assert snapshot.users == [(1, None), (2, None)]
    assert snapshot.invalid_emails == 1


def test_columns_are_found_by_name_in_any_order() -> None:
    text = "email,suspended?,id,login\nx@example.com,false,9,x\n"
    assert read_users_text(text).users == [(9, "x@example.com")]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("login,email\nx,x@example.com\n", "lacks the column(s) id, suspended?"),
        ("id,email,suspended?\nabc,x@example.com,false\n", "line 2: id is not"),
        ("id,email,suspended?\n1,x@example.com,maybe\n", "line 2: suspended? is neither"),
        ("id,email,suspended?\n1,a@example.com,false\n1,b@example.com,false\n", "appears twice"),
        ("id,email,suspended?\n1\n", "line 2: has 1 cells"),
    ],
)
def test_untrustworthy_reports_are_refused_whole(text: str, problem: str) -> None:
    with pytest.raises(UsersFileError, match=r".*") as caught:
        read_users_text(text)
    assert problem in str(caught.value)
