"""Every error leaves as one body, ``{error, detail}`` (see ``shared.ErrorBody``)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from services.cloud_api.domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    PayloadTooLargeError,
    ProviderUnavailableError,
    UnsupportedMediaError,
)
from services.common.error_body import error_response, install_framework_handlers

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotAuthenticatedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PayloadTooLargeError: 413,
    UnsupportedMediaError: 415,
    InvalidInputError: 422,
    ProviderUnavailableError: 502,
}


def status_for(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 400


async def _domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    return error_response(status_for(error), error.error, error.detail, **error.extra)


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
    install_framework_handlers(app)
