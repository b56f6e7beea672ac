"""Reading the token from an ``Authorization`` header, the same way in both services."""

from __future__ import annotations


def bearer_token(authorization: str | None) -> str | None:
    """``Bearer <t>`` or ``token <t>`` (GitHub API clients send either); None otherwise."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None
