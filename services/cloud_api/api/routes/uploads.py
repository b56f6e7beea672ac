"""Uploading an export file by hand (closed networks)."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Annotated

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.cloud_api.api.body import read_body
from services.cloud_api.api.deps import OwnerDep, StateDep
from services.cloud_api.api.receipts import receipt_view
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.errors import DomainError, InvalidInputError
from services.cloud_api.domain.ingest.refusals import record_unread_refusal
from services.cloud_api.domain.ingest.uploads import apply_upload, upload_refusal
from services.common.audit_log import AuditContext
from services.common.audit_route import audited
from shared import UsageReceipt
from shared.errors import error_responses

router = APIRouter(tags=["uploads"], responses=error_responses())


@router.post(
    "/enterprises/{enterprise}/server-usage/uploads",
    responses={201: {"model": UsageReceipt}, 200: {"model": UsageReceipt}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def upload_server_usage(
    enterprise: str,
    request: Request,
    response: Response,
    owner: OwnerDep,
    state: StateDep,
    audit: Annotated[AuditContext, audited("server_usage.upload", refused="server_usage.refuse")],
) -> UsageReceipt:
    """The export file from ``GET /license/usage/export`` on the agent, as a multipart
    ``file`` field or as the raw JSON body. Applied exactly like a connected sync."""
    require_enterprise(owner, enterprise)
    settings = state.settings
    try:
        body = await read_body(
            request,
            max_bytes=settings.max_body_bytes,
            max_compressed_bytes=settings.max_compressed_bytes,
        )
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            body = await _file_from_multipart(request, body)
    except DomainError as error:
        # Refused before the file could be read: the one refusal ingest cannot see.
        state.metrics.refused.labels(error.error).inc()
        refused = upload_refusal(owner.enterprise_id, audit)
        await run_in_threadpool(record_unread_refusal, state.sessions, refused, error)
        raise
    started = time.perf_counter()
    try:
        receipt = await run_in_threadpool(
            apply_upload, state.sessions, state.cache, owner.enterprise_id, body, audit
        )
    except DomainError as error:  # counted as a connected sync's refusals are
        state.metrics.refused.labels(error.error).inc()
        raise
    if receipt.status == "applied":
        state.metrics.ingest_seconds.observe(time.perf_counter() - started)
        state.metrics.report_users.observe(receipt.users_accepted)
    response.status_code = status.HTTP_201_CREATED if receipt.status == "applied" else 200
    return receipt_view(receipt)


async def _file_from_multipart(request: Request, body: bytes) -> bytes:
    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        request.headers, once(), max_files=1, max_fields=5, max_part_size=len(body) + 1
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise InvalidInputError(f"the multipart body is malformed: {error.message}") from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInputError("the multipart body has no 'file' part", code="invalid_export")
    try:
        return await upload.read()
    finally:
        await upload.close()
