"""Applying a usage report: ordering, idempotency and atomic replacement (SPEC section 3).

The whole replacement runs in one transaction that first takes the instance's row lock, so
concurrent reports for one instance queue up and are judged against what the winner left;
readers see the old report or the new one, and a failure half-way leaves the old in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.db.models import Report, ServerCommitter, ServerInstance
from services.cloud_api.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.ingest.figure_changes import record_report
from services.cloud_api.domain.licensing.engine import FigureState, LicenseEngine
from services.cloud_api.domain.licensing.loaders import (
    CurrentReport,
    InstanceAccounts,
)
from services.cloud_api.domain.tenants.instances import delete_report_users
from services.common.audit_log import AuditContext
from services.common.clock import utcnow
from shared import ParsedReport, ReportFormatError
from shared.report import email_keys_of

Source = Literal["connect", "upload"]


@dataclass(frozen=True, slots=True)
class Receipt:
    report_id: str
    server_id: str
    sequence: int
    users_accepted: int
    status: Literal["applied", "duplicate"]
    total_seats_consumed: int | None


def apply_report(
    sessions: sessionmaker[Session],
    engine: LicenseEngine,
    *,
    instance_pk: int,
    report: ParsedReport,
    source: Source,
    audit: AuditContext,
) -> Receipt:
    """Takes the sessionmaker, not a session: like every ingest entry point it owns its
    transaction (docs/decisions.md, "Transactions"). The commit decides what happened (a
    report_id or server_id taken meanwhile is found there), and the caches learn the new
    report only once it is committed.
    Applied, the audit log has the route's action (``server_usage.apply`` or ``.upload``)
    in the same transaction; a duplicate changes nothing and records nothing."""
    try:
        with sessions.begin() as session:
            instance = _lock_instance(session, instance_pk)
            duplicate = _stored_result(session, instance, report)
            if duplicate is not None:
                return duplicate
            _check_identity_and_order(session, instance, report)
            receipt, state, accounts = _replace_current_report(
                session, engine, instance, report, source
            )
            _record_applied(session, audit, instance, receipt, report, source)
    except IntegrityError:
        # Another instance's concurrent report took this report_id, or another token bound
        # this server_id, between our checks and our commit: the same refusals, found late.
        raise ConflictError(
            f"report {report.header.report_id} or server_id {report.header.server_id} was "
            "just taken by a concurrent request",
            code="report_id_conflict",
        ) from None
    engine.remember(accounts, instance.enterprise_id)
    engine.store_figures(state)
    return receipt


def _record_applied(
    session: Session,
    audit: AuditContext,
    instance: ServerInstance,
    receipt: Receipt,
    report: ParsedReport,
    source: Source,
) -> None:
    record_entry(
        session,
        audit,
        instance.enterprise_id,
        server_id=receipt.server_id,
        hostname=instance.hostname,
        report_id=receipt.report_id,
        sequence=receipt.sequence,
        users=receipt.users_accepted,
        suspended_excluded=report.header.excluded.suspended,
        source=source,
        total_seats_consumed=receipt.total_seats_consumed,
    )


def _lock_instance(session: Session, instance_pk: int) -> ServerInstance:
    # The UPDATE is the lock: a row lock on PostgreSQL, the write lock on SQLite.
    locked = session.execute(
        update(ServerInstance)
        .where(ServerInstance.id == instance_pk)
        .values(lock_version=ServerInstance.lock_version + 1)
    )
    instance = session.get(ServerInstance, instance_pk) if locked.rowcount else None  # type: ignore[attr-defined]
    if instance is None:
        raise NotFoundError("the server instance was disconnected")
    return instance


def _stored_result(
    session: Session, instance: ServerInstance, report: ParsedReport
) -> Receipt | None:
    report_id = str(report.header.report_id)
    stored = session.scalar(select(Report).where(Report.report_id == report_id))
    if stored is None:
        return None
    if stored.server_instance_pk != instance.id or stored.content_hash != report.content_hash:
        raise ConflictError(
            f"report_id {report_id} was already used for a report with other content",
            code="report_id_conflict",
        )
    return Receipt(
        stored.report_id,
        stored.server_id,
        stored.sequence,
        stored.user_count,
        "duplicate",
        stored.consumed_after,
    )


def _check_identity_and_order(
    session: Session, instance: ServerInstance, report: ParsedReport
) -> None:
    server_id = report.header.server_id
    if instance.server_id is None:
        clash = session.scalar(
            select(ServerInstance.id).where(
                ServerInstance.enterprise_id == instance.enterprise_id,
                ServerInstance.server_id == server_id,
            )
        )
        if clash is not None:
            raise ConflictError(
                f"server_id {server_id} is already connected under another token",
                code="instance_exists",
            )
        instance.server_id = server_id  # bound by its first report, as GitHub Connect does
    elif instance.server_id != server_id:
        raise ForbiddenError(
            f"this token belongs to server instance {instance.server_id}, not {server_id}",
            code="server_id_mismatch",
        )
    current = instance.current_sequence
    if current is not None and report.header.sequence <= current:
        raise ConflictError(
            f"sequence {report.header.sequence} is not newer than the current report's "
            f"sequence {current}",
            code="sequence_conflict",
            current_sequence=current,
        )


def _replace_current_report(
    session: Session,
    engine: LicenseEngine,
    instance: ServerInstance,
    report: ParsedReport,
    source: Source,
) -> tuple[Receipt, FigureState, InstanceAccounts]:
    previous = _current_of(session, instance)
    row = _store_report(session, instance, report, source)
    keys = bulk_insert_users(session.connection(), row.id, report)
    committers = report.advanced_security_user_ids or []
    if committers:
        session.execute(
            insert(ServerCommitter), [{"report_pk": row.id, "user_id": u} for u in committers]
        )
    _point_instance_at(instance, row, source)
    accounts = InstanceAccounts(row.report_id, report.user_ids, keys, report.emails)
    accounts_keys = accounts.keys()
    state = record_report(session, engine, instance, row, previous, accounts, accounts_keys)
    if previous is not None:  # read until now: the history point names who left with it
        delete_report_users(session, previous.report_pk)
    row.consumed_after = state.figures.consumed
    receipt = Receipt(
        row.report_id, row.server_id, row.sequence, row.user_count, "applied", row.consumed_after
    )
    return receipt, state, accounts


def _current_of(session: Session, instance: ServerInstance) -> CurrentReport | None:
    if instance.current_report_pk is None:
        return None
    report_id = session.scalar(
        select(Report.report_id).where(Report.id == instance.current_report_pk)
    )
    if report_id is None:
        return None
    return CurrentReport(instance.id, instance.current_report_pk, report_id)


def _store_report(
    session: Session, instance: ServerInstance, report: ParsedReport, source: Source
) -> Report:
    header = report.header
    row = Report(
        report_id=str(header.report_id),
        enterprise_id=instance.enterprise_id,
        server_instance_pk=instance.id,
        server_id=header.server_id,
        hostname=header.hostname,
        sequence=header.sequence,
        content_hash=report.content_hash,
        source=source,
        ghes_version=header.ghes_version,
        generated_at=header.generated_at,
        received_at=utcnow(),
        user_count=report.user_count,
        suspended_excluded=header.excluded.suspended,
        license_seats=header.license.seats if header.license else None,
        license_expires_at=header.license.expires_at if header.license else None,
        advanced_security_committers=(
            None
            if report.advanced_security_user_ids is None
            else len(report.advanced_security_user_ids)
        ),
    )
    session.add(row)
    session.flush()
    return row


def _point_instance_at(instance: ServerInstance, row: Report, source: Source) -> None:
    """The new report becomes the instance's current one."""
    instance.current_report_pk = row.id
    instance.current_sequence = row.sequence
    instance.current_source = source
    instance.hostname = row.hostname
    instance.last_sync_at = row.received_at
    instance.last_sync_status = "success"
    instance.last_sync_error = ""


# Rows per COPY chunk: PostgreSQL stores one chunk (in its own process, on another core)
# while this one normalizes the addresses of the next.
COPY_CHUNK = 5_000


def bulk_insert_users(
    connection: Connection, report_pk: int, report: ParsedReport
) -> list[str | None]:
    """The database's bulk path: COPY on PostgreSQL, one executemany on SQLite. An ORM
    object per user would cost some thirty times as much at this volume. Returns the
    users' e-mail keys, normalized here when the report deferred them."""
    n = report.user_count
    if connection.dialect.name == "postgresql":
        keys: list[str | None] = []
        raw: Any = connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(
                "COPY server_users (report_pk, user_id, email, email_key) FROM STDIN"
            ) as copy,
        ):
            for start in range(0, n, COPY_CHUNK):
                stop = min(start + COPY_CHUNK, n)
                chunk = _keys(report, start, stop)
                keys += chunk
                for record in zip(
                    repeat(report_pk, stop - start),
                    report.user_ids[start:stop],
                    report.emails[start:stop],
                    chunk,
                    strict=True,
                ):
                    copy.write_row(record)
        return keys
    keys = _keys(report, 0, n)
    if n:
        raw_sqlite: Any = connection.connection.driver_connection
        raw_sqlite.executemany(  # the driver itself: it takes the iterator, no list of rows
            "INSERT INTO server_users (report_pk, user_id, email, email_key) VALUES (?, ?, ?, ?)",
            zip(repeat(report_pk, n), report.user_ids, report.emails, keys, strict=True),
        )
    return keys


def _keys(report: ParsedReport, start: int, stop: int) -> list[str | None]:
    if not report.keys_deferred:
        return report.email_keys[start:stop]
    try:
        return email_keys_of(report, start, stop)
    except ReportFormatError as error:
        # The last check of the report, made while storing it: the transaction rolls back
        # and the answer is the one parsing would have given.
        raise InvalidInputError(str(error), code="invalid_report") from None
