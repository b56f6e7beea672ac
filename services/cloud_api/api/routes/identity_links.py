"""Owners' identity links (SPEC 7.4): join a GHES account to a cloud account, or keep it
separate; list them with their state; delete one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.accounts.identity_links import LinkRequest, link_states, link_view
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.ingest import figure_changes
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.schemas import IdentityLinkCreate, IdentityLinksView, IdentityLinkView
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared.errors import error_responses

router = APIRouter(tags=["identity links"], responses=error_responses())


@router.post("/enterprises/{enterprise}/identity-links", status_code=status.HTTP_201_CREATED)
def create_identity_link(
    enterprise: str,
    body: IdentityLinkCreate,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("identity_link.create")],
) -> IdentityLinkView:
    """Join the GHES account ``server_id``/``user_id`` to ``cloud_account_id``, or keep it
    out of every automatic merge (``"separate": true``). The figure moves at once. A GHES
    account has one link at most (409 naming the one it has)."""
    require_enterprise(owner, enterprise)
    request = LinkRequest(body.server_id, body.user_id, body.cloud_account_id, body.separate)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        link, figures = figure_changes.create_identity_link(session, state.cache, target, request)
        record_entry(
            session,
            audit,
            target.id,
            identity_link_id=link.id,
            server_id=link.server_id,
            user_id=link.user_id,
            cloud_account_id=link.cloud_account_id,
            separate=link.cloud_account_id is None,
            total_seats_consumed=figures.figures.consumed,
        )
        view = link_view(next(s for s in link_states(session, target.id) if s.link.id == link.id))
    state.cache.store_figures(figures)
    return view


@router.get("/enterprises/{enterprise}/identity-links")
def list_identity_links(enterprise: str, owner: OwnerDep, state: StateDep) -> IdentityLinksView:
    """Every link, oldest first, ``applied`` or ``dangling`` (an account it names is gone:
    kept, and applied again when the account is back)."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        return IdentityLinksView(
            links=[link_view(s) for s in link_states(session, owner.enterprise_id)]
        )


@router.delete(
    "/enterprises/{enterprise}/identity-links/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_identity_link(
    enterprise: str,
    link_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("identity_link.delete")],
) -> Response:
    """The automatic rules apply to the GHES account again; the figure moves at once."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        link, figures = figure_changes.delete_identity_link(session, state.cache, target, link_id)
        record_entry(
            session,
            audit,
            target.id,
            identity_link_id=link_id,
            server_id=link.server_id,
            user_id=link.user_id,
            cloud_account_id=link.cloud_account_id,
            separate=link.cloud_account_id is None,
            total_seats_consumed=figures.figures.consumed,
        )
    state.cache.store_figures(figures)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
