"""Uploading an export file by hand (closed networks)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from services.cloud_api.api.body import read_body
from services.cloud_api.api.deps import CloudState, OwnerDep, StateDep
from services.cloud_api.api.receipts import receipt_view
from services.cloud_api.domain.access.auth import require_enterprise
from services.cloud_api.domain.errors import InvalidInputError
from services.cloud_api.domain.ingest.uploads import apply_upload
from services.cloud_api.domain.ingest.usage_reports import Receipt
from services.common.gc_pause import collector_paused
from shared import ExportFileError, UsageReceipt, read_export
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
    enterprise: str, request: Request, response: Response, owner: OwnerDep, state: StateDep
) -> UsageReceipt:
    """The export file from ``GET /license/usage/export`` on the agent, as a multipart
    ``file`` field or as the raw JSON body. Applied exactly like a connected sync."""
    require_enterprise(owner, enterprise)
    settings = state.settings
    body = await read_body(
        request,
        max_bytes=settings.max_body_bytes,
        max_compressed_bytes=settings.max_compressed_bytes,
    )
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body = await _file_from_multipart(request, body)
    receipt = await run_in_threadpool(_read_and_apply, state, owner.enterprise_id, body)
    response.status_code = status.HTTP_201_CREATED if receipt.status == "applied" else 200
    return receipt_view(receipt)


def _read_and_apply(state: CloudState, enterprise_id: int, body: bytes) -> Receipt:
    # In a worker thread: parsing a file of 100,000s of users must not hold the event loop.
    with collector_paused():
        try:
            export = read_export(body)
        except ExportFileError as error:
            raise InvalidInputError(error.detail, code=error.code) from None
        return apply_upload(state.sessions, state.cache, enterprise_id, export)


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
