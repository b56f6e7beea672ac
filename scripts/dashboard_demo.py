"""Data for the dashboard's browser tests and screenshots: the demo enterprise of
``make run`` plus a second instance and a few weeks' worth of reports.

Everything goes through the public API of a running cloud_api: the enterprise and its cloud
accounts, three instances (``ghes.acme.example`` with the demo users file, a build farm that
shares some people with it, one connected but never synced), and reports in order, so that
the history has several points.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from scripts.demo import DEMO, HOSTNAME, call, set_up_cloud
from services.ghes_agent.domain.report_builder import build_report
from services.ghes_agent.domain.users_csv import UserList, UsersSnapshot, read_users_file
from shared import sign_report

BUILD_FARM = "build-farm.acme.example"
BUILD_FARM_USERS = 40
SHARED_WITH_BUILD_FARM = ("hubot@acme.example", "alice@acme.example")
SEATS = 55
FARM_COMMITTERS = 6


@dataclasses.dataclass(frozen=True)
class Seeded:
    owner: str
    slug: str


def seed(cloud: str, admin: str) -> Seeded:
    owner, demo_token = set_up_cloud(cloud, admin)
    demo_users = read_users_file(DEMO / "all_users.csv")
    # Week one the demo instance reported three users fewer; then all of them.
    _push(
        cloud, demo_token, _snapshot(list(demo_users.users)[:-3], demo_users.suspended), HOSTNAME, 1
    )
    _push(cloud, demo_token, demo_users, HOSTNAME, 2)

    farm = call(
        "POST", f"{cloud}/enterprises/acme/server-instances", owner, {"hostname": BUILD_FARM}
    )
    farm_users = [(500 + n, f"builder{n:02}@acme.example") for n in range(BUILD_FARM_USERS - 2)]
    farm_users += [(600 + n, email) for n, email in enumerate(SHARED_WITH_BUILD_FARM)]
    _push(cloud, farm["instance_token"], _snapshot(farm_users[:25], 1), BUILD_FARM, 1)
    # The build farm's second report names its Advanced Security committers (version 2).
    committers = [user_id for user_id, _ in farm_users[:FARM_COMMITTERS]] + [600]
    _push(cloud, farm["instance_token"], _snapshot(farm_users, 2, committers), BUILD_FARM, 2)

    call(
        "POST",
        f"{cloud}/enterprises/acme/server-instances",
        owner,
        {"hostname": "ghes-dr.acme.example"},
    )
    # Close to the seats bought, so that the overview shows its warning.
    call("PATCH", f"{cloud}/admin/enterprises/acme", admin, {"seats_purchased": SEATS})
    return Seeded(owner=owner, slug="acme")


def _snapshot(
    users: list[tuple[int, str | None]], suspended: int, committers: list[int] | None = None
) -> UsersSnapshot:
    return UsersSnapshot(
        users=UserList(users), suspended=suspended, advanced_security_user_ids=committers
    )


def _push(cloud: str, token: str, users: UsersSnapshot, hostname: str, sequence: int) -> None:
    # One server_id per hostname, as a real instance keeps its own.
    server_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, hostname))
    document: dict[str, Any] = build_report(
        users,
        server_id=server_id,
        hostname=hostname,
        ghes_version="3.14.2",
        sequence=sequence,
        generated_at=datetime.now(UTC),
    )
    call("POST", f"{cloud}/server-usage", token, document)


def signed_export(
    key: Ed25519PrivateKey, server_id: str, hostname: str, sequence: int, users: int
) -> bytes:
    """An export file as an upload-only instance's agent writes it, signed with ``key``, of
    ``users`` persons nobody else has."""
    first = 9000 + 1000 * sequence
    snapshot = _snapshot(
        [(first + n, f"uploaded{first + n}@acme.example") for n in range(users)], 0
    )
    report = build_report(
        snapshot,
        server_id=server_id,
        hostname=hostname,
        ghes_version="3.14.2",
        sequence=sequence,
        generated_at=datetime.now(UTC),
    )
    return sign_report(report, key)
