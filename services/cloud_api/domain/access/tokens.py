"""Bearer credentials: 256 random bits behind a prefix that says what the token is for,
shown once and stored only as a SHA-256 digest."""

from __future__ import annotations

import secrets

from services.common.secrets import digest, same_secret

OWNER_PREFIX = "lso_"
INSTANCE_PREFIX = "lsi_"


def new_token(prefix: str) -> tuple[str, str]:
    """Return ``(token, digest)``: give the token out, keep the digest."""
    token = prefix + secrets.token_urlsafe(32)
    return token, digest(token)


__all__ = ["INSTANCE_PREFIX", "OWNER_PREFIX", "digest", "new_token", "same_secret"]
