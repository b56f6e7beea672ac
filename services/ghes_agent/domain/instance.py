"""What the agent last learned of its GHES instance: the version and license it read when
it last made a report (``outbox.remember_facts``). Shown by ``GET /instance``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from services.ghes_agent.db.models import AgentState
from shared import LicenseInfo


@dataclass(frozen=True, slots=True)
class KnownFacts:
    ghes_version: str | None
    license: LicenseInfo | None
    """None until read, and for a users file, which does not say the license."""
    read_at: datetime | None
    """None: no report was made yet."""


def known_facts(session: Session) -> KnownFacts:
    agent = session.get(AgentState, 1)
    if agent is None or agent.facts_read_at is None:
        return KnownFacts(None, None, None)
    license_info = LicenseInfo.model_validate(agent.license) if agent.license else None
    return KnownFacts(agent.ghes_version, license_info, agent.facts_read_at)
