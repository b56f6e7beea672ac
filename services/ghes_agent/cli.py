"""``ghes-agent``: what an administrator does by hand beside the agent.

Works on the agent's own data directory and database (the same ``GHES_AGENT_*``
configuration as the service), so it needs no running service and no network.
Exit codes: 0 done, 1 the work failed, 2 wrong usage.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine
from services.ghes_agent.db.migrate import migrate
from services.ghes_agent.domain.export import export_report
from services.ghes_agent.domain.keys import load_or_create_key
from services.ghes_agent.domain.runs import ensure_identity
from services.ghes_agent.domain.sources import SourceError
from services.ghes_agent.domain.users_csv import UsersFileError
from services.ghes_agent.main import users_source
from services.ghes_agent.settings import AgentSettings
from shared import public_key_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghes-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the signed export file for uploading")
    export.add_argument("--output", "-o", type=Path, help="file or directory (default: here)")
    commands.add_parser("instance", help="show the server_id, hostname and public key")
    args = parser.parse_args(argv)
    settings = AgentSettings()
    try:
        if args.command == "export":
            return _export(settings, args.output)
        return _instance(settings)
    except (UsersFileError, SourceError) as error:
        print(f"ghes-agent: {error}", file=sys.stderr)
        return 1


def _sessions(settings: AgentSettings) -> sessionmaker:  # type: ignore[type-arg]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    ensure_identity(sessions)
    return sessions


def _export(settings: AgentSettings, output: Path | None) -> int:
    sessions = _sessions(settings)
    facts = asyncio.run(users_source(settings)())
    result = export_report(
        sessions, load_or_create_key(settings.data_dir), facts, hostname=settings.hostname
    )
    target = output or Path.cwd()
    if target.is_dir():
        target = target / result.filename
    target.write_bytes(result.content)
    print(
        f"wrote {target}: report {result.report_id}, sequence {result.sequence}, "
        f"{result.users} users ({facts.snapshot.suspended} suspended left out)"
    )
    return 0


def _instance(settings: AgentSettings) -> int:
    identity = ensure_identity(_sessions(settings))
    print(f"server_id:  {identity.server_id}")
    print(f"hostname:   {settings.hostname}")
    print(f"public_key: {public_key_text(load_or_create_key(settings.data_dir))} (ed25519)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
