"""The one error body both services answer with, ``{error, detail}`` (``shared.ErrorBody``),
and the answers to the framework's own errors, which both services give alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared import ErrorBody

HTTP_WORDS = {404: "not_found", 405: "method_not_allowed"}
"""The framework's own answers: an unknown path, or a method the path does not take."""
SHOWN_PROBLEMS = 3


def error_response(status: int, error: str, detail: str, **extra: object) -> JSONResponse:
    body = ErrorBody.model_validate({"error": error, "detail": detail, **extra})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def validation_detail(error: RequestValidationError) -> str:
    """``where: what`` for the first few problems, and how many more there are."""
    problems = error.errors()
    parts = [
        f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
        for item in problems[:SHOWN_PROBLEMS]
    ]
    if len(problems) > SHOWN_PROBLEMS:
        parts.append(f"and {len(problems) - SHOWN_PROBLEMS} more")
    return "; ".join(parts)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return error_response(422, "invalid_input", validation_detail(error))


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    return error_response(status, HTTP_WORDS.get(status, "http_error"), str(error.detail))


def install_framework_handlers(app: FastAPI) -> None:
    """Request validation and HTTP errors raised by the framework, in the one body."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
