"""What one read of a GHES instance gives a report (its users and its license facts), and
the type of the functions that read it (``sources.py``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from services.ghes_agent.domain.users_csv import UsersSnapshot
from shared import LicenseInfo


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    snapshot: UsersSnapshot
    ghes_version: str
    license: LicenseInfo | None


UsersSource = Callable[[], Coroutine[Any, Any, InstanceFacts]]
