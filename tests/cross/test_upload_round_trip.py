"""Closed network: export from a running agent, upload to a running cloud by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from scripts.servers import uvicorn_server
from tests.ghes_agent.conftest import users_csv_text

OPERATOR = "lsop_upload-operator"
ADMIN = "lsa_upload-admin"


def test_export_then_upload_moves_the_figure(
    new_database_url: Callable[[], str], tmp_path: Path
) -> None:
    users = tmp_path / "all_users.csv"
    users.write_text(users_csv_text([(i, f"u{i}@example.com", i == 5, False) for i in range(1, 9)]))
    agent_env = {
        "GHES_AGENT_DATA_DIR": str(tmp_path / "agent"),
        "GHES_AGENT_DATABASE_URL": new_database_url(),
        "GHES_AGENT_USERS_CSV": str(users),
        "GHES_AGENT_HOSTNAME": "ghes.closed.example",
        "GHES_AGENT_ADMIN_TOKEN": ADMIN,
    }
    cloud_env = {"CLOUD_API_DATABASE_URL": new_database_url(), "CLOUD_API_ADMIN_TOKEN": OPERATOR}
    with (
        uvicorn_server(
            "services.ghes_agent.main:create_app", agent_env, tmp_path / "a.log"
        ) as agent,
        uvicorn_server(
            "services.cloud_api.main:create_app", cloud_env, tmp_path / "c.log"
        ) as cloud,
    ):
        admin = {"Authorization": f"Bearer {ADMIN}"}
        instance = httpx.get(f"{agent}/instance", headers=admin).json()
        exported = httpx.get(f"{agent}/license/usage/export", headers=admin)
        assert exported.status_code == 200
        created = httpx.post(
            f"{cloud}/admin/enterprises",
            json={"slug": "closed", "name": "Closed", "seats_purchased": 10},
            headers={"Authorization": f"Bearer {OPERATOR}"},
        ).json()
        owner = {"Authorization": f"Bearer {created['owner_token']}"}
        connected = httpx.post(
            f"{cloud}/enterprises/closed/server-instances",
            json={
                "hostname": "ghes.closed.example",
                "server_id": instance["server_id"],
                "public_key": instance["public_key"],
                "upload_only": True,
            },
            headers=owner,
        )
        assert connected.status_code == 201, connected.text
        before = httpx.get(f"{cloud}/enterprise/licenses", headers=owner).json()
        uploaded = httpx.post(
            f"{cloud}/enterprises/closed/server-usage/uploads",
            files={"file": ("export.json", exported.content, "application/json")},
            headers=owner,
        )
        assert uploaded.status_code == 201, uploaded.text
        after = httpx.get(f"{cloud}/enterprise/licenses", headers=owner).json()

        # The same file again, by hand with the command line: a duplicate, answered as such.
        export_file = tmp_path / "export.json"
        export_file.write_bytes(exported.content)
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.cloud_api.cli",
                "upload",
                "closed",
                str(export_file),
                "--progress",
            ],
            env={**os.environ, "CLOUD_API_URL": cloud, "CLOUD_API_TOKEN": created["owner_token"]},
            capture_output=True,
            check=False,
        )
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout)["status"] == "duplicate"
        bar = cli.stderr.decode().split("\r")[-1]
        assert bar.startswith("uploading export.json [")
        assert "100%" in bar
    assert before["total_seats_consumed"] == 0
    assert after["total_seats_consumed"] == 7
    assert after["server_instances"][0]["source"] == "upload"
