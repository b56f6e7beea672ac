"""The agent reading a large all_users.csv and pushing it: its peak memory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from bench.databases import fresh_database
from bench.probes import rss_mb
from bench.run import call, cloud, set_up
from scripts.servers import uvicorn_process

HEADER = (
    "created_at,id,login,email,role,suspended?,last_logged_ip,repos,ssh_keys,"
    "org_memberships,dormant?,last_active,raw_login,2fa_enabled?"
)
AGENT_APP = "services.ghes_agent.main:create_app"
AGENT_ADMIN = "lsa_bench-admin"


def write_users_csv(path: Path, n: int) -> None:
    """GHES's site-admin report: one in fifty suspended, one in a hundred without e-mail."""
    with path.open("w") as out:
        out.write(HEADER + "\n")
        for user_id in range(1, n + 1):
            email = "" if user_id % 100 == 0 else f"user{user_id}@corp.example"
            suspended = "true" if user_id % 50 == 0 else "false"
            out.write(
                f"2021-01-01 00:00:00 UTC,{user_id},user{user_id},{email},user,{suspended},"
                f"10.0.0.1,1,0,1,false,2026-11-01 00:00:00 UTC,user{user_id},false\n"
            )


def measure_agent(n: int, workdir: Path) -> dict[str, Any]:
    users_csv = workdir / f"all_users_{n}.csv"
    write_users_csv(users_csv, n)
    with (
        fresh_database("sqlite", workdir) as url,
        cloud("sqlite", workdir, url, "agent-cloud") as (base, _pid),
        httpx.Client(base_url=base, timeout=600) as client,
    ):
        owner, _ = set_up(client, 0, slug="agents")
        token = call(  # no server_id: the agent's first report binds its own
            client,
            "POST",
            "/enterprises/agents/server-instances",
            owner,
            json={"hostname": "ghes.agents.example"},
        )["instance_token"]
        env = {
            "GHES_AGENT_DATA_DIR": str(workdir / "agent-data"),
            "GHES_AGENT_CLOUD_URL": base,
            "GHES_AGENT_INSTANCE_TOKEN": token,
            "GHES_AGENT_USERS_CSV": str(users_csv),
            "GHES_AGENT_ADMIN_TOKEN": AGENT_ADMIN,
            "GHES_AGENT_SCHEDULER_ENABLED": "false",
            "GHES_AGENT_HTTP_TIMEOUT_SECONDS": "600",
        }
        log = workdir / "agent.log"
        with (
            uvicorn_process(AGENT_APP, env, log, ("--log-level", "warning")) as (agent, process),
            httpx.Client(
                base_url=agent, timeout=600, headers={"Authorization": f"Bearer {AGENT_ADMIN}"}
            ) as admin,
        ):
            baseline = rss_mb(process.pid)
            started = time.perf_counter()
            run = admin.post("/sync/trigger").json()
            while run["status"] not in ("succeeded", "failed"):
                time.sleep(0.2)
                run = admin.get(f"/sync/runs/{run['id']}").json()
            elapsed = time.perf_counter() - started
            if run["status"] != "succeeded":
                raise RuntimeError(f"the agent's run failed: {run}")
            peak = rss_mb(process.pid, "VmHWM:")
    row = {
        "users": n,
        "sent": run["users_sent"],
        "baseline_mb": baseline,
        "peak_mb": peak,
        "seconds": elapsed,
    }
    print(f"agent {n}: {row}", flush=True)
    return row
