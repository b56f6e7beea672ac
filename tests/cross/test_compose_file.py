"""docker-compose.yml without a Docker engine (none runs where this project is built): its
structure, and its own scripts (bootstrap, agent start, health check) run here as they are
written, against real processes, with only the container paths, host and port mapped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from scripts.servers import ROOT, free_port, uvicorn_process

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
ADMIN = "lsop_compose-test-admin-token"


def as_shell(script: str, mapping: dict[str, str]) -> str:
    """Compose writes ``$$`` for a literal ``$``; container paths become test paths."""
    script = script.replace("$$", "$")
    for container, here in mapping.items():
        script = script.replace(container, here)
    return script


def test_services_start_in_order_and_the_api_scales() -> None:
    assert set(SERVICES) == {"postgres", "cloud_api", "bootstrap", "ghes_agent"}
    assert SERVICES["postgres"]["healthcheck"]["test"][0] == "CMD-SHELL"
    needs = {name: service.get("depends_on", {}) for name, service in SERVICES.items()}
    assert needs["cloud_api"]["postgres"]["condition"] == "service_healthy"
    assert needs["bootstrap"]["cloud_api"]["condition"] == "service_healthy"
    assert needs["ghes_agent"]["bootstrap"]["condition"] == "service_completed_successfully"
    api = SERVICES["cloud_api"]
    # Replicas: no fixed container name, a range of host ports, state only in PostgreSQL.
    assert "container_name" not in api
    assert api["ports"] == ["127.0.0.1:8000-8009:8000"]
    assert api["environment"]["CLOUD_API_DATABASE_URL"].startswith("postgresql://")
    assert "volumes" not in api
    users_file = SERVICES["ghes_agent"]["environment"]["GHES_AGENT_USERS_CSV"]
    assert (ROOT / users_file.removeprefix("/app/")).is_file()
    assert "COPY demo ./demo" in (ROOT / "Dockerfile").read_text()


def test_bootstrap_then_agent_then_a_sync_as_compose_runs_them(tmp_path: Path) -> None:
    bootstrap_dir = tmp_path / "bootstrap"
    bootstrap_dir.mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CLOUD_API_ADMIN_TOKEN": ADMIN,
    }
    cloud_env = {"CLOUD_API_DATABASE_URL": f"sqlite:///{tmp_path / 'cloud.db'}"}
    with uvicorn_process(
        "services.cloud_api.main:create_app",
        {**cloud_env, "CLOUD_API_ADMIN_TOKEN": ADMIN},
        tmp_path / "cloud.log",
    ) as (cloud, _process):
        port = cloud.rsplit(":", 1)[1]
        check = [
            c.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            for c in SERVICES["cloud_api"]["healthcheck"]["test"][1:]
        ]
        assert subprocess.run(check, env=env, check=False).returncode == 0

        script = as_shell(SERVICES["bootstrap"]["command"][0], {"/bootstrap": str(bootstrap_dir)})
        bootstrap_env = {**env, "CLOUD_API_URL": cloud}
        first = _sh(script, bootstrap_env)
        assert first.returncode == 0, first.stderr
        assert "owner token (shown once): lso_" in first.stdout
        token_file = bootstrap_dir / "instance_token"
        token = token_file.read_text().strip()
        assert token.startswith("lsi_")
        again = _sh(script, bootstrap_env)  # a restarted stack: nothing is created twice
        assert (again.returncode, again.stdout) == (0, "")
        assert token_file.read_text().strip() == token

        owner = json.loads((bootstrap_dir / "enterprise.json").read_text())["owner_token"]
        agent_port = free_port()
        agent = SERVICES["ghes_agent"]
        agent_env = {
            **env,
            **{name: str(value) for name, value in agent["environment"].items()},
            "GHES_AGENT_DATA_DIR": str(tmp_path / "agent"),
            "GHES_AGENT_CLOUD_URL": cloud,
            "GHES_AGENT_USERS_CSV": str(ROOT / "demo" / "all_users.csv"),
            "GHES_AGENT_ADMIN_TOKEN": "lsa_compose-test",
            "GHES_AGENT_LOG_FORMAT": "json",
        }
        start = as_shell(
            agent["command"][0],
            {
                "/bootstrap": str(bootstrap_dir),
                "--host 0.0.0.0 --port 8001": f"--host 127.0.0.1 --port {agent_port}",
            },
        )
        with (tmp_path / "agent.log").open("wb") as log:
            process = subprocess.Popen(["sh", "-c", start], env=agent_env, stdout=log, stderr=log)
            try:
                agent_url = f"http://127.0.0.1:{agent_port}"
                _wait_healthy(agent_url, process)
                synced = subprocess.run(
                    ["ghes-agent", "sync", "--url", agent_url],
                    env=agent_env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                assert synced.returncode == 0, synced.stderr
            finally:
                process.terminate()
                process.wait(timeout=15)
        view = httpx.get(
            f"{cloud}/enterprise/licenses", headers={"Authorization": f"Bearer {owner}"}
        )
        # The bootstrap imports no cloud accounts: each of the 9 users the demo file reports
    # (11 accounts, 2 suspended) is a server-only person.
    assert "9 users sent" in synced.stdout
    assert view.json()["total_seats_consumed"] == 9


def _sh(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, check=False, cwd=ROOT
    )


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the agent's start command exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("the agent did not become healthy")
