"""``ghes-agent``: what an administrator does by hand beside the agent.

``export`` and ``instance`` work on the agent's own data directory and database (the same
``GHES_AGENT_*`` configuration as the service): no running service, no network. ``sync``
and ``status`` ask the running agent (``--url``, default ``GHES_AGENT_URL`` or
http://127.0.0.1:8001) with its admin token.
Exit codes: 0 done, 1 the work failed, 2 wrong usage, 3 the agent could not be asked,
4 gave up waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, make_sessions
from services.common.progress import ProgressBar
from services.ghes_agent.db.migrate import migrate
from services.ghes_agent.db.models import AgentState
from services.ghes_agent.domain.audit import command_line_audit
from services.ghes_agent.domain.errors import SourceError
from services.ghes_agent.domain.export import EXPORT_ACTION, export_report
from services.ghes_agent.domain.keys import load_or_create_key
from services.ghes_agent.domain.runs import ensure_identity
from services.ghes_agent.domain.sources import users_source
from services.ghes_agent.settings import AgentSettings
from shared import public_key_text

DEFAULT_URL = "http://127.0.0.1:8001"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghes-agent", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write the signed export file for uploading")
    export.add_argument("--output", "-o", type=Path, help="file or directory (default: here)")
    export.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="a progress bar while reading the users file (default: when stderr is a terminal)",
    )
    commands.add_parser("instance", help="show the server_id, hostname and public key")
    sync = commands.add_parser("sync", help="sync now through the running agent, and wait")
    sync.add_argument("--url", default=os.environ.get("GHES_AGENT_URL", DEFAULT_URL))
    sync.add_argument("--no-wait", action="store_true", help="start the run and return")
    sync.add_argument("--timeout", type=float, default=3600.0, help="seconds to wait at most")
    status = commands.add_parser("status", help="show the running agent's sync status")
    status.add_argument("--url", default=os.environ.get("GHES_AGENT_URL", DEFAULT_URL))
    args = parser.parse_args(argv)
    settings = AgentSettings()
    try:
        if args.command == "export":
            show = sys.stderr.isatty() if args.progress is None else args.progress
            return _export(settings, args.output, show_progress=show)
        if args.command == "sync":
            return _sync(settings, args.url, wait=not args.no_wait, timeout=args.timeout)
        if args.command == "status":
            return _status(settings, args.url)
        return _instance(settings)
    except AgentUnreachableError as error:
        print(f"ghes-agent: {error}", file=sys.stderr)
        return 3
    except SourceError as error:
        print(f"ghes-agent: {error}", file=sys.stderr)
        return 1


def _database(settings: AgentSettings) -> tuple[sessionmaker[Session], AgentState]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url())
    migrate(engine)
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        identity = ensure_identity(session)
    return sessions, identity


def _export(settings: AgentSettings, output: Path | None, *, show_progress: bool) -> int:
    sessions, _identity = _database(settings)
    name = settings.users_csv.name if settings.users_csv else "users"
    bar = ProgressBar(f"reading {name}", enabled=show_progress)
    try:
        facts = asyncio.run(users_source(settings, progress=bar.update)())
    finally:
        bar.finish()
    result = export_report(
        sessions,
        load_or_create_key(settings.data_dir),
        facts,
        hostname=settings.hostname,
        audit=command_line_audit(EXPORT_ACTION),
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
    _sessions, identity = _database(settings)
    print(f"server_id:  {identity.server_id}")
    print(f"hostname:   {settings.hostname}")
    print(f"public_key: {public_key_text(load_or_create_key(settings.data_dir))} (ed25519)")
    return 0


class AgentUnreachableError(RuntimeError):
    """The running agent could not be asked (unreachable, or the admin token refused)."""


def _client(settings: AgentSettings, url: str) -> httpx.Client:
    token = (
        settings.admin_token.get_secret_value()
        if settings.admin_token is not None
        else _token_file(settings)
    )
    return httpx.Client(
        base_url=url.rstrip("/"), headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _token_file(settings: AgentSettings) -> str:
    path = settings.data_dir / "admin_token"
    if not path.exists():
        raise AgentUnreachableError(
            f"no admin token: set GHES_AGENT_ADMIN_TOKEN, or run where {path} exists"
        )
    return path.read_text().strip()


def _ask(client: httpx.Client, method: str, path: str) -> dict[str, Any]:
    try:
        response = client.request(method, path)
    except httpx.TransportError as error:
        raise AgentUnreachableError(
            f"cannot reach the agent at {client.base_url}: {error}"
        ) from None
    if response.status_code == 401:
        raise AgentUnreachableError("the agent refused the admin token (401)")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def _sync(settings: AgentSettings, url: str, *, wait: bool, timeout: float) -> int:
    with _client(settings, url) as client:
        run = _ask(client, "POST", "/sync/trigger")
        print(f"run {run['id']} ({run['trigger']}): {run['status']}")
        if not wait:
            return 0
        started = time.monotonic()
        while run["status"] in ("queued", "running"):
            elapsed = time.monotonic() - started
            if elapsed > timeout:
                print(f"\ngave up waiting after {timeout:.0f} s", file=sys.stderr)
                return 4
            spinner = "|/-\\"[int(elapsed * 4) % 4]
            print(f"\r{spinner} {run['status']}, {elapsed:5.1f} s", end="", file=sys.stderr)
            time.sleep(0.25)
            run = _ask(client, "GET", f"/sync/runs/{run['id']}")
        print("", file=sys.stderr)
    if run["status"] == "succeeded":
        receipt = run.get("receipt") or {}
        print(
            f"succeeded: {run['users_sent']} users sent as sequence {run['sequence']}; the "
            f"cloud now counts {receipt.get('total_seats_consumed')} consumed licenses"
        )
        return 0
    print(f"failed: {run['error']}", file=sys.stderr)
    return 1


def _status(settings: AgentSettings, url: str) -> int:
    with _client(settings, url) as client:
        status = _ask(client, "GET", "/sync/status")
    for key in (
        "last_success",
        "last_attempt",
        "last_run_status",
        "last_error",
        "pending_reports",
        "next_retry_at",
        "undelivered_error",
        "next_scheduled_run",
    ):
        print(f"{key + ':':20} {status.get(key)}")
    return 0 if status.get("last_run_status") in (None, "succeeded") else 1


if __name__ == "__main__":
    sys.exit(main())
