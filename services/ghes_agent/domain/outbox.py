"""The outbox: every report the agent generated, kept until the cloud has it.

A report is written here, with the sequence it consumes, before the first byte goes out: a
crash or a failed delivery never loses a generated report nor reuses a sequence. A report
is ``pending`` until it ends ``delivered`` (the cloud took it), ``refused`` (a final 4xx),
``expired`` (undelivered for too long) or ``superseded`` (a newer report was generated). An
``exported`` report was written to a file for uploading by hand and is never sent.

Transactions, here as everywhere in the agent: a function given ``sessions`` opens and
commits its own; one given a ``Session`` runs inside its caller's and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_log import AuditContext
from services.common.clock import as_utc, utcnow
from services.ghes_agent.db.models import AgentState, OutboxReport
from services.ghes_agent.domain.audit import record_entry
from services.ghes_agent.domain.facts import InstanceFacts
from services.ghes_agent.domain.report_builder import gzip_report, report_header
from services.ghes_agent.domain.runs import lock_state

LEASE = timedelta(minutes=10)
"""How long a process may hold a report it is sending before another may take it."""


class ReportState(StrEnum):
    """The values of ``OutboxReport.state``."""

    PENDING = "pending"
    DELIVERED = "delivered"
    REFUSED = "refused"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    EXPORTED = "exported"


UNDELIVERED = (ReportState.PENDING, ReportState.REFUSED, ReportState.EXPIRED)
"""States whose ``last_error`` says why the cloud does not have the report."""


@dataclass(frozen=True, slots=True)
class StoredReport:
    header: dict[str, Any]
    """The report without its users (report_id, sequence, ...)."""
    body_gzip: bytes


def store_new_report(
    sessions: sessionmaker[Session],
    facts: InstanceFacts,
    *,
    hostname: str,
    run_id: str | None,
    state: ReportState,
    audit: AuditContext | None = None,
) -> StoredReport:
    """Take the next sequence and keep the report, in one transaction (with the audit
    entry of the request that asked for it, if one did)."""
    snapshot = facts.snapshot
    with sessions.begin() as session:
        agent = lock_state(session)
        agent.last_sequence += 1
        remember_facts(agent, facts)
        header = report_header(
            snapshot,
            server_id=agent.server_id,
            hostname=hostname,
            ghes_version=facts.ghes_version,
            sequence=agent.last_sequence,
            generated_at=utcnow(),
            license_info=facts.license,
        )
        if state == ReportState.PENDING:
            supersede_older(session, agent.last_sequence)
        body = gzip_report(header, snapshot.users)
        session.add(
            OutboxReport(
                report_id=header["report_id"],
                sequence=header["sequence"],
                run_id=run_id,
                body_gzip=body,
                user_count=len(snapshot.users),
                created_at=utcnow(),
                state=state,
                attempts=0,
            )
        )
        if audit is not None:
            record_entry(
                session,
                audit,
                report_id=header["report_id"],
                sequence=header["sequence"],
                users=len(snapshot.users),
            )
    return StoredReport(header, body)


def remember_facts(agent: AgentState, facts: InstanceFacts) -> None:
    """The version and license a report was made from, for ``GET /instance`` to show."""
    agent.ghes_version = facts.ghes_version
    agent.license = facts.license.model_dump(mode="json") if facts.license else None
    agent.facts_read_at = utcnow()


def next_due(sessions: sessionmaker[Session]) -> tuple[str, datetime] | None:
    """The newest pending report and when it is due. Older pending ones are superseded. A
    report another process holds is due when its lease ends, not before: a claim that
    must fail would start a run that fails at once, again and again."""
    with sessions() as session:
        row = session.execute(
            select(
                OutboxReport.report_id,
                OutboxReport.next_attempt_at,
                OutboxReport.created_at,
                OutboxReport.lease_until,
            )
            .where(OutboxReport.state == ReportState.PENDING)
            .order_by(OutboxReport.sequence.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    report_id, next_attempt_at, created_at, lease_until = row
    due = as_utc(next_attempt_at or created_at)
    if lease_until is not None:
        due = max(due, as_utc(lease_until))
    return report_id, due


def claim(sessions: sessionmaker[Session], report_id: str) -> bool:
    """Take the report for sending, unless another process holds it."""
    now = utcnow()
    with sessions.begin() as session:
        claimed = session.execute(
            update(OutboxReport)
            .where(
                OutboxReport.report_id == report_id,
                OutboxReport.state == ReportState.PENDING,
                or_(OutboxReport.lease_until.is_(None), OutboxReport.lease_until < now),
            )
            .values(lease_until=now + LEASE)
        )
        return bool(claimed.rowcount)  # type: ignore[attr-defined]


def mark_delivered(sessions: sessionmaker[Session], report_id: str) -> None:
    with sessions.begin() as session:
        delivered = session.get_one(OutboxReport, report_id)
        delivered.state, delivered.delivered_at = ReportState.DELIVERED, utcnow()
        delivered.last_error, delivered.lease_until = None, None
        supersede_older(session, delivered.sequence)


def mark_refused(sessions: sessionmaker[Session], report_id: str, reason: str) -> None:
    _set(sessions, report_id, state=ReportState.REFUSED, last_error=reason, lease_until=None)


def mark_expired(sessions: sessionmaker[Session], report_id: str, reason: str) -> None:
    _set(sessions, report_id, state=ReportState.EXPIRED, last_error=reason, lease_until=None)


def reschedule(
    sessions: sessionmaker[Session], report_id: str, reason: str, when: datetime
) -> None:
    """Pending again, due at ``when``, and free for any process to send."""
    _set(
        sessions,
        report_id,
        state=ReportState.PENDING,
        last_error=reason,
        next_attempt_at=when,
        lease_until=None,
    )


def supersede(sessions: sessionmaker[Session], report_id: str) -> None:
    _set(sessions, report_id, state=ReportState.SUPERSEDED, lease_until=None)


def supersede_older(session: Session, sequence: int) -> None:
    """A newer report makes older undelivered ones pointless: the cloud keeps the newest."""
    session.execute(
        update(OutboxReport)
        .where(OutboxReport.state == ReportState.PENDING, OutboxReport.sequence < sequence)
        .values(state=ReportState.SUPERSEDED, lease_until=None)
    )


def _set(sessions: sessionmaker[Session], report_id: str, **values: Any) -> None:
    with sessions.begin() as session:
        session.execute(
            update(OutboxReport).where(OutboxReport.report_id == report_id).values(**values)
        )
