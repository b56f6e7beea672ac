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
