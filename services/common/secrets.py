from __future__ import annotations

import hashlib
import hmac


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of two secrets of any length (digests first, so that
    neither the length nor the content of the expected secret shows in the timing)."""
    return hmac.compare_digest(digest(presented), digest(expected))
