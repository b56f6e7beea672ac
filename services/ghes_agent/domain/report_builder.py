"""Building a usage report from a users snapshot: schema version 2 when the snapshot has
Advanced Security committers, else version 1, which every cloud accepts (a cloud not yet
upgraded keeps taking reports from an agent that does not read committers)."""

from __future__ import annotations

import gzip
import io
import uuid
from collections.abc import Iterable
from datetime import datetime
from itertools import islice
from typing import Any

import orjson

from services.ghes_agent.domain.users_csv import UsersSnapshot
from shared import SCHEMA_VERSION, Excluded, LicenseInfo, ReportHeader

USERS_PER_PIECE = 10_000
WITHOUT_COMMITTERS = 1


def report_header(
    snapshot: UsersSnapshot,
    *,
    server_id: str,
    hostname: str,
    ghes_version: str,
    sequence: int,
    generated_at: datetime,
    license_info: LicenseInfo | None = None,
) -> dict[str, Any]:
    """The report without its users, as a JSON-ready document; with the Advanced Security
    committers when they were read (a version 2 report; else version 1, which every cloud
    accepts)."""
    committers = snapshot.advanced_security_user_ids
    header = ReportHeader(
        schema_version=WITHOUT_COMMITTERS if committers is None else SCHEMA_VERSION,
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
    if committers is not None:
        document["advanced_security_user_ids"] = list(committers)
    return document


def build_report(snapshot: UsersSnapshot, **header: Any) -> dict[str, Any]:
    """The whole report as one document (a small one: the demo, tests). An agent's push
    is written piece by piece by :func:`gzip_report` instead."""
    document = report_header(snapshot, **header)
    document["users"] = [{"id": user_id, "email": email} for user_id, email in snapshot.users]
    return document


def gzip_report(header: dict[str, Any], users: Iterable[tuple[int, str | None]]) -> bytes:
    """The report as gzip-compressed JSON, its users serialized and compressed ten
    thousand at a time: a million users never exist as a million dictionaries. The users
    come first in the object (JSON members have no order; the cloud's content hash sorts)."""
    output = io.BytesIO()
    # Level 6: most of the size win for little CPU on hundreds of thousands of users.
    with gzip.GzipFile(fileobj=output, mode="wb", compresslevel=6) as body:
        body.write(b'{"users":[')
        pairs, separator = iter(users), b""
        while piece := list(islice(pairs, USERS_PER_PIECE)):
            body.write(separator)
            body.write(orjson.dumps([{"id": i, "email": e} for i, e in piece])[1:-1])
            separator = b","
        body.write(b"],")
        body.write(orjson.dumps(header)[1:])  # the header's members and the closing brace
    return output.getvalue()
