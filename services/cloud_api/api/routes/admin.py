from __future__ import annotations

from fastapi import APIRouter, status

from services.cloud_api.api.deps import OperatorDep, StateDep
from services.cloud_api.domain.tenants import enterprises
from services.cloud_api.schemas import (
    EnterpriseCreate,
    EnterpriseCreated,
    EnterpriseUpdate,
    EnterpriseView,
    OwnerTokenIssued,
)
from shared.errors import error_responses

router = APIRouter(tags=["operator"], responses=error_responses())


@router.post("/admin/enterprises", status_code=status.HTTP_201_CREATED)
def create_enterprise(
    body: EnterpriseCreate, state: StateDep, _operator: OperatorDep
) -> EnterpriseCreated:
    with state.sessions.begin() as session:
        created = enterprises.create_enterprise(
            session,
            slug=body.slug,
            name=body.name,
            seats_purchased=body.seats_purchased,
            saml_enabled=body.saml_enabled,
        )
        return EnterpriseCreated(
            slug=created.enterprise.slug,
            name=created.enterprise.name,
            seats_purchased=created.enterprise.seats_purchased,
            saml_enabled=created.enterprise.saml_enabled,
            owner_token=created.owner_token,
        )


@router.patch("/admin/enterprises/{enterprise}")
def update_enterprise(
    enterprise: str, body: EnterpriseUpdate, state: StateDep, _operator: OperatorDep
) -> EnterpriseView:
    """Change purchased seats, the name, or whether the enterprise uses SAML/SCIM."""
    with state.sessions.begin() as session:
        updated = enterprises.update_enterprise(
            session,
            enterprise,
            name=body.name,
            seats_purchased=body.seats_purchased,
            saml_enabled=body.saml_enabled,
        )
        return EnterpriseView(
            slug=updated.slug,
            name=updated.name,
            seats_purchased=updated.seats_purchased,
            saml_enabled=updated.saml_enabled,
        )


@router.post("/admin/enterprises/{enterprise}/owner-tokens", status_code=status.HTTP_201_CREATED)
def issue_owner_token(enterprise: str, state: StateDep, _operator: OperatorDep) -> OwnerTokenIssued:
    """A further owner token: to hand over, or when the only one was lost."""
    with state.sessions.begin() as session:
        token = enterprises.issue_owner_token(session, enterprise)
        return OwnerTokenIssued(slug=enterprise, owner_token=token)
