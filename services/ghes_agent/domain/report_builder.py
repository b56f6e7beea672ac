"""Building a usage report from a users snapshot."""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime
from typing import Any

import orjson

from services.ghes_agent.domain.users_csv import UsersSnapshot
from shared import SCHEMA_VERSION, Excluded, LicenseInfo, ReportHeader


def build_report(
    snapshot: UsersSnapshot,
    *,
    server_id: str,
    hostname: str,
    ghes_version: str,
    sequence: int,
    generated_at: datetime,
    license_info: LicenseInfo | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready document (no model per user: there may be 500,000)."""
    header = ReportHeader(
        schema_version=SCHEMA_VERSION,
        report_id=uuid.uuid4(),
        server_id=server_id,
        hostname=hostname,
        ghes_version=ghes_version,
        sequence=sequence,
        generated_at=generated_at,
        license=license_info,
        excluded=Excluded(suspended=snapshot.suspended),
    )
    document = header.model_dump(mode="json")
    document["users"] = [{"id": user_id, "email": email} for user_id, email in snapshot.users]
    return document


def compress(document: dict[str, Any]) -> bytes:
    # Level 6: most of the size win for little CPU on hundreds of thousands of users.
    return gzip.compress(orjson.dumps(document), compresslevel=6)
