"""Both services as real uvicorn processes on loopback: sync through POST /sync/trigger,
read the figure from GET /enterprise/licenses. And the README's run command itself."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from scripts.servers import ROOT, uvicorn_server
from tests.ghes_agent.conftest import users_csv_text

OPERATOR = "lsop_e2e-operator"
AGENT_ADMIN = "lsa_e2e-admin"


def _call(method: str, url: str, token: str, body: Any = None) -> Any:
    response = httpx.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.is_success, f"{method} {url}: {response.status_code} {response.text}"
    return response.json()


def test_sync_between_real_processes(new_database_url: Callable[[], str], tmp_path: Path) -> None:
    users = tmp_path / "all_users.csv"
    rows = [(i, f"user{i}@example.com", i % 10 == 0, i % 3 == 0) for i in range(1, 101)]
    users.write_text(users_csv_text(rows))
    cloud_env = {"CLOUD_API_DATABASE_URL": new_database_url(), "CLOUD_API_ADMIN_TOKEN": OPERATOR}
    with uvicorn_server(
        "services.cloud_api.main:create_app", cloud_env, tmp_path / "cloud.log"
    ) as cloud:
        enterprise = {"slug": "e2e", "name": "E2E", "seats_purchased": 200}
        owner = _call("POST", f"{cloud}/admin/enterprises", OPERATOR, enterprise)["owner_token"]
        accounts = {
            "accounts": [
                {
                    "id": 5000 + i,
                    "login": f"cloud{i}",
                    "emails": [{"email": f"user{i}@example.com", "verified": True}],
                    "org_memberships": [{"org": "e2e", "role": "member"}],
                }
                for i in (1, 2, 150)
            ]
        }
        _call("PUT", f"{cloud}/enterprises/e2e/accounts", owner, accounts)
        connected = _call(
            "POST", f"{cloud}/enterprises/e2e/server-instances", owner, {"hostname": "ghes.e2e"}
        )
        agent_env = {
            "GHES_AGENT_DATA_DIR": str(tmp_path / "agent"),
            "GHES_AGENT_DATABASE_URL": new_database_url(),
            "GHES_AGENT_CLOUD_URL": cloud,
            "GHES_AGENT_INSTANCE_TOKEN": connected["instance_token"],
            "GHES_AGENT_USERS_CSV": str(users),
            "GHES_AGENT_HOSTNAME": "ghes.e2e",
            "GHES_AGENT_ADMIN_TOKEN": AGENT_ADMIN,
        }
        with uvicorn_server(
            "services.ghes_agent.main:create_app", agent_env, tmp_path / "agent.log"
        ) as agent:
            run = _call("POST", f"{agent}/sync/trigger", AGENT_ADMIN)
            for _ in range(600):
                if run["status"] not in ("queued", "running"):
                    break
                time.sleep(0.05)
                run = _call("GET", f"{agent}/sync/runs/{run['id']}", AGENT_ADMIN)
            assert run["status"] == "succeeded", run
            assert run["users_sent"] == 90
        view = _call("GET", f"{cloud}/enterprise/licenses", owner)
    # 90 reported GHES users (10 suspended left out), two of them merged with cloud
    # accounts, plus one cloud-only account: 91 persons.
    assert view["total_seats_consumed"] == 91
    assert view["breakdown"] == {"cloud_only": 1, "server_only": 88, "both": 2}
    assert view["server_instances"][0]["suspended_excluded"] == 10


def test_readme_run_command_prints_the_demo_figure(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--no-wait", "--workdir", str(tmp_path / "demo")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The figure the README explains: 12 persons of 15 seats.
    assert "Consumed licenses: 12 of 15 purchased" in result.stdout
    assert "cloud only 3, server only 6, both 3" in result.stdout
    # Both pages' addresses, each with the token that signs in to it.
    pages = dict(
        re.findall(r"^  (dashboard|agent page): +(http://\S+/dashboard) ", result.stdout, re.M)
    )
    assert set(pages) == {"dashboard", "agent page"}
    assert pages["dashboard"] != pages["agent page"]
    assert "sign in with the agent admin token" in result.stdout
    # The second sync of the README: nina and eve join the instance, dora is suspended.
    assert "After the second sync: 13 of 15 purchased (+1)" in result.stdout
    assert "What changed (GET /enterprise/licenses/changes): 12 -> 13" in result.stdout
    assert "  + cloud eve + GHES 13 (eve@acme.example): server_account_added" in result.stdout
    assert "  + GHES 12 (nina@acme.example): server_account_added" in result.stdout
    assert "  - GHES 7 (dora@acme.example): server_account_removed" in result.stdout
