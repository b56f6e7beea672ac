"""Agent tables: its identity, its runs, and every report it generated until delivered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.audit_log import AuditColumns, append_only
from services.common.auth_limit import auth_failures_table
from services.common.db import NAMING_CONVENTION, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}  # noqa: RUF012


class AgentState(Base):
    """A single row (id 1): what must survive restarts and backups."""

    __tablename__ = "agent_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[str] = mapped_column(String(64))
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    last_scheduled_at: Mapped[datetime | None]
    """The schedule slot last run, so that a slot missed while down runs once on return."""
    created_at: Mapped[datetime]
    ghes_version: Mapped[str | None] = mapped_column(String(64))
    license: Mapped[dict[str, Any] | None]
    """The GHES license as last read (``shared.LicenseInfo`` as JSON); None: not known (a
    users file does not say it)."""
    facts_read_at: Mapped[datetime | None]
    """When the version and license above were read: the last time a report was made."""


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled, manual, retry
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    report_id: Mapped[str | None] = mapped_column(String(36))
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    users_sent: Mapped[int | None] = mapped_column(Integer)
    suspended_excluded: Mapped[int | None] = mapped_column(Integer)
    invalid_emails: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(2000))
    error_code: Mapped[str | None] = mapped_column(String(64))
    """The error's word (``unreachable``, ``unauthorized``...): what the advice is chosen by."""
    receipt: Mapped[dict[str, Any] | None]


class OutboxReport(Base):
    """A generated report, kept (gzip-compressed) until the cloud has it or a newer one
    supersedes it: nothing generated is lost to a failed delivery or a crash."""

    __tablename__ = "outbox_reports"

    report_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, index=True)
    run_id: Mapped[str | None] = mapped_column(String(36))
    """The sync run that generated it; None for a report exported to a file."""
    body_gzip: Mapped[bytes] = mapped_column(LargeBinary)
    user_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), index=True)
    """A ``ReportState`` (domain/outbox.py): pending, delivered, refused, expired,
    superseded, or exported (written to a file)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(2000))
    delivered_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    """When a pending report is next sent (backoff with jitter, or the cloud's Retry-After)."""
    lease_until: Mapped[datetime | None]
    """Set by the process sending it, so that two agents on one database do not both."""


class AuditEntry(AuditColumns, Base):
    """One entry of the agent's audit log (domain/audit.py): what its admin token did.
    Append-only: the ORM refuses changes (below) and so does the database (migration 0004)."""

    __tablename__ = "audit_entries"


append_only(AuditEntry)


# Failed authentications per client address and window (services/common/auth_limit.py).
auth_failures = auth_failures_table(Base.metadata)
