"""What an enterprise owner changes: cloud accounts and connected instances."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.db.models import ServerInstance
from services.cloud_api.domain.access import credentials
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.accounts import importing
from services.cloud_api.domain.accounts.input import AccountsImport
from services.cloud_api.domain.tenants import instances
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.schemas import (
    AccountsImported,
    InstanceConnect,
    InstanceConnected,
    TokenRevoke,
)
from shared.errors import error_responses

router = APIRouter(tags=["enterprise"], responses=error_responses())


@router.put("/enterprises/{enterprise}/accounts")
def replace_accounts(
    enterprise: str, body: AccountsImport, owner: OwnerDep, state: StateDep
) -> AccountsImported:
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        result = importing.replace_accounts(session, target, body.accounts)
        session.flush()
        session.refresh(target)
        figures = state.cache.compute_figures(session, target, keep=False)
    state.cache.store_figures(figures)
    return AccountsImported(
        accounts=result.accounts,
        consuming=result.consuming,
        total_seats_consumed=figures.figures.consumed,
    )


@router.post("/enterprises/{enterprise}/server-instances", status_code=status.HTTP_201_CREATED)
def connect_instance(
    enterprise: str, body: InstanceConnect, owner: OwnerDep, state: StateDep
) -> InstanceConnected:
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        created = instances.connect_instance(
            session,
            get_enterprise(session, owner.enterprise_id),
            hostname=body.hostname,
            server_id=body.server_id,
            public_key=body.public_key,
            upload_only=body.upload_only,
        )
        return instance_connected(created.instance, created.instance_token)


@router.delete(
    "/enterprises/{enterprise}/server-instances/{server_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def disconnect_instance(
    enterprise: str, server_id: str, owner: OwnerDep, state: StateDep
) -> Response:
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        instances.disconnect_instance(
            session, get_enterprise(session, owner.enterprise_id), server_id
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/enterprises/{enterprise}/server-instances/{server_id}/token",
    status_code=status.HTTP_201_CREATED,
)
def rotate_instance_token(
    enterprise: str, server_id: str, owner: OwnerDep, state: StateDep
) -> InstanceConnected:
    """Revoke the instance's token and issue a new one."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        instance, token = instances.rotate_instance_token(session, owner.enterprise_id, server_id)
        return instance_connected(instance, token)


@router.post("/enterprises/{enterprise}/tokens/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(enterprise: str, body: TokenRevoke, owner: OwnerDep, state: StateDep) -> Response:
    """Revoke an owner or instance token of this enterprise (the caller's own included)."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        credentials.revoke_token(session, owner.enterprise_id, body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def instance_connected(instance: ServerInstance, token: str | None) -> InstanceConnected:
    return InstanceConnected(
        server_id=instance.server_id,
        hostname=instance.hostname,
        upload_only=instance.upload_only,
        instance_token=token,
    )
