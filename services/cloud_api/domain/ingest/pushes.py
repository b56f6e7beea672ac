"""A connected push: the agent's report as the HTTP body, its instance known by its token."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.cloud_api.domain.access.auth import InstancePrincipal
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.ingest.push_signatures import (
    PushRequest,
    SignatureWindow,
    check_push_signature,
)
from services.cloud_api.domain.ingest.refusals import Refused, refusals_recorded
from services.cloud_api.domain.ingest.usage_reports import Receipt, apply_report
from services.cloud_api.domain.licensing.engine import LicenseEngine
from services.cloud_api.domain.tenants.instances import (
    instance_public_key,
    learn_public_key,
    offered_public_key,
)
from services.common.audit_log import AuditContext
from services.common.gc_pause import collector_paused
from shared import ReportFormatError, parse_report


def push_refusal(instance: InstancePrincipal, audit: AuditContext) -> Refused:
    return Refused(audit, instance.enterprise_id, "connect", instance.instance_pk)


def apply_push(
    sessions: sessionmaker[Session],
    engine: LicenseEngine,
    *,
    instance: InstancePrincipal,
    body: bytes,
    request: PushRequest,
    window: SignatureWindow,
    audit: AuditContext,
) -> Receipt:
    """Checks the push's signature (once the instance's key is known), learns the agent's
    public key if it sent one, then parses and applies the report (``body``, decoded);
    any refusal is recorded as the instance's last sync and in the audit log. An ingest
    entry point, so it opens its own transactions; parsing happens outside them. Call it
    in a worker thread: parsing 100,000s of users must not hold the event loop."""
    instance_pk = instance.instance_pk
    with refusals_recorded(sessions, push_refusal(instance, audit)) as refused:
        offered = offered_public_key(_header(request, "x-agent-public-key"))
        with sessions() as session:
            known = instance_public_key(session, instance_pk)
        check_push_signature(request, window, known_key=known, offered_key=offered)
        if offered and known is None:
            # A write of its own, before the report's: the key is learned even when the
            # report is then refused or answered as a duplicate.
            with sessions.begin() as session:
                learn_public_key(session, instance_pk, offered)
        with collector_paused():
            try:
                report = parse_report(body, defer_keys=True)  # checked while stored
            except ReportFormatError as error:
                raise InvalidInputError(str(error), code="invalid_report") from None
            refused.facts.update(report_id=str(report.header.report_id))
            return apply_report(
                sessions,
                engine,
                instance_pk=instance.instance_pk,
                report=report,
                source="connect",
                audit=audit,
            )


def _header(request: PushRequest, name: str) -> str | None:
    for field, value in request.headers:
        if field.lower() == name:
            return value.strip()
    return None
