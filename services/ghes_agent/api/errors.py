"""The agent answers errors with the same ``{error, detail}`` body as the cloud."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.common.error_body import error_response, install_framework_handlers
from services.ghes_agent.domain.errors import (
    AgentError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    SourceError,
)

STATUS_BY_ERROR: dict[type[AgentError], int] = {
    NotAuthenticatedError: 401,
    NotFoundError: 404,
    SourceError: 409,
    InvalidInputError: 422,
}


def status_for(error: AgentError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    # Not the caller's doing (the cloud, the outbox): none reaches a route today.
    return 500


async def _agent_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, AgentError)
    return error_response(status_for(error), error.error, error.detail)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentError, _agent_error)
    install_framework_handlers(app)
