"""What an enterprise owner changes: cloud accounts and connected instances."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from services.cloud_api.api.body import read_body
from services.cloud_api.api.deps import CloudState, OwnerDep, StateDep
from services.cloud_api.db.models import ServerInstance
from services.cloud_api.domain.access import credentials
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.accounts import importing
from services.cloud_api.domain.accounts.input import accounts_import_schema
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.ingest import figure_changes
from services.cloud_api.domain.tenants import instances
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.schemas import (
    AccountsImported,
    InstanceConnect,
    InstanceConnected,
    TokenRevoke,
)
from services.common.audit_log import TOKEN_PREFIX_LENGTH, AuditContext
from services.common.audit_route import audited
from services.common.gc_pause import collector_paused
from shared.errors import error_responses

router = APIRouter(tags=["enterprise"], responses=error_responses())


@router.put(
    "/enterprises/{enterprise}/accounts",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": accounts_import_schema()}},
        }
    },
)
async def replace_accounts(
    enterprise: str,
    request: Request,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("accounts.import")],
) -> AccountsImported:
    """Replace every cloud account of the enterprise (validated whole first: a refused
    import changes nothing). The body is read here and parsed by orjson: a hundred
    thousand accounts through FastAPI's own JSON parsing and models took seconds."""
    require_enterprise(owner, enterprise)
    settings = state.settings
    body = await read_body(
        request,
        max_bytes=settings.max_body_bytes,
        max_compressed_bytes=settings.max_compressed_bytes,
    )
    return await run_in_threadpool(_import_accounts, state, owner.enterprise_id, body, audit)


def _import_accounts(
    state: CloudState, enterprise_id: int, body: bytes, audit: AuditContext
) -> AccountsImported:
    # 100,000 accounts are 100,000 dicts that live through the whole import, and as many
    # changed persons: with the cyclic collector on, each burst of allocations traversed
    # them all again (a third of the import). Nothing here makes reference cycles.
    with collector_paused():
        accounts = importing.parse_accounts(body)
        with state.sessions.begin() as session:
            target = get_enterprise(session, enterprise_id)
            result, figures = figure_changes.import_accounts(session, state.cache, target, accounts)
            record_entry(
                session,
                audit,
                target.id,
                accounts=result.accounts,
                consuming=result.consuming,
                total_seats_consumed=figures.figures.consumed,
            )
        imported = AccountsImported(
            accounts=result.accounts,
            consuming=result.consuming,
            total_seats_consumed=figures.figures.consumed,
        )
        # Dropped while the collector is still paused: freed by reference counting here
        # rather than traversed first by the young collection that follows the pause (90 ms
        # for 100,000 parsed accounts and their consumption pairs).
        del accounts, result
    state.cache.store_figures(figures)
    return imported


@router.post("/enterprises/{enterprise}/server-instances", status_code=status.HTTP_201_CREATED)
def connect_instance(
    enterprise: str,
    body: InstanceConnect,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("server_instance.connect")],
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
        token = created.instance_token
        record_entry(
            session,
            audit,
            owner.enterprise_id,
            server_id=body.server_id,
            hostname=body.hostname,
            upload_only=body.upload_only,
            public_key_given=body.public_key is not None,
            **(token.audit_fields() if token else {}),
        )
        return instance_connected(created.instance, token.token if token else None)


@router.delete(
    "/enterprises/{enterprise}/server-instances/{server_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def disconnect_instance(
    enterprise: str,
    server_id: str,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("server_instance.disconnect")],
) -> Response:
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        gone, figures = figure_changes.disconnect(session, state.cache, target, server_id)
        record_entry(
            session, audit, owner.enterprise_id, server_id=server_id, hostname=gone.hostname
        )
    state.cache.store_figures(figures)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/enterprises/{enterprise}/server-instances/{server_id}/token",
    status_code=status.HTTP_201_CREATED,
)
def rotate_instance_token(
    enterprise: str,
    server_id: str,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("server_instance.token_rotate")],
) -> InstanceConnected:
    """Revoke the instance's token and issue a new one."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        rotated = instances.rotate_instance_token(session, owner.enterprise_id, server_id)
        record_entry(
            session,
            audit,
            owner.enterprise_id,
            server_id=server_id,
            revoked_tokens=rotated.revoked,
            **rotated.token.audit_fields(),
        )
        return instance_connected(rotated.instance, rotated.token.token)


@router.post("/enterprises/{enterprise}/tokens/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(
    enterprise: str,
    body: TokenRevoke,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("token.revoke")],
) -> Response:
    """Revoke an owner or instance token of this enterprise (the caller's own included)."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        revoked = credentials.revoke_token(session, owner.enterprise_id, body.token)
        record_entry(
            session,
            audit,
            owner.enterprise_id,
            revoked_token_id=revoked.id,
            revoked_token_kind=revoked.kind,
            revoked_token_prefix=body.token[:TOKEN_PREFIX_LENGTH],
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def instance_connected(instance: ServerInstance, token: str | None) -> InstanceConnected:
    return InstanceConnected(
        server_id=instance.server_id,
        hostname=instance.hostname,
        upload_only=instance.upload_only,
        instance_token=token,
    )
