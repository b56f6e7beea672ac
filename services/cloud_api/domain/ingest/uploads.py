"""Applying an uploaded export file: the signature is checked against the instance's
registered public key, then the report goes through exactly the connected-sync path."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from services.cloud_api.domain.ingest.refusals import refusals_recorded
from services.cloud_api.domain.ingest.usage_reports import Receipt, apply_report
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.tenants.instances import find_instance
from shared import (
    ExportFile,
    ExportFileError,
    ReportFormatError,
    parse_report,
    verify_export,
)


def apply_upload(
    sessions: sessionmaker[Session], cache: LicenseEngine, enterprise_id: int, export: ExportFile
) -> Receipt:
    """An ingest entry point (it opens its own transactions): finds the instance in a read,
    checks the file outside any transaction, applies the report in a write, and records a
    refusal in a write of its own. Call it in a worker thread."""
    server_id = export.report.get("server_id")
    if not isinstance(server_id, str) or not server_id:
        raise InvalidInputError(
            "report.server_id: must be a non-empty string", code="invalid_report"
        )
    with sessions() as session:
        instance = find_instance(session, enterprise_id, server_id)
        if instance is None:
            raise NotFoundError(
                f"no server instance {server_id} is connected to this enterprise; connect it "
                "(with its public key) before uploading its files",
                code="unknown_instance",
            )
        instance_pk, public_key = instance.id, instance.public_key
    with refusals_recorded(sessions, instance_pk):
        if public_key is None:
            raise ConflictError(
                f"server instance {server_id} has no registered public key to check the "
                "file against; register it (GET /instance on the agent shows it)",
                code="no_public_key",
            )
        try:
            verify_export(export, public_key)
            report = parse_report(export.report)
        except ExportFileError as error:
            raise InvalidInputError(error.detail, code=error.code) from None
        except ReportFormatError as error:
            raise InvalidInputError(str(error), code="invalid_report") from None
        return apply_report(
            sessions, cache, instance_pk=instance_pk, report=report, source="upload"
        )
