"""Where an instance's users and license facts come from: the GHES instance itself
(``clients/ghes.py``), an all_users.csv file, or nowhere yet (the agent says what to set)."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.common.threads import in_thread
from services.ghes_agent.clients.ghes import ghes_source
from services.ghes_agent.domain.errors import SourceError
from services.ghes_agent.domain.facts import InstanceFacts, UsersSource
from services.ghes_agent.domain.users_csv import Progress, read_users_file
from services.ghes_agent.settings import AgentSettings


def users_source(
    settings: AgentSettings,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
) -> UsersSource:
    """The GHES instance when its URL is set, else the users file when one is set."""
    if settings.ghes_url:
        return ghes_source(settings, transport)
    if settings.users_csv is not None:
        return csv_source(settings.users_csv, settings.ghes_version, progress)
    return no_source()


def csv_source(path: Path, ghes_version: str, progress: Progress | None = None) -> UsersSource:
    """A file exported from GHES says nothing of the license: ``license`` is null."""

    async def collect() -> InstanceFacts:
        snapshot = await in_thread(read_users_file, path, progress)
        return InstanceFacts(snapshot, ghes_version, None)

    return collect


def no_source() -> UsersSource:
    async def collect() -> InstanceFacts:
        raise SourceError(
            "no users source: set GHES_AGENT_GHES_URL and GHES_AGENT_GHES_TOKEN (read the "
            "instance) or GHES_AGENT_USERS_CSV (an all_users.csv file)"
        )

    return collect
