from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status

from services.cloud_api.api.deps import OperatorDep, StateDep
from services.cloud_api.db.models import Enterprise
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.ingest import figure_changes
from services.cloud_api.domain.tenants import enterprises
from services.cloud_api.schemas import (
    EnterpriseCreate,
    EnterpriseCreated,
    EnterpriseUpdate,
    EnterpriseView,
    OwnerTokenIssued,
)
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared.errors import error_responses

router = APIRouter(tags=["operator"], responses=error_responses())


@router.post("/admin/enterprises", status_code=status.HTTP_201_CREATED)
def create_enterprise(
    body: EnterpriseCreate,
    state: StateDep,
    _operator: OperatorDep,
    audit: Annotated[AuditContext, audited("enterprise.create")],
) -> EnterpriseCreated:
    with state.sessions.begin() as session:
        created = enterprises.create_enterprise(
            session,
            slug=body.slug,
            name=body.name,
            seats_purchased=body.seats_purchased,
            saml_enabled=body.saml_enabled,
        )
        enterprise = created.enterprise
        record_entry(
            session,
            audit,
            enterprise.id,
            name=enterprise.name,
            seats_purchased=enterprise.seats_purchased,
            saml_enabled=enterprise.saml_enabled,
            **created.owner_token.audit_fields("owner_token"),
        )
        return EnterpriseCreated(
            slug=enterprise.slug,
            name=enterprise.name,
            seats_purchased=enterprise.seats_purchased,
            saml_enabled=enterprise.saml_enabled,
            owner_token=created.owner_token.token,
        )


@router.patch("/admin/enterprises/{enterprise}")
def update_enterprise(
    enterprise: str,
    body: EnterpriseUpdate,
    state: StateDep,
    _operator: OperatorDep,
    audit: Annotated[AuditContext, audited("enterprise.update")],
) -> EnterpriseView:
    """Change purchased seats, the name, or whether the enterprise uses SAML/SCIM."""
    with state.sessions.begin() as session:
        target = enterprises.enterprise_by_slug(session, enterprise)
        before = _settings(target)
        updated, figures = figure_changes.update_enterprise(
            session,
            state.cache,
            enterprise,
            name=body.name,
            seats_purchased=body.seats_purchased,
            saml_enabled=body.saml_enabled,
        )
        after = _settings(updated)
        changes = {
            name: {"from": before[name], "to": after[name]}
            for name in before
            if before[name] != after[name]
        }
        record_entry(session, audit, updated.id, changes=changes)
        view = EnterpriseView(
            slug=updated.slug,
            name=updated.name,
            seats_purchased=updated.seats_purchased,
            saml_enabled=updated.saml_enabled,
        )
    if figures is not None:  # SAML switched: a history entry, and a new figure to keep
        state.cache.store_figures(figures)
    return view


def _settings(enterprise: Enterprise) -> dict[str, object]:
    return {
        "name": enterprise.name,
        "seats_purchased": enterprise.seats_purchased,
        "saml_enabled": enterprise.saml_enabled,
    }


@router.post("/admin/enterprises/{enterprise}/owner-tokens", status_code=status.HTTP_201_CREATED)
def issue_owner_token(
    enterprise: str,
    state: StateDep,
    _operator: OperatorDep,
    audit: Annotated[AuditContext, audited("owner_token.issue")],
) -> OwnerTokenIssued:
    """A further owner token: to hand over, or when the only one was lost."""
    with state.sessions.begin() as session:
        target = enterprises.enterprise_by_slug(session, enterprise)
        issued = enterprises.issue_owner_token(session, target)
        record_entry(session, audit, target.id, **issued.audit_fields())
        return OwnerTokenIssued(slug=enterprise, owner_token=issued.token)
