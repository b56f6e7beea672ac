"""The agent's push of a usage report."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from services.cloud_api.api.body import read_body_as_sent
from services.cloud_api.api.deps import InstanceDep, StateDep
from services.cloud_api.api.receipts import receipt_view
from services.cloud_api.domain.errors import DomainError
from services.cloud_api.domain.ingest.push_signatures import PushRequest, SignatureWindow
from services.cloud_api.domain.ingest.pushes import apply_push, push_refusal
from services.cloud_api.domain.ingest.refusals import record_unread_refusal
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared import UsageReceipt, UsageReport
from shared.errors import error_responses

router = APIRouter(tags=["agent"], responses=error_responses())


@router.post(
    "/server-usage",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": UsageReport.model_json_schema()}},
        }
    },
    responses={201: {"model": UsageReceipt}, 200: {"model": UsageReceipt}},
)
async def post_server_usage(
    request: Request,
    response: Response,
    instance: InstanceDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("server_usage.apply", refused="server_usage.refuse")],
) -> UsageReceipt:
    settings = state.settings
    try:
        sent, body = await read_body_as_sent(
            request,
            max_bytes=settings.max_body_bytes,
            max_compressed_bytes=settings.max_compressed_bytes,
        )
    except DomainError as error:
        # Refused before the report could be read: the one refusal ingest cannot see.
        state.metrics.refused.labels(error.error).inc()
        refused = push_refusal(instance, audit)
        await run_in_threadpool(record_unread_refusal, state.sessions, refused, error)
        raise
    started = time.perf_counter()
    try:
        receipt = await run_in_threadpool(
            apply_push,
            state.sessions,
            state.cache,
            instance=instance,
            body=body,
            request=PushRequest(request.method, str(request.url), request.headers.items(), sent),
            window=SignatureWindow(
                timedelta(seconds=settings.push_signature_max_age_seconds),
                timedelta(seconds=settings.push_signature_clock_skew_seconds),
            ),
            audit=audit,
        )
    except DomainError as error:
        state.metrics.refused.labels(error.error).inc()
        raise
    if receipt.status == "applied":
        state.metrics.ingest_seconds.observe(time.perf_counter() - started)
        state.metrics.report_users.observe(receipt.users_accepted)
    response.status_code = status.HTTP_201_CREATED if receipt.status == "applied" else 200
    return receipt_view(receipt)
