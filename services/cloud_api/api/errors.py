"""Every error leaves as one body, ``{error, detail}`` (see ``shared.ErrorBody``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.cloud_api.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaError,
)
from shared import ErrorBody

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotAuthenticatedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    UnsupportedMediaError: 415,
    InvalidInputError: 422,
}


def error_response(status: int, error: str, detail: str, **extra: object) -> JSONResponse:
    body = ErrorBody.model_validate({"error": error, "detail": detail, **extra})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def status_for(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 400


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return error_response(status_for(error), error.error, error.detail, **error.extra)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    parts = []
    for item in error.errors()[:3]:
        where = ".".join(str(part) for part in item["loc"])
        parts.append(f"{where}: {item['msg']}")
    if len(error.errors()) > 3:
        parts.append(f"and {len(error.errors()) - 3} more")
    return error_response(422, "invalid_input", "; ".join(parts))


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    words = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        error.status_code, words.get(error.status_code, "http_error"), str(error.detail)
    )


async def _database_unavailable(_request: Request, error: Exception) -> JSONResponse:
    # The database failed (restart, failover, lock timeout): nothing was committed, and the
    # caller may try again. Not the client's fault, so not a 4xx; not a crash, so not a 500.
    log.warning("database error: %s", type(error).__name__)
    response = error_response(
        503, "database_unavailable", "the database is unavailable; nothing was changed, retry"
    )
    response.headers["Retry-After"] = "5"
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
