"""``make run``: both services on SQLite, a demo enterprise and instance, one real sync.

Starts cloud_api and ghes_agent as uvicorn processes on 127.0.0.1, creates the demo
enterprise with the cloud accounts of ``demo/cloud_accounts.json``, connects the demo GHES
instance (users from ``demo/all_users.csv``), triggers a sync through ``POST /sync/trigger``
and prints the consumed-license figure read from ``GET /enterprise/licenses``. Then it keeps
both services running until Ctrl-C (or exits at once with ``--no-wait``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.servers import free_port, uvicorn_process

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
HOSTNAME = "ghes.acme.example"


def call(method: str, url: str, token: str, body: Any = None) -> Any:
    response = httpx.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if response.is_error:
        raise SystemExit(f"{method} {url} answered {response.status_code}: {response.text}")
    return response.json()


def set_up_cloud(cloud: str, admin: str) -> tuple[str, str]:
    enterprise = {"slug": "acme", "name": "Acme Corp", "seats_purchased": 15}
    owner = call("POST", f"{cloud}/admin/enterprises", admin, enterprise)["owner_token"]
    accounts = json.loads((DEMO / "cloud_accounts.json").read_text())
    call("PUT", f"{cloud}/enterprises/acme/accounts", owner, accounts)
    instance = call(
        "POST", f"{cloud}/enterprises/acme/server-instances", owner, {"hostname": HOSTNAME}
    )
    return owner, instance["instance_token"]


def sync(agent: str, admin: str) -> dict[str, Any]:
    run = call("POST", f"{agent}/sync/trigger", admin)
    deadline = time.monotonic() + 120
    while run["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        run = call("GET", f"{agent}/sync/runs/{run['id']}", admin)
    if run["status"] != "succeeded":
        raise SystemExit(f"the sync did not succeed: {run}")
    result: dict[str, Any] = run
    return result


def report(licenses: dict[str, Any], run: dict[str, Any]) -> None:
    breakdown = licenses["breakdown"]
    print(
        f"\nSync {run['id']}: {run['users_sent']} users sent, "
        f"{run['suspended_excluded']} suspended left out, sequence {run['sequence']}."
    )
    print(
        f"\nConsumed licenses: {licenses['total_seats_consumed']} "
        f"of {licenses['total_seats_purchased']} purchased"
    )
    print(
        f"  cloud only {breakdown['cloud_only']}, server only {breakdown['server_only']}, "
        f"both {breakdown['both']}"
    )
    for instance in licenses["server_instances"]:
        sync_state = instance["last_sync"] or {}
        print(
            f"  {instance['hostname']} ({instance['server_id']}): {sync_state.get('status')}, "
            f"{instance['accounts_reported']} accounts, "
            f"{instance['persons_only_here']} persons only there"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-wait", action="store_true", help="stop after printing the figure")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".demo", help="for logs and databases (wiped)"
    )
    args = parser.parse_args()

    workdir: Path = args.workdir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cloud_port, agent_port = free_port(8000), free_port(8001)
    cloud_admin = "lsop_" + secrets.token_urlsafe(24)
    agent_admin = "lsa_" + secrets.token_urlsafe(24)
    quiet = ("--log-level", "warning")
    with contextlib.ExitStack() as stack:
        cloud, cloud_process = stack.enter_context(
            uvicorn_process(
                "services.cloud_api.main:create_app",
                {
                    "CLOUD_API_DATABASE_URL": f"sqlite:///{workdir / 'cloud_api.db'}",
                    "CLOUD_API_ADMIN_TOKEN": cloud_admin,
                },
                workdir / "cloud_api.log",
                quiet,
                port=cloud_port,
            )
        )
        owner, instance_token = set_up_cloud(cloud, cloud_admin)
        agent, agent_process = stack.enter_context(
            uvicorn_process(
                "services.ghes_agent.main:create_app",
                {
                    "GHES_AGENT_DATA_DIR": str(workdir / "agent"),
                    "GHES_AGENT_CLOUD_URL": cloud,
                    "GHES_AGENT_INSTANCE_TOKEN": instance_token,
                    "GHES_AGENT_USERS_CSV": str(DEMO / "all_users.csv"),
                    "GHES_AGENT_HOSTNAME": HOSTNAME,
                    "GHES_AGENT_GHES_VERSION": "3.14.2",
                    "GHES_AGENT_ADMIN_TOKEN": agent_admin,
                },
                workdir / "ghes_agent.log",
                quiet,
                port=agent_port,
            )
        )
        run = sync(agent, agent_admin)
        licenses = call("GET", f"{cloud}/enterprise/licenses", owner)
        report(licenses, run)
        print(f"\ncloud_api   {cloud}   (docs: {cloud}/docs)")
        print(f"  operator token:        {cloud_admin}")
        print(f"  owner token (acme):    {owner}")
        print(f"  dashboard:             {cloud}/dashboard (sign in with the owner token)")
        print(f"ghes_agent  {agent}   (docs: {agent}/docs)")
        print(f"  agent admin token:     {agent_admin}")
        print(f"  agent page:            {agent}/dashboard (sign in with the agent admin token)")
        print(f"logs and databases in {workdir}")
        if args.no_wait:
            return 0
        print("\nBoth services keep running. Ctrl-C stops them.")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            while cloud_process.poll() is None and agent_process.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            return 0
        print(f"a service stopped; see the logs in {workdir}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
