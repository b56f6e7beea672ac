"""The agent's push of a usage report."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from services.cloud_api.api.body import read_body
from services.cloud_api.api.deps import CloudState, InstanceDep, StateDep
from services.cloud_api.domain.errors import DomainError, InvalidInputError
from services.cloud_api.domain.ingest.uploads import learn_public_key
from services.cloud_api.domain.ingest.usage_reports import Receipt, apply_report, record_refusal
from services.cloud_api.schemas import UsageReceipt
from services.common.gc_pause import collector_paused
from shared import ReportFormatError, UsageReport, parse_report
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
    request: Request, response: Response, instance: InstanceDep, state: StateDep
) -> UsageReceipt:
    settings = state.settings
    try:
        public_key = request.headers.get("x-agent-public-key")
        if public_key:
            await run_in_threadpool(
                learn_public_key, state.sessions, instance.instance_pk, public_key.strip()
            )
        body = await read_body(
            request,
            max_bytes=settings.max_body_bytes,
            max_compressed_bytes=settings.max_compressed_bytes,
        )
        started = time.perf_counter()
        receipt = await run_in_threadpool(_parse_and_apply, state, instance.instance_pk, body)
    except DomainError as error:
        state.metrics.refused.labels(error.error).inc()
        await run_in_threadpool(record_refusal, state.sessions, instance.instance_pk, error)
        raise
    if receipt.status == "applied":
        state.metrics.ingest_seconds.observe(time.perf_counter() - started)
        state.metrics.report_users.observe(receipt.users_accepted)
    response.status_code = status.HTTP_201_CREATED if receipt.status == "applied" else 200
    return receipt_view(receipt)


def _parse_and_apply(state: CloudState, instance_pk: int, body: bytes) -> Receipt:
    with collector_paused():
        try:
            report = parse_report(body, defer_keys=True)  # checked while stored
        except ReportFormatError as error:
            raise InvalidInputError(str(error), code="invalid_report") from None
        return apply_report(
            state.sessions, state.cache, instance_pk=instance_pk, report=report, source="connect"
        )


def receipt_view(receipt: Receipt) -> UsageReceipt:
    return UsageReceipt(
        report_id=receipt.report_id,
        server_id=receipt.server_id,
        sequence=receipt.sequence,
        users_accepted=receipt.users_accepted,
        status=receipt.status,
        total_seats_consumed=receipt.total_seats_consumed,
    )
