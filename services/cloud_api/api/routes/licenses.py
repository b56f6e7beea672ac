from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.domain.explain import explain_email
from services.cloud_api.domain.history import report_history
from services.cloud_api.domain.license_report import Paging, enterprise_licenses, summary_json
from services.cloud_api.schemas import ExplainView, HistoryView, LicensesView
from shared.errors import error_responses

router = APIRouter(tags=["licenses"], responses=error_responses())


@router.get("/enterprise/licenses", response_model=LicensesView)
def get_enterprise_licenses(
    owner: OwnerDep,
    state: StateDep,
    include: Literal["users"] | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> Response:
    """The caller's enterprise: totals, breakdown, per-instance status, and with
    ``?include=users`` a page of persons with the accounts merged into each."""
    with state.sessions() as session:
        if include != "users":
            body = summary_json(session, state.cache, state.summaries, owner.enterprise_id)
        else:
            view = enterprise_licenses(
                session, state.cache, owner.enterprise_id, Paging(page, per_page)
            )
            body = view.model_dump_json().encode()
    return Response(body, media_type="application/json")


@router.get("/enterprise/licenses/history")
def get_license_history(
    owner: OwnerDep, state: StateDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> HistoryView:
    """Applied reports, oldest first, each with the consumed figure right after it."""
    with state.sessions() as session:
        return HistoryView(entries=report_history(session, owner.enterprise_id, limit))


@router.get("/enterprise/licenses/explain")
def explain_license(
    owner: OwnerDep, state: StateDep, email: Annotated[str, Query(min_length=1, max_length=320)]
) -> ExplainView:
    """For one address: which accounts carry it, whether and why they merged, and the near
    misses (unverified e-mail, +tag or dot variants, SAML off, ambiguous matches)."""
    with state.sessions() as session:
        return explain_email(session, state.cache, owner.enterprise_id, email)
