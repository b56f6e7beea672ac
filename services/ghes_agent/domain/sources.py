"""Where an instance's users and license facts come from: an all_users.csv file, or the
GHES instance itself (``clients/ghes.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.ghes_agent.domain.errors import SourceError
from services.ghes_agent.domain.users_csv import Progress, UsersSnapshot, read_users_file
from shared import LicenseInfo


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    snapshot: UsersSnapshot
    ghes_version: str
    license: LicenseInfo | None


UsersSource = Callable[[], Coroutine[Any, Any, InstanceFacts]]


def csv_source(path: Path, ghes_version: str, progress: Progress | None = None) -> UsersSource:
    """A file exported from GHES says nothing of the license: ``license`` is null."""

    async def collect() -> InstanceFacts:
        snapshot = await asyncio.to_thread(read_users_file, path, progress)
        return InstanceFacts(snapshot, ghes_version, None)

    return collect


def no_source() -> UsersSource:
    async def collect() -> InstanceFacts:
        raise SourceError(
            "no users source: set GHES_AGENT_GHES_URL and GHES_AGENT_GHES_TOKEN (read the "
            "instance) or GHES_AGENT_USERS_CSV (an all_users.csv file)"
        )

    return collect
