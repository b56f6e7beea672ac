"""The agent answers errors with the same ``{error, detail}`` body as the cloud."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.ghes_agent.domain.runs import RunNotFoundError
from shared import ErrorBody

WORDS = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "users_unavailable",
    422: "invalid_input",
}


def _body(status: int, detail: str) -> JSONResponse:
    body = ErrorBody(error=WORDS.get(status, "http_error"), detail=detail)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    return _body(error.status_code, str(error.detail))


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    first = error.errors()[0]
    return _body(422, f"{'.'.join(map(str, first['loc']))}: {first['msg']}")


async def _run_not_found(_request: Request, error: Exception) -> JSONResponse:
    return _body(404, f"no sync run {error}")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(RunNotFoundError, _run_not_found)
