"""Which identities of the OpenID provider are the enterprise's owners: read and replaced
by an owner (token or signed-in person) or by the operator, who names the first ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.cloud_api.api.deps import OwnerOrOperatorDep, StateDep
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.access.browser_sessions import end_sessions_let_in_by
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.tenants.enterprises import enterprise_by_slug
from services.cloud_api.domain.tenants.owner_identities import (
    checked_identities,
    owner_identities,
    replace_owner_identities,
)
from services.cloud_api.schemas import OwnerIdentitiesReplace, OwnerIdentitiesView
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared.errors import error_responses

router = APIRouter(tags=["enterprise"], responses=error_responses(401, 403, 404, 422))
PATH = "/enterprises/{enterprise}/owner-identities"


@router.get(PATH)
def get_owner_identities(
    enterprise: str, owner: OwnerOrOperatorDep, state: StateDep
) -> OwnerIdentitiesView:
    if owner is not None:
        require_enterprise(owner, enterprise)
    with state.sessions() as session:
        current = owner_identities(session, enterprise_by_slug(session, enterprise).id)
    return OwnerIdentitiesView(emails=current.emails, groups=current.groups)


@router.put(PATH)
def replace_identities(
    enterprise: str,
    body: OwnerIdentitiesReplace,
    owner: OwnerOrOperatorDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("owner_identities.replace")],
) -> OwnerIdentitiesView:
    """Replaces the list whole: a person signing in is an owner when the provider's
    verified e-mail is among ``emails`` or one of its groups among ``groups``. The sessions
    that a removed identity let in end at once (``sessions_ended``)."""
    if owner is not None:
        require_enterprise(owner, enterprise)
    wanted = checked_identities(body.emails, body.groups)
    with state.sessions.begin() as session:
        target = enterprise_by_slug(session, enterprise)
        before = owner_identities(session, target.id)
        replace_owner_identities(session, target.id, wanted)
        emails_removed = sorted(set(before.emails) - set(wanted.emails))
        groups_removed = sorted(set(before.groups) - set(wanted.groups))
        ended = end_sessions_let_in_by(
            session,
            target.id,
            [f"email:{e}" for e in emails_removed] + [f"group:{g}" for g in groups_removed],
        )
        record_entry(
            session,
            audit,
            target.id,
            emails_added=sorted(set(wanted.emails) - set(before.emails)),
            emails_removed=emails_removed,
            groups_added=sorted(set(wanted.groups) - set(before.groups)),
            groups_removed=groups_removed,
            sessions_ended=ended,
        )
    return OwnerIdentitiesView(emails=wanted.emails, groups=wanted.groups)
