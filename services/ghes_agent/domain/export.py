"""The signed export file for closed networks: each export is a new report (a new
report_id and the next sequence), kept in the outbox as ``exported``."""

from __future__ import annotations

import gzip
from dataclasses import dataclass

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_log import AuditContext
from services.ghes_agent.domain.facts import InstanceFacts
from services.ghes_agent.domain.outbox import ReportState, store_new_report
from shared import sign_report

EXPORT_ACTION = "license_usage.export"


@dataclass(frozen=True, slots=True)
class ExportResult:
    filename: str
    content: bytes
    report_id: str
    sequence: int
    users: int


def export_report(
    sessions: sessionmaker[Session],
    key: Ed25519PrivateKey,
    facts: InstanceFacts,
    *,
    hostname: str,
    audit: AuditContext,
) -> ExportResult:
    """Like a run's step, the export is a transaction of its own: the next sequence is
    taken and the report kept together, before the file leaves."""
    stored = store_new_report(
        sessions, facts, hostname=hostname, run_id=None, state=ReportState.EXPORTED, audit=audit
    )
    # Signed as stored: the very document the outbox keeps.
    document = orjson.loads(gzip.decompress(stored.body_gzip))
    day = str(document["generated_at"])[:10]
    return ExportResult(
        filename=f"{hostname}-license-usage-{day}.json",
        content=sign_report(document, key),
        report_id=str(document["report_id"]),
        sequence=int(document["sequence"]),
        users=len(facts.snapshot.users),
    )
