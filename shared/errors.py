"""The one error body both services answer with, and the agent parses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    model_config = ConfigDict(frozen=True)

    error: str
    """A stable machine word, such as ``sequence_conflict``."""
    detail: str
    """What went wrong, for a person."""
    current_sequence: int | None = None
    """On ``sequence_conflict``: the sequence of the report the cloud holds."""


ERROR_STATUSES: dict[int, str] = {
    400: "The request could not be read",
    401: "A valid token is required",
    403: "The token may not do this",
    404: "Not found, or not the caller's to see",
    409: "Conflicts with what is stored (nothing changed)",
    413: "The body is larger than the limit",
    415: "The body's encoding is not supported",
    422: "The request is invalid; detail names the problem",
    429: "Too many failed authentications from this address; Retry-After says when to retry",
    502: "The identity provider did not answer as expected; nothing was changed",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries for the error answers a route can give."""
    chosen = statuses or tuple(ERROR_STATUSES)
    return {
        status: {"model": ErrorBody, "description": ERROR_STATUSES[status]} for status in chosen
    }
