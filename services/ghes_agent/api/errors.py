"""The agent answers errors with the same ``{error, detail}`` body as the cloud."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.ghes_agent.domain.errors import (
    AgentError,
    NotAuthenticatedError,
    NotFoundError,
    SourceError,
)
from shared import ErrorBody

STATUS_BY_ERROR: dict[type[AgentError], int] = {
    NotAuthenticatedError: 401,
    NotFoundError: 404,
    SourceError: 409,
}
WORDS = {404: "not_found", 405: "method_not_allowed"}
"""For the framework's own answers: an unknown path or method."""


def status_for(error: AgentError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    # Not the caller's doing (the cloud, the outbox): none reaches a route today.
    return 500


def _body(status: int, error: str, detail: str) -> JSONResponse:
    body = ErrorBody(error=error, detail=detail)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _agent_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AgentError)
    return _body(status_for(error), error.error, error.detail)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    return _body(status, WORDS.get(status, "http_error"), str(error.detail))


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    return _body(422, "invalid_input", f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentError, _agent_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
