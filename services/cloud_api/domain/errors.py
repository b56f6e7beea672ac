"""The cloud's error vocabulary. ``api/errors.py`` maps each class to one HTTP status."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "error"

    def __init__(self, detail: str, *, code: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.error = code or self.code
        self.extra = extra


class NotAuthenticatedError(DomainError):
    code = "unauthorized"


class ForbiddenError(DomainError):
    code = "forbidden"


class NotFoundError(DomainError):
    code = "not_found"


class ConflictError(DomainError):
    code = "conflict"


class InvalidInputError(DomainError):
    code = "invalid_input"


class PayloadTooLargeError(DomainError):
    code = "payload_too_large"


class UnsupportedMediaError(DomainError):
    code = "unsupported_media_type"


class ProviderUnavailableError(DomainError):
    """The identity provider did not answer, or answered what no provider should: not the
    caller's fault, nor a crash (502)."""

    code = "identity_provider_unavailable"
