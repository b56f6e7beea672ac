from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session, sessionmaker

from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from services.common.audit_view import AUDIT_LOG_RESPONSES, PHRASE_MAX, audit_log_response
from services.common.observability import database_ready
from services.common.threads import in_thread
from services.ghes_agent.api.deps import AdminDep, StateDep
from services.ghes_agent.api.schemas import (
    GhesLicenseView,
    HealthView,
    InstanceView,
    PreviewSamples,
    PreviewView,
    RunList,
    RunView,
    SampleUser,
    StatusView,
    TriggeredRun,
)
from services.ghes_agent.domain.advice import advice_for
from services.ghes_agent.domain.audit import audit_log_page
from services.ghes_agent.domain.errors import SourceError
from services.ghes_agent.domain.export import EXPORT_ACTION, export_report
from services.ghes_agent.domain.facts import InstanceFacts
from services.ghes_agent.domain.instance import known_facts
from services.ghes_agent.domain.preview import Preview, last_accepted, preview
from services.ghes_agent.domain.runs import get_run, list_runs
from services.ghes_agent.domain.schedule import describe_cron
from services.ghes_agent.domain.status import sync_status
from shared import key_id
from shared.errors import error_responses

router = APIRouter(responses=error_responses(401, 404, 409, 422))


@router.post("/sync/trigger", status_code=status.HTTP_202_ACCEPTED, tags=["sync"])
async def trigger_sync(
    state: StateDep,
    _admin: AdminDep,
    audit: Annotated[AuditContext, audited("license_sync.trigger")],
) -> TriggeredRun:
    """Start a sync now; while a run is active, that run is answered instead."""
    run, created = await state.runner.trigger("manual", audit)
    return TriggeredRun.model_validate(
        {**RunView.model_validate(run).model_dump(), "started": created}
    )


@router.get("/sync/runs", tags=["sync"])
def list_sync_runs(state: StateDep, _admin: AdminDep) -> RunList:
    with state.sessions() as session:
        return RunList(runs=[RunView.model_validate(run) for run in list_runs(session)])


@router.get("/sync/runs/{run_id}", tags=["sync"])
def get_sync_run(run_id: str, state: StateDep, _admin: AdminDep) -> RunView:
    with state.sessions() as session:
        return RunView.model_validate(get_run(session, run_id))


@router.get("/sync/status", tags=["sync"])
def get_sync_status(state: StateDep, _admin: AdminDep) -> StatusView:
    with state.sessions() as session:
        current = sync_status(session)
    schedule = state.schedule
    return StatusView(
        last_success=current.last_success,
        last_attempt=current.last_attempt,
        last_run_status=current.last_run_status,
        last_error=current.last_error,
        advice=advice_for(current.last_error_code),
        pending_reports=current.pending_reports,
        next_retry_at=current.next_retry_at,
        undelivered_error=current.undelivered_error,
        next_scheduled_run=schedule.next_run_time() if schedule else None,
        schedule=schedule.cron if schedule else None,
        schedule_in_words=describe_cron(schedule.cron) if schedule else None,
    )


@router.get("/sync/preview", tags=["sync"])
async def preview_sync(state: StateDep, _admin: AdminDep) -> PreviewView:
    """What a sync now would send, against the last report the cloud accepted: counts of
    users added, removed and whose e-mail changed, with samples. Sends and stores nothing
    (it works while the cloud is unreachable)."""
    try:
        facts = await state.runner.ctx.collect()
    except SourceError as error:
        raise SourceError(f"cannot read the instance's users: {error}") from None
    # Reading and unpacking the last report, and comparing 100,000s of users, run in a
    # worker thread: the event loop keeps serving meanwhile.
    found = await in_thread(_preview, state.sessions, facts)
    return preview_view(found)


def _preview(sessions: sessionmaker[Session], facts: InstanceFacts) -> Preview:
    with sessions() as session:
        accepted = last_accepted(session)
    return preview(facts, accepted)


def preview_view(found: Preview) -> PreviewView:
    accepted = found.last_accepted
    samples = {
        kind: [SampleUser(id=user, login=login) for user, login in users]
        for kind, users in found.samples.items()
    }
    return PreviewView(
        users=found.users,
        suspended_excluded=found.suspended_excluded,
        invalid_emails=found.invalid_emails,
        added=found.added,
        removed=found.removed,
        email_changed=found.email_changed,
        samples=PreviewSamples(**samples),
        last_accepted_report_id=accepted.report_id if accepted else None,
        last_accepted_sequence=accepted.sequence if accepted else None,
        last_accepted_at=accepted.delivered_at if accepted else None,
    )


@router.get("/instance", tags=["instance"])
def get_instance(state: StateDep, _admin: AdminDep) -> InstanceView:
    with state.sessions() as session:
        facts = known_facts(session)
    license_info = facts.license
    return InstanceView(
        server_id=state.server_id,
        hostname=state.settings.hostname,
        ghes_version=facts.ghes_version or state.settings.ghes_version,
        license=GhesLicenseView(
            seats=license_info.seats,
            unlimited=license_info.seats is None,
            expires_at=license_info.expires_at,
        )
        if license_info
        else None,
        facts_read_at=facts.read_at,
        public_key=state.public_key,
        public_key_fingerprint=key_id(state.public_key),
    )


@router.get(
    "/license/usage/export",
    tags=["instance"],
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}},
)
async def export_license_usage(
    state: StateDep,
    _admin: AdminDep,
    audit: Annotated[AuditContext, audited(EXPORT_ACTION)],
) -> Response:
    """The signed export file for uploading by hand where there is no network path. Each
    export is a new report: a new report_id and the next sequence."""
    try:
        facts = await state.runner.ctx.collect()
    except SourceError as error:
        raise SourceError(f"cannot read the instance's users: {error}") from None
    result = await in_thread(
        export_report,
        state.sessions,
        state.signing_key,
        facts,
        hostname=state.settings.hostname,
        audit=audit,
    )
    return Response(
        result.content,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Report-Id": result.report_id,
            "X-Report-Sequence": str(result.sequence),
        },
    )


@router.get("/audit-log", tags=["audit-log"], responses=AUDIT_LOG_RESPONSES)
def get_audit_log(
    request: Request,
    state: StateDep,
    _admin: AdminDep,
    phrase: Annotated[str | None, Query(max_length=PHRASE_MAX)] = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[str | None, Query(max_length=100)] = None,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
) -> Response:
    """What the admin token did, newest first: the cloud's audit-log shape, phrase syntax
    and cursors (``Link`` header)."""
    with state.sessions() as session:
        result = audit_log_page(session, phrase, after, before, per_page)
    return audit_log_response(request.url, result.documents, result.page)


@router.get("/healthz", tags=["health"])
def get_healthz() -> HealthView:
    return HealthView(status="ok")


@router.get("/readyz", tags=["health"], responses={503: {"model": HealthView}})
def get_readyz(state: StateDep, response: Response) -> HealthView:
    """Ready while the agent's database answers."""
    if database_ready(state.engine):
        return HealthView(status="ok")
    response.status_code = 503
    return HealthView(status="unavailable")
