"""GitHub-compatible license endpoints: existing GitHub API clients read them unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.api.pagination import link_header
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.reporting.github import (
    consumed_licenses_csv,
    consumed_licenses_page,
    license_sync_status,
)
from services.cloud_api.github_schemas import ConsumedLicenses, LicenseSyncStatus
from shared.errors import error_responses

router = APIRouter(tags=["github-compatible"], responses=error_responses())


@router.get("/enterprises/{enterprise}/consumed-licenses")
def list_consumed_licenses(
    enterprise: str,
    request: Request,
    response: Response,
    owner: OwnerDep,
    state: StateDep,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> ConsumedLicenses:
    """Like GitHub's "List enterprise consumed licenses"; totals repeat on every page."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        result = consumed_licenses_page(session, state.cache, owner.enterprise_id, page, per_page)
    link = link_header(request.url, page, per_page, result.total_persons)
    if link is not None:
        response.headers["Link"] = link
    return result.body


@router.get("/enterprises/{enterprise}/license-sync-status")
def get_license_sync_status(enterprise: str, owner: OwnerDep, state: StateDep) -> LicenseSyncStatus:
    """Like GitHub's "Get a license sync status", plus where each current report came from."""
    require_enterprise(owner, enterprise)
    with state.sessions() as session:
        return license_sync_status(session, owner.enterprise_id)


@router.get(
    "/enterprises/{enterprise}/consumed-licenses.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def download_consumed_licenses_csv(
    enterprise: str, owner: OwnerDep, state: StateDep
) -> StreamingResponse:
    """The license report, one row per person; formula-like cells are neutralized."""
    require_enterprise(owner, enterprise)

    def body() -> Iterator[str]:
        # One snapshot for the whole download: every row shows the same state, however
        # long the client takes to read it.
        with state.snapshot() as session:
            yield from consumed_licenses_csv(session, state.cache, owner.enterprise_id)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{enterprise}-consumed-licenses.csv"'
        },
    )
