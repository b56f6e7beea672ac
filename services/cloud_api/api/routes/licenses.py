from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.cloud_api.api.deps import (
    CloudState,
    OwnerDep,
    StateDep,
    cloud_state,
    owner_of_request,
    owner_security_scheme,
    token_from,
)
from services.cloud_api.domain.reporting.changes import ChangesQuery, license_changes
from services.cloud_api.domain.reporting.explain import explain_email
from services.cloud_api.domain.reporting.history import report_history
from services.cloud_api.domain.reporting.licenses import Paging, enterprise_licenses
from services.cloud_api.domain.reporting.summary import cached_summary, summary_json
from services.cloud_api.schemas import ChangesView, ExplainView, HistoryView, LicensesView
from shared.errors import error_responses

router = APIRouter(tags=["licenses"], responses=error_responses())


@router.get(
    "/enterprise/licenses",
    response_model=LicensesView,
    dependencies=[Depends(owner_security_scheme)],
)
async def get_enterprise_licenses(
    request: Request,
    include: Literal["users"] | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
    q: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
) -> Response:
    """The caller's enterprise: totals, breakdown, per-instance status, and with
    ``?include=users`` a page of persons with the accounts merged into each (``q``: only
    persons whose login, e-mail or ID contains it)."""
    # State and token are read here, not through dependencies: on the busiest read the
    # dependency solving cost as much as the answer.
    state, token = await cloud_state(request), await token_from(request)
    paging = Paging(page, per_page, q) if include == "users" else None
    # The busiest read: authentication and the answer share one worker-thread hop and
    # one session, and the summary is served from its serialized form while current.
    body = await run_in_threadpool(_licenses_body, state, request, token, paging)
    return Response(body, media_type="application/json")


def _licenses_body(
    state: CloudState, request: Request, token: str | None, paging: Paging | None
) -> bytes:
    if paging is None:
        cached = cached_summary(state.probe, state.summaries, token)
        if cached is not None:
            return cached
    with state.sessions() as session:
        owner = owner_of_request(session, state, request, token)
        if paging is None:
            return summary_json(session, state.cache, state.summaries, owner.enterprise_id)
        view = enterprise_licenses(session, state.cache, owner.enterprise_id, paging)
        return view.model_dump_json().encode()


@router.get("/enterprise/licenses/history")
def get_license_history(
    owner: OwnerDep, state: StateDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 1000
) -> HistoryView:
    """Applied reports, oldest first, each with the consumed figure right after it."""
    with state.sessions() as session:
        return HistoryView(entries=report_history(session, owner.enterprise_id, limit))


@router.get("/enterprise/licenses/changes")
def get_license_changes(
    owner: OwnerDep,
    state: StateDep,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=10_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> ChangesView:
    """The persons who started and who stopped consuming after ``since`` up to ``until``
    (RFC 3339 times; ``until`` defaults to now, ``since`` to the history entry before the
    latest), each with its accounts and the reason in a word; both lists paged alike."""
    query = ChangesQuery(since, until, page, per_page)
    with state.sessions() as session:
        return license_changes(session, owner.enterprise_id, query)


@router.get("/enterprise/licenses/explain")
def explain_license(
    owner: OwnerDep, state: StateDep, email: Annotated[str, Query(min_length=1, max_length=320)]
) -> ExplainView:
    """For one address: which accounts carry it, whether and why they merged, and the near
    misses (unverified e-mail, +tag or dot variants, SAML off, ambiguous matches)."""
    with state.sessions() as session:
        return explain_email(session, state.cache, owner.enterprise_id, email)
