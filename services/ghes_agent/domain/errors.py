"""The agent's error vocabulary: each error carries its word and its detail.

``api/errors.py`` maps each class to one HTTP status. A failed run records the detail.
"""

from __future__ import annotations

from typing import ClassVar


class AgentError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = code or self.code


class NotAuthenticatedError(AgentError):
    code = "unauthorized"


class NotFoundError(AgentError):
    code = "not_found"


class InvalidInputError(AgentError):
    """The request is invalid; the detail names the problem."""

    code = "invalid_input"


class SourceError(AgentError):
    """The users could not be read; the message says what to do. Nothing is sent."""

    code = "users_unavailable"


class NotConnectedError(AgentError):
    """The agent is not set up to send to the cloud (no cloud URL or instance token)."""

    code = "not_connected"

    def __init__(self) -> None:
        super().__init__("not connected: set GHES_AGENT_CLOUD_URL and GHES_AGENT_INSTANCE_TOKEN")
