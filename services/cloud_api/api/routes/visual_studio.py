"""Visual Studio subscriptions with GitHub Enterprise (SPEC 7.4): the owner replaces the
subscribers, and reads who each was matched to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.events.audit import record_entry
from services.cloud_api.domain.ingest import figure_changes
from services.cloud_api.domain.reporting.visual_studio import subscribers_view
from services.cloud_api.domain.tenants.enterprises import get_enterprise
from services.cloud_api.schemas import (
    VisualStudioImported,
    VisualStudioSubscribersView,
    VisualStudioSubscriptionsImport,
)
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared.errors import error_responses

router = APIRouter(tags=["visual studio subscriptions"], responses=error_responses())


@router.put("/enterprises/{enterprise}/visual-studio-subscriptions")
def replace_subscriptions(
    enterprise: str,
    body: VisualStudioSubscriptionsImport,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("visual_studio_subscriptions.import")],
) -> VisualStudioImported:
    """Replace every subscriber (refused whole, naming the row, on any bad row). Each is
    matched to a person by its UPN; the figure moves at once."""
    require_enterprise(owner, enterprise)
    with state.sessions.begin() as session:
        target = get_enterprise(session, owner.enterprise_id)
        count, figures = figure_changes.import_subscriptions(
            session, state.cache, target, body.subscribers
        )
        record_entry(
            session,
            audit,
            target.id,
            subscribers=count,
            total_seats_consumed=figures.figures.consumed,
        )
    state.cache.store_figures(figures)
    with state.sessions() as session:
        view = subscribers_view(session, state.cache, owner.enterprise_id, matched=False)
    return VisualStudioImported(
        subscribers=view.total,
        matched=view.matched,
        unmatched=view.unmatched,
        total_seats_consumed=figures.figures.consumed,
    )


@router.get("/enterprises/{enterprise}/visual-studio-subscriptions")
def list_subscriptions(
    enterprise: str, owner: OwnerDep, state: StateDep, matched: bool | None = None
) -> VisualStudioSubscribersView:
    """Every subscriber by UPN with the person it was matched to; ``matched=false``: only
    those matched to nobody (they consume no license)."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        return subscribers_view(session, state.cache, owner.enterprise_id, matched)
