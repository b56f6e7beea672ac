"""Applying an uploaded export file: the signature is checked against the instance's
registered public key, then the report goes through exactly the connected-sync path."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from services.cloud_api.domain.ingest.refusals import Refused, refusals_recorded
from services.cloud_api.domain.ingest.usage_reports import Receipt, apply_report
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.tenants.instances import find_instance
from services.common.audit_log import AuditContext
from services.common.gc_pause import collector_paused
from shared import (
    ExportFile,
    ExportFileError,
    ParsedReport,
    ReportFormatError,
    parse_report,
    read_export,
    verify_export,
)


def upload_refusal(enterprise_id: int, audit: AuditContext) -> Refused:
    return Refused(audit, enterprise_id, "upload")


def apply_upload(
    sessions: sessionmaker[Session],
    cache: LicenseEngine,
    enterprise_id: int,
    body: bytes,
    audit: AuditContext,
) -> Receipt:
    """Reads the export file and applies its report; every refusal is recorded (in the
    audit log, and as the instance's last sync once the instance is known). An ingest
    entry point (it opens its own transactions): finds the instance in a read, checks the
    file outside any transaction, applies the report in a write, and records a refusal in
    a write of its own. Call it in a worker thread: parsing a file of 100,000s of users
    must not hold the event loop."""
    refusal = upload_refusal(enterprise_id, audit)
    with refusals_recorded(sessions, refusal) as refused, collector_paused():
        export = _read(body)
        server_id = export.report.get("server_id")
        if not isinstance(server_id, str) or not server_id:
            raise InvalidInputError(
                "report.server_id: must be a non-empty string", code="invalid_report"
            )
        refused.facts.update(server_id=server_id, report_id=_report_id(export))
        refused.instance_pk, public_key = _instance(sessions, enterprise_id, server_id)
        report = _verified_report(export, server_id, public_key)
        return apply_report(
            sessions,
            cache,
            instance_pk=refused.instance_pk,
            report=report,
            source="upload",
            audit=audit,
        )


def _read(body: bytes) -> ExportFile:
    try:
        return read_export(body)
    except ExportFileError as error:
        raise InvalidInputError(error.detail, code=error.code) from None


def _report_id(export: ExportFile) -> str | None:
    """For the refusal's entry: the file's report_id, if it looks like one."""
    report_id = export.report.get("report_id")
    return report_id if isinstance(report_id, str) and len(report_id) <= 64 else None


def _verified_report(export: ExportFile, server_id: str, public_key: str | None) -> ParsedReport:
    if public_key is None:
        raise ConflictError(
            f"server instance {server_id} has no registered public key to check the "
            "file against; register it (GET /instance on the agent shows it)",
            code="no_public_key",
        )
    try:
        verify_export(export, public_key)
        return parse_report(export.report)
    except ExportFileError as error:
        raise InvalidInputError(error.detail, code=error.code) from None
    except ReportFormatError as error:
        raise InvalidInputError(str(error), code="invalid_report") from None


def _instance(
    sessions: sessionmaker[Session], enterprise_id: int, server_id: str
) -> tuple[int, str | None]:
    with sessions() as session:
        instance = find_instance(session, enterprise_id, server_id)
        if instance is None:
            raise NotFoundError(
                f"no server instance {server_id} is connected to this enterprise; connect it "
                "(with its public key) before uploading its files",
                code="unknown_instance",
            )
        return instance.id, instance.public_key
