from __future__ import annotations

from fastapi import APIRouter, status

from services.cloud_api.api.deps import OperatorDep, StateDep
from services.cloud_api.domain.enterprises import create_enterprise
from services.cloud_api.schemas import EnterpriseCreate, EnterpriseCreated

router = APIRouter(tags=["operator"])


@router.post("/admin/enterprises", status_code=status.HTTP_201_CREATED)
def create_enterprise_route(
    body: EnterpriseCreate, state: StateDep, _operator: OperatorDep
) -> EnterpriseCreated:
    with state.transaction() as session:
        created = create_enterprise(
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
