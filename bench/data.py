"""Synthetic reports and cloud accounts, overlapping like real data."""

from __future__ import annotations

import uuid
from typing import Any

import orjson


def report_body(
    users: list[tuple[int, str | None]], *, server_id: str, sequence: int, hostname: str
) -> bytes:
    return orjson.dumps(
        {
            "schema_version": 1,
            "report_id": str(uuid.uuid4()),
            "server_id": server_id,
            "hostname": hostname,
            "ghes_version": "3.14.2",
            "sequence": sequence,
            "generated_at": "2026-11-27T12:00:00Z",
            "license": {"seats": None, "expires_at": None},
            "excluded": {"suspended": 0},
            "users": [{"id": i, "email": e} for i, e in users],
        }
    )


def single_instance_users(n: int) -> list[tuple[int, str | None]]:
    return [(i, f"user{i}@corp.example") for i in range(1, n + 1)]


def instance_users(instance: int, n: int) -> list[tuple[int, str | None]]:
    """Most people on one instance only; one in ten on every instance (a shared pool);
    one in a hundred without an e-mail."""
    users: list[tuple[int, str | None]] = []
    for j in range(1, n + 1):
        if j % 100 == 0:
            users.append((j, None))
        elif j % 10 == 0:
            users.append((j, f"shared{j}@corp.example"))
        else:
            users.append((j, f"i{instance}.user{j}@corp.example"))
    return users


def cloud_accounts(n: int) -> dict[str, Any]:
    """Half the accounts carry a verified address some instance reports (instance 0's
    people and the shared pool); the other half are cloud-only members."""
    accounts = []
    for k in range(1, n + 1):
        if k % 2 == 0:
            email = f"shared{k}@corp.example" if k % 10 == 0 else f"i0.user{k}@corp.example"
        else:
            email = f"cloud{k}@corp.example"
        accounts.append(
            {
                "id": 10_000_000 + k,
                "login": f"cloud-user-{k}",
                "emails": [{"email": email, "verified": True}],
                "org_memberships": [{"org": "corp", "role": "member"}],
            }
        )
    return {"accounts": accounts}
