"""Where an instance's users and license facts come from: the GHES instance itself
(``clients/ghes.py``), an all_users.csv file (with, optionally, GHES's Advanced Security
license report beside it), or nowhere yet (the agent says what to set)."""

from __future__ import annotations

from pathlib import Path

import httpx

from services.common.threads import in_thread
from services.ghes_agent.clients.ghes import ghes_source
from services.ghes_agent.domain.committers_csv import read_committers_file
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
        return csv_source(
            settings.users_csv, settings.ghes_version, progress, settings.advanced_security_csv
        )
    return no_source()


def csv_source(
    path: Path,
    ghes_version: str,
    progress: Progress | None = None,
    committers_path: Path | None = None,
) -> UsersSource:
    """A file exported from GHES says nothing of the license: ``license`` is null.
    ``committers_path``: the Advanced Security license report, read first."""

    async def collect() -> InstanceFacts:
        committers = None
        if committers_path is not None:
            committers = await in_thread(read_committers_file, committers_path)
        snapshot = await in_thread(read_users_file, path, progress, committers)
        return InstanceFacts(snapshot, ghes_version, None)

    return collect


def no_source() -> UsersSource:
    async def collect() -> InstanceFacts:
        raise SourceError(
            "no users source: set GHES_AGENT_GHES_URL and GHES_AGENT_GHES_TOKEN (read the "
            "instance) or GHES_AGENT_USERS_CSV (an all_users.csv file)"
        )

    return collect
