"""The cloud client's error: an ordinary exception that says what the cloud answered."""

from __future__ import annotations

import pytest

from services.ghes_agent.clients.cloud import CloudError


def test_a_cloud_error_says_what_the_cloud_answered_and_takes_notes() -> None:
    error = CloudError("sequence_conflict", "not newer", status=409, current_sequence=41)
    error.add_note("while sending report 1")  # pytest and hypothesis add notes to failures
    assert str(error) == "the cloud answered 409 sequence_conflict: not newer"
    assert error.__notes__ == ["while sending report 1"]
    assert (error.error, error.status, error.current_sequence) == ("sequence_conflict", 409, 41)
    assert not error.retryable


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(None, True), (503, True), (429, True), (408, True), (422, False), (401, False)],
)
def test_only_server_errors_throttling_and_no_answer_are_retryable(
    status: int | None, retryable: bool
) -> None:
    assert CloudError("word", "detail", status=status).retryable is retryable
