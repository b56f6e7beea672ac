"""Reading GHES's Advanced Security license report (CSV) and matching its logins to the
users report: who is a committer, who is left out, what is refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.ghes_agent.domain.committers_csv import (
    CommittersFileError,
    read_committers_file,
    read_committers_text,
)
from services.ghes_agent.domain.users_csv import UsersFileError, read_users_text
from tests.ghes_agent.conftest import DEFAULT_USERS, users_csv_text

# As GHES writes it: one row per committer and repository (GitHub's license reports
# reference), USERNAME/REPOSITORY for personal repositories.
GHES_REPORT = (
    "User login,Organization / repository,Last pushed date,Last pushed email\n"
    "user1,acme/app,2026-11-20,mona@example.com\n"
    "user1,acme/api,2026-11-02,mona@example.com\n"
    "User2,user2/dotfiles,2026-10-01,hubot@example.com\n"
)


def test_each_login_counts_once_however_many_repositories() -> None:
    assert read_committers_text(GHES_REPORT) == {"user1", "user2"}


def test_a_byte_order_mark_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ghas_active_committers.csv"
    path.write_bytes(b"\xef\xbb\xbf" + GHES_REPORT.encode() + b"\n\n")
    assert read_committers_file(path) == {"user1", "user2"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("login,repo\nuser1,acme/app\n", "lacks the column User login"),
        ("User login,Organization / repository\n,acme/app\n", "line 2: User login is empty"),
    ],
)
def test_untrustworthy_committer_reports_are_refused(text: str, problem: str) -> None:
    with pytest.raises(CommittersFileError) as caught:
        read_committers_text(text)
    assert problem in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(CommittersFileError, match="cannot read the Advanced Security"):
        read_committers_file(tmp_path / "nope.csv")


def test_committers_become_the_ids_of_reported_users_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # user4 is suspended: not reported, so not a committer; "departed" is nobody here.
    with caplog.at_level(logging.INFO):
        snapshot = read_users_text(
            users_csv_text(DEFAULT_USERS), frozenset({"user1", "user3", "user4", "departed"})
        )
    assert snapshot.advanced_security_user_ids == [1, 3]
    assert snapshot.committers_not_reported == 2
    assert "2 Advanced Security committer(s) are not among the reported users" in caplog.text
    assert [user_id for user_id, _ in snapshot.users] == [1, 2, 3]


def test_without_committers_the_snapshot_says_nothing_about_them() -> None:
    snapshot = read_users_text(users_csv_text(DEFAULT_USERS))
    assert snapshot.advanced_security_user_ids is None


def test_matching_committers_needs_the_login_column() -> None:
    with pytest.raises(UsersFileError, match=r"lacks the column.*login"):
        read_users_text("id,email,suspended?\n1,a@example.com,false\n", frozenset({"a"}))
