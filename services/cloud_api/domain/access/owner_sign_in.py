"""Whether a person the provider identified may have a dashboard session of an enterprise:
only when one of its owner identities matches. Either way the attempt goes into the
enterprise's audit log (an unknown enterprise has none, and is refused the same way, so
that sign-in does not tell which enterprises exist)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.access.browser_sessions import StartedSession, start_session
from services.cloud_api.domain.access.identity_provider import Identity
from services.cloud_api.domain.errors import ForbiddenError
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.tenants.owner_identities import owner_identities, owner_match
from services.common.audit_log import AuditContext
from services.common.clock import isoformat_z


@dataclass(frozen=True, slots=True)
class Admission:
    """A session, or the refusal to raise once the refusal's audit entry is committed."""

    started: StartedSession | None
    refusal: ForbiddenError | None


def admit_owner(
    session: Session, slug: str, identity: Identity, lifetime: timedelta, request_id: str
) -> Admission:
    person = identity.person
    refusal = ForbiddenError(
        f"{person.email or person.subject} is not an owner of enterprise {slug!r} "
        "(or there is no such enterprise): ask an owner to add your e-mail or group",
        code="not_an_owner",
    )
    enterprise = session.scalar(select(Enterprise).where(Enterprise.slug == slug))
    if enterprise is None:
        return Admission(None, refusal)
    matched = owner_match(
        owner_identities(session, enterprise.id), identity.verified_email, identity.groups
    )
    fields = {
        "subject": person.subject,
        "email": person.email,
        "email_verified": identity.verified_email is not None,
    }
    if matched is None:
        audit = AuditContext("session.sign_in_refuse", person.actor, request_id)
        record_entry(session, audit, enterprise.id, **fields)
        return Admission(None, refusal)
    started = start_session(session, enterprise.id, person, matched, lifetime)
    audit = AuditContext("session.sign_in", person.actor, request_id)
    record_entry(
        session,
        audit,
        enterprise.id,
        **fields,
        matched_by=matched,
        expires_at=isoformat_z(started.expires_at),
    )
    return Admission(started, None)
