"""The audit log as both services answer it: a JSON array, newest first, with GitHub's
``Link`` header for the pages around it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import URL

from services.common.audit_log import E
from services.common.audit_query import AuditPage, page_links

PHRASE_MAX = 1000


class AuditEntryView(BaseModel):
    """One entry (for the OpenAPI description): the fields every entry has, those it has
    when they apply, then the action's own fields (``server_id``, counts, ``changes``, ...)."""

    model_config = ConfigDict(extra="allow")

    timestamp: int = Field(alias="@timestamp", description="milliseconds since the epoch")
    created_at: int = Field(description="milliseconds since the epoch, as @timestamp")
    document_id: str = Field(alias="_document_id", description="the entry's own id")
    action: str = Field(description="what was done, e.g. server_instance.connect")
    actor: str = Field(description="who did it, e.g. owner-token-12, operator")
    actor_kind: str = Field(description="operator, owner_token, instance_token, admin_token")
    request_id: str = Field(description="the X-Request-Id of the request that did it")
    token_id: int | None = Field(None, description="the id of the token that acted")
    token_prefix: str | None = Field(None, description="the token's first 8 characters")
    hashed_token: str | None = Field(None, description="base64 of the token's SHA-256")
    business: str | None = Field(None, description="the enterprise's slug")
    business_id: int | None = None


AUDIT_LOG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": list[AuditEntryView],
        "description": "Entries, newest first; the Link header names the pages around",
    }
}


def audit_log_response(url: URL, documents: list[dict[str, Any]], page: AuditPage[E]) -> Response:
    response = Response(orjson.dumps(documents), media_type="application/json")
    link = page_links(url, page)
    if link is not None:
        response.headers["Link"] = link
    return response
