"""``make run``: both services on SQLite, a demo enterprise and instance, two real syncs.

Starts cloud_api and ghes_agent as uvicorn processes on 127.0.0.1, creates the demo
enterprise with the cloud accounts of ``demo/cloud_accounts.json``, connects the demo GHES
instance (users from a copy of ``demo/all_users.csv``), triggers a sync through
``POST /sync/trigger`` and prints the consumed-license figure read from
``GET /enterprise/licenses``. Then, as a week later on the instance, two people join and
one is suspended; a second sync moves the figure, and what changed is printed from
``GET /enterprise/licenses/changes``. Both services keep running until Ctrl-C (or it exits
at once with ``--no-wait``).
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
# A week later on the instance: nina is hired, eve (an enterprise owner in no organization
# on the cloud side) gets a GHES account, and dora is suspended.
NEW_USERS = (
    "2026-12-01 09:00:00 UTC,12,nina,nina@acme.example,user,false,10.0.0.22,0,0,1,false,"
    "2026-12-01 09:30:00 UTC,nina,true",
    "2026-12-01 09:05:00 UTC,13,eve,eve@acme.example,user,false,10.0.0.23,0,0,1,false,"
    "2026-12-01 09:40:00 UTC,eve,true",
)


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


def a_week_later(users_csv: Path) -> None:
    """Two people join the instance and dora is suspended (GHES's ``suspended?`` column)."""
    lines = users_csv.read_text().splitlines()
    edited = [
        line.replace(",dora,dora@acme.example,user,false,", ",dora,dora@acme.example,user,true,")
        for line in lines
    ]
    users_csv.write_text("\n".join([*edited, *NEW_USERS]) + "\n")


def changes_report(licenses: dict[str, Any], before: int, changes: dict[str, Any]) -> None:
    now = licenses["total_seats_consumed"]
    print(
        f"\nAfter the second sync: {now} of {licenses['total_seats_purchased']} purchased "
        f"({now - before:+d})"
    )
    print(
        f"What changed (GET /enterprise/licenses/changes): {changes['from_total']} -> "
        f"{changes['to_total']}"
    )
    for sign, side in (("+", "started"), ("-", "stopped")):
        for person in changes[side]:
            print(f"  {sign} {describe(person)}: {person['reason']}")
    forecast = licenses["forecast"]
    print(
        f"Forecast: {forecast['weeks_observed']} week(s) of history, too little for a date"
        if forecast["seats_exhausted_on"] is None
        else f"Forecast: the seats run out on {forecast['seats_exhausted_on']}"
    )


def describe(person: dict[str, Any]) -> str:
    parts = []
    if person["cloud_account"] is not None:
        parts.append(f"cloud {person['cloud_account']['login']}")
    parts += [
        f"GHES {account['user_id']} ({account['email'] or 'no e-mail'})"
        for account in person["server_accounts"]
    ]
    return " + ".join(parts)


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
        users_csv = workdir / "all_users.csv"
        shutil.copyfile(DEMO / "all_users.csv", users_csv)
        agent, agent_process = stack.enter_context(
            uvicorn_process(
                "services.ghes_agent.main:create_app",
                {
                    "GHES_AGENT_DATA_DIR": str(workdir / "agent"),
                    "GHES_AGENT_CLOUD_URL": cloud,
                    "GHES_AGENT_INSTANCE_TOKEN": instance_token,
                    "GHES_AGENT_USERS_CSV": str(users_csv),
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
        a_week_later(users_csv)
        run = sync(agent, agent_admin)
        print(
            f"\nSecond sync {run['id']}: {run['users_sent']} users sent, "
            f"{run['suspended_excluded']} suspended left out, sequence {run['sequence']}."
        )
        after = call("GET", f"{cloud}/enterprise/licenses", owner)
        changes = call("GET", f"{cloud}/enterprise/licenses/changes", owner)
        changes_report(after, licenses["total_seats_consumed"], changes)
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
