"""Which pushes must be signed, and how old a signature may be (SPEC section 7.5).

Once the cloud knows an instance's public key, every push from it must carry a valid HTTP
message signature made with that key (``shared.push_signatures``): the instance token
alone no longer pushes. Until then pushes work as before; a signed first push proves the
key it teaches. Every refusal is a 401 naming what was wrong, and changes no data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.cloud_api.domain.errors import NotAuthenticatedError
from services.common.clock import utcnow
from shared.push_signatures import PushSignatureError, is_signed, verify_push


@dataclass(frozen=True, slots=True)
class SignatureWindow:
    max_age: timedelta = timedelta(minutes=5)
    """Older than this, a push is refused as replayed (or its agent's clock is behind)."""
    clock_skew: timedelta = timedelta(minutes=1)
    """How far ahead of the cloud's clock an agent's may be."""


@dataclass(frozen=True, slots=True)
class PushRequest:
    """The request as the HTTP layer received it."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    content: bytes
    """The body as sent (still gzip-compressed, if it was): what Content-Digest covers."""


def check_push_signature(
    request: PushRequest,
    window: SignatureWindow,
    *,
    known_key: str | None,
    offered_key: str | None,
) -> None:
    """Raises NotAuthenticatedError unless the push may go on. ``offered_key`` (the push's
    ``X-Agent-Public-Key``, already validated) is checked only while no key is known."""
    if known_key is not None:
        _verify(request, window, known_key)
    elif offered_key is not None and is_signed(request.headers):
        _verify(request, window, offered_key)


def _verify(
    request: PushRequest, window: SignatureWindow, public_key: str, now: datetime | None = None
) -> None:
    try:
        created = verify_push(
            request.method, request.url, request.headers, request.content, public_key
        )
    except PushSignatureError as error:
        raise NotAuthenticatedError(error.detail, code=error.code) from None
    age = (now or utcnow()) - created
    if age > window.max_age:
        raise NotAuthenticatedError(
            f"the signature was made {age.total_seconds():.0f} s ago, longer than the "
            f"{window.max_age.total_seconds():.0f} s a push is valid: a replayed request, or "
            "the agent's clock is behind (check its time synchronization)",
            code="signature_expired",
        )
    if -age > window.clock_skew:
        raise NotAuthenticatedError(
            f"the signature was made {-age.total_seconds():.0f} s in the future by the "
            "cloud's clock: the agent's clock is ahead (check its time synchronization)",
            code="signature_from_future",
        )
