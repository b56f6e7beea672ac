"""Building a usage report from a users snapshot."""

from __future__ import annotations

import gzip
import uuid
from datetime import datetime

from services.ghes_agent.domain.users_csv import UsersSnapshot
from shared import SCHEMA_VERSION, Excluded, LicenseInfo, ReportHeader, dump_report


def build_report(
    snapshot: UsersSnapshot,
    *,
    server_id: str,
    hostname: str,
    ghes_version: str,
    sequence: int,
    generated_at: datetime,
    license_info: LicenseInfo | None = None,
) -> tuple[ReportHeader, bytes]:
    """Return the header and the gzip-compressed JSON body (as stored and as sent)."""
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
    # Level 6: most of the size win for little CPU on hundreds of thousands of users.
    return header, gzip.compress(dump_report(header, snapshot.users), compresslevel=6)
