"""The enterprise audit log (SPEC 7.4): who did what, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.cloud_api.api.deps import OwnerOrOperatorDep, StateDep
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.events.audit import audit_log_page, parse_audit_query
from services.cloud_api.domain.tenants.enterprises import enterprise_by_slug
from services.common.audit_view import AUDIT_LOG_RESPONSES, PHRASE_MAX, audit_log_response
from shared.errors import error_responses

router = APIRouter(tags=["audit-log"], responses=error_responses(401, 404, 422))


@router.get("/enterprises/{enterprise}/audit-log", responses=AUDIT_LOG_RESPONSES)
def get_audit_log(
    enterprise: str,
    request: Request,
    state: StateDep,
    owner: OwnerOrOperatorDep,
    phrase: Annotated[str | None, Query(max_length=PHRASE_MAX)] = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[str | None, Query(max_length=100)] = None,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> Response:
    """Like GitHub's "Get the audit log for an enterprise": newest first, ``phrase`` in
    GitHub's search syntax (``action:``, ``actor:``, ``created:``, any field, bare text),
    ``after``/``before`` cursors from the ``Link`` header. An owner reads its enterprise's
    log, the operator's own actions on it included; the operator reads any enterprise's."""
    query = parse_audit_query(phrase, after, before, per_page)
    if owner is not None:
        require_enterprise(owner, enterprise)
    with state.sessions() as session:
        result = audit_log_page(session, enterprise_by_slug(session, enterprise), query)
    return audit_log_response(request.url, result.documents, result.page)
