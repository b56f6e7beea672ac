"""The command lines against running services: exit codes scripts can rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from scripts.servers import ROOT, uvicorn_server
from tests.ghes_agent.conftest import users_csv_text

OPERATOR = "lsop_cli-operator"
ADMIN = "lsa_cli-admin"


def run(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_connect_sync_status_and_licenses_from_the_command_line(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    users = tmp_path / "all_users.csv"
    users.write_text(users_csv_text([(1, "a@example.com", False, False), (2, "", False, False)]))
    cloud_env = {"CLOUD_API_DATABASE_URL": new_database_url(), "CLOUD_API_ADMIN_TOKEN": OPERATOR}
    with uvicorn_server("services.cloud_api.main:create_app", cloud_env, tmp_path / "c.log") as url:
        cli = {"CLOUD_API_URL": url, "CLOUD_API_ADMIN_TOKEN": OPERATOR}
        created = run(
            "services.cloud_api.cli",
            "create-enterprise",
            "acme",
            "--name",
            "Acme",
            "--seats",
            "5",
            env=cli,
        )
        assert created.returncode == 0, created.stderr
        owner = json.loads(created.stdout)["owner_token"]
        again = run(
            "services.cloud_api.cli",
            "create-enterprise",
            "acme",
            "--name",
            "Acme",
            "--seats",
            "5",
            env=cli,
        )
        assert again.returncode == 1
        assert "slug_taken" in again.stderr
        owned = {**cli, "CLOUD_API_TOKEN": owner}
        connected = run(
            "services.cloud_api.cli", "connect", "acme", "--hostname", "ghes.example.com", env=owned
        )
        assert connected.returncode == 0, connected.stderr
        instance_token = json.loads(connected.stdout)["instance_token"]
        agent_env = {
            "GHES_AGENT_DATA_DIR": str(tmp_path / "agent"),
            "GHES_AGENT_DATABASE_URL": new_database_url(),
            "GHES_AGENT_CLOUD_URL": url,
            "GHES_AGENT_INSTANCE_TOKEN": instance_token,
            "GHES_AGENT_USERS_CSV": str(users),
            "GHES_AGENT_HOSTNAME": "ghes.example.com",
            "GHES_AGENT_ADMIN_TOKEN": ADMIN,
            "GHES_AGENT_SCHEDULER_ENABLED": "false",
        }
        with uvicorn_server(
            "services.ghes_agent.main:create_app", agent_env, tmp_path / "a.log"
        ) as agent:
            remote = {**agent_env, "GHES_AGENT_URL": agent}
            synced = run("services.ghes_agent.cli", "sync", env=remote)
            assert synced.returncode == 0, synced.stderr
            assert "2 users sent" in synced.stdout
            assert "counts 2 consumed licenses" in synced.stdout
            status = run("services.ghes_agent.cli", "status", env=remote)
            assert status.returncode == 0
            assert "succeeded" in status.stdout
            refused = run(
                "services.ghes_agent.cli",
                "status",
                env={**remote, "GHES_AGENT_ADMIN_TOKEN": "wrong"},
            )
            assert refused.returncode == 3
        shown = run("services.cloud_api.cli", "licenses", env=owned)
        assert shown.returncode == 0
        assert json.loads(shown.stdout)["total_seats_consumed"] == 2
    unreachable = run("services.cloud_api.cli", "licenses", env=owned)
    assert unreachable.returncode == 3
    assert "cannot reach" in unreachable.stderr


def test_help_everywhere() -> None:
    for module, commands in (
        ("services.cloud_api.cli", ["create-enterprise", "connect", "upload", "licenses"]),
        ("services.ghes_agent.cli", ["export", "instance", "sync", "status"]),
    ):
        assert run(module, "--help", env={}).returncode == 0
        for command in commands:
            shown = run(module, command, "--help", env={})
            assert shown.returncode == 0, (module, command)
            assert "usage:" in shown.stdout
        assert run(module, "no-such-command", env={}).returncode == 2
