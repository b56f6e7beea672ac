"""The error the GHES client raises (its own module: the client's helpers raise it too)."""

from __future__ import annotations

from services.ghes_agent.domain.errors import SourceError


class GhesError(SourceError):
    """A GHES answer an administrator must act on; the message says what to do."""
